// Walking a workspace through a FileSource: honours .gitignore files (every folder's, as git
// does), the PodLens ignore list (DEFAULT_IGNORE plus a .podlensignore at the root, same syntax),
// and limits (file size, number of files, total bytes, folder depth), skipping lock, binary,
// minified and generated files. Every file seen ends up either a candidate (decoded text) or an
// exclusion with its reason. Bounded: at most `maxFiles` candidates are read and each read is
// capped at maxFileBytes + 1 bytes; progress is reported and an AbortSignal stops the walk.
// Not here: ordering, formatting, token budgets (build.ts).
import { IgnoreMatcher, parseIgnore } from './gitignore';
import { FileSource } from './source';
import { contentReason, decodeText, nameReason } from './text';

/** Always ignored (folders of tools, build output, dependencies). */
export const DEFAULT_IGNORE = [
  '.git/', '.hg/', '.svn/', 'node_modules/', 'dist/', 'out/', 'build/', 'coverage/', '.next/', 'target/',
  '__pycache__/', '.venv/', 'venv/', '.cache/', '.vscode-test/', '*.vsix', '.DS_Store',
].join('\n');

export interface WalkLimits {
  /** Larger files are excluded (default 256 KiB). */
  maxFileBytes: number;
  /** Files read at most; later ones are excluded (default 5000). */
  maxFiles: number;
  /** Total bytes of text read at most (default 32 MiB). */
  maxTotalBytes: number;
  maxDepth: number;
}

export const DEFAULT_LIMITS: WalkLimits = { maxFileBytes: 256 * 1024, maxFiles: 5000, maxTotalBytes: 32 * 2 ** 20, maxDepth: 32 };

export interface Candidate {
  path: string;
  text: string;
  encoding: string;
  bytes: number;
  mtimeMs: number;
}

export interface Exclusion {
  path: string;
  reason: string;
}

export interface WalkOptions {
  limits?: Partial<WalkLimits>;
  /** Extra ignore rules (gitignore syntax), e.g. from settings. */
  ignore?: string;
  signal?: AbortSignal;
  onProgress?: (p: { filesSeen: number; candidates: number; path: string }) => void;
}

export interface WalkResult {
  candidates: Candidate[];
  excluded: Exclusion[];
}

export class WalkAbortedError extends Error {
  override readonly name = 'WalkAbortedError';
  constructor() { super('the workspace walk was cancelled'); }
}

async function readIgnoreFile(src: FileSource, path: string): Promise<string | undefined> {
  try {
    const d = decodeText(await src.read(path, 1 << 20));
    return d.ok ? d.text : undefined;
  } catch {
    return undefined;
  }
}

export async function walkWorkspace(src: FileSource, o: WalkOptions = {}): Promise<WalkResult> {
  const lim = { ...DEFAULT_LIMITS, ...o.limits };
  const candidates: Candidate[] = [];
  const excluded: Exclusion[] = [];
  let seen = 0, totalBytes = 0;
  const podlens = await readIgnoreFile(src, '.podlensignore');
  const root = new IgnoreMatcher(parseIgnore([DEFAULT_IGNORE, podlens ?? '', o.ignore ?? ''].join('\n')));
  // The PodLens list must win over a .gitignore's `!` re-inclusion, so it is checked separately.
  const always = root;

  const visit = async (dir: string, parent: IgnoreMatcher, depth: number): Promise<void> => {
    if (o.signal?.aborted) throw new WalkAbortedError();
    const gi = await readIgnoreFile(src, dir ? `${dir}/.gitignore` : '.gitignore');
    const m = gi ? parent.with(parseIgnore(gi, dir)) : parent;
    let entries;
    try {
      entries = await src.list(dir);
    } catch (e) {
      excluded.push({ path: dir || '.', reason: `unreadable folder (${e instanceof Error ? e.message.split('\n')[0] : String(e)})` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (o.signal?.aborted) throw new WalkAbortedError();
      const path = dir ? `${dir}/${e.name}` : e.name;
      if (e.kind === 'other') continue;
      const isDir = e.kind === 'dir';
      if (always.ignored(path, isDir)) continue; // tool folders: not even listed in the manifest
      if (m.ignored(path, isDir)) { excluded.push({ path: isDir ? `${path}/` : path, reason: 'ignored (.gitignore)' }); continue; }
      if (isDir) {
        if (depth >= lim.maxDepth) excluded.push({ path: `${path}/`, reason: `deeper than ${lim.maxDepth} folders` });
        else await visit(path, m, depth + 1);
        continue;
      }
      if (e.name === '.gitignore' || e.name === '.podlensignore') continue;
      seen++;
      o.onProgress?.({ filesSeen: seen, candidates: candidates.length, path });
      const byName = nameReason(path);
      if (byName) { excluded.push({ path, reason: byName }); continue; }
      if (candidates.length >= lim.maxFiles) { excluded.push({ path, reason: `file limit (${lim.maxFiles}) reached` }); continue; }
      let st;
      try {
        st = await src.stat(path);
      } catch {
        excluded.push({ path, reason: 'unreadable' });
        continue;
      }
      if (st.size > lim.maxFileBytes) { excluded.push({ path, reason: `larger than ${lim.maxFileBytes} bytes (${st.size})` }); continue; }
      if (totalBytes + st.size > lim.maxTotalBytes) { excluded.push({ path, reason: `total size limit (${lim.maxTotalBytes} bytes) reached` }); continue; }
      const d = decodeText(await src.read(path, lim.maxFileBytes + 1));
      if (!d.ok) { excluded.push({ path, reason: d.reason }); continue; }
      if (d.text.trim() === '') { excluded.push({ path, reason: 'empty' }); continue; }
      const byContent = contentReason(d.text);
      if (byContent) { excluded.push({ path, reason: byContent }); continue; }
      totalBytes += st.size;
      candidates.push({ path, text: d.text, encoding: d.encoding, bytes: st.size, mtimeMs: st.mtimeMs });
    }
  };
  await visit('', new IgnoreMatcher(), 0);
  return { candidates, excluded };
}
