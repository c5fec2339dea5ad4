// Walking a workspace through a FileSource: honours .gitignore files (every folder's, as git
// does), the PodLens ignore list (DEFAULT_IGNORE plus a .podlensignore at the root, same syntax),
// and limits (file size, number of files, total bytes, folder depth), skipping lock, binary,
// minified and generated files. Every file seen ends up either a candidate (decoded text) or an
// exclusion with its reason. Bounded in time and memory whatever the tree's size: at most
// `maxFiles` candidates are read, each read is capped at maxFileBytes + 1 bytes, at most
// `maxEntries` files and folders are looked at and `maxMs` spent (then the walk stops and says so
// in `stopped`), and at most `maxListedExclusions` exclusions are listed (the rest are counted).
// Progress is reported and an AbortSignal stops the walk.
// Include globs (gitignore syntax: a file must match one) narrow the files read.
// Paths the built-in list, .podlensignore or the exclude setting leave out are not listed (tool
// folders would drown the manifest) but counted per rule in `skipped`, with a few examples, so a
// summary can say what they hid; an exclusion carries the file's size when the walk stat'ed it.
// Not here: ordering, formatting, token budgets (build.ts).
import { IgnoreMatcher, parseIgnore } from './gitignore';
import { FileSource } from './source';
import { contentReason, decodeText, nameReason } from './text';

/** Always ignored (folders of tools, build output, dependencies). */
export const DEFAULT_IGNORE = [
  '.git/',
  '.hg/',
  '.svn/',
  'node_modules/',
  'dist/',
  'out/',
  'build/',
  'coverage/',
  '.next/',
  'target/',
  '__pycache__/',
  '.venv/',
  'venv/',
  '.cache/',
  '.vscode-test/',
  '*.vsix',
  '.DS_Store',
].join('\n');

export interface WalkLimits {
  /** Larger files are excluded (default 256 KiB). */
  maxFileBytes: number;
  /** Files read at most; later ones are excluded (default 5000). */
  maxFiles: number;
  /** Total bytes of text read at most (default 32 MiB). */
  maxTotalBytes: number;
  maxDepth: number;
  /** Files and folders looked at, at most; then the walk stops (default 50,000). */
  maxEntries: number;
  /** Time spent walking, at most, in milliseconds (default 30 s). */
  maxMs: number;
  /** Exclusions listed at most; later ones are only counted (default 2,000). */
  maxListedExclusions: number;
}

export const DEFAULT_LIMITS: WalkLimits = {
  maxFileBytes: 256 * 1024,
  maxFiles: 5000,
  maxTotalBytes: 32 * 2 ** 20,
  maxDepth: 32,
  maxEntries: 50_000,
  maxMs: 30_000,
  maxListedExclusions: 2000,
};

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
  /** The file's size when the walk knew it (it stat'ed or read the file). */
  bytes?: number;
}

/** Which ignore list left paths out without a manifest line. */
export type SkipRule = 'built-in list' | '.podlensignore' | 'podlens.context.exclude';

export interface Skipped {
  rule: SkipRule;
  /** Files and folders (a folder counts once; the walk does not enter it). */
  count: number;
  /** The first few, folders ending in '/'. */
  examples: string[];
}

export interface WalkOptions {
  limits?: Partial<WalkLimits>;
  /** Extra ignore rules (gitignore syntax), e.g. from settings. */
  ignore?: string;
  /** Include globs (gitignore syntax); when given, only files matching one are read. */
  include?: readonly string[];
  signal?: AbortSignal;
  onProgress?: (p: { filesSeen: number; candidates: number; path: string }) => void;
  /** Also stat files excluded by their name or a .gitignore (one more call each), so exclusions can say which were largest. */
  sizeExcluded?: boolean;
}

export interface WalkResult {
  candidates: Candidate[];
  /** At most `maxListedExclusions` of them. */
  excluded: Exclusion[];
  /** Exclusions beyond the listed ones (counted, not listed). */
  unlisted: number;
  /** Set when a limit (entries or time) ended the walk early: which, in one line. */
  stopped?: string;
  /** Paths the ignore lists left out silently, per list (only lists that matched something). */
  skipped: Skipped[];
}

const SKIP_EXAMPLES = 5;

class WalkStopped extends Error {}

export class WalkAbortedError extends Error {
  override readonly name = 'WalkAbortedError';
  constructor() {
    super('the workspace walk was cancelled');
  }
}

async function readIgnoreFile(src: FileSource, path: string): Promise<string | undefined> {
  try {
    const d = decodeText(await src.read(path, 1 << 20));
    return d.ok ? d.text : undefined;
  } catch {
    return undefined;
  }
}

/** The file, or one of its folders, matches an include glob. */
function includes(m: IgnoreMatcher, file: string): boolean {
  if (m.ignored(file, false)) return true;
  for (let i = file.lastIndexOf('/'); i > 0; i = file.lastIndexOf('/', i - 1))
    if (m.ignored(file.slice(0, i), true)) return true;
  return false;
}

export async function walkWorkspace(src: FileSource, o: WalkOptions = {}): Promise<WalkResult> {
  const lim = { ...DEFAULT_LIMITS, ...o.limits };
  const candidates: Candidate[] = [];
  const listed: Exclusion[] = [];
  let unlisted = 0;
  const excluded = {
    push(e: Exclusion): void {
      if (listed.length < lim.maxListedExclusions) listed.push(e);
      else unlisted++;
    },
  };
  let seen = 0,
    entries = 0,
    totalBytes = 0;
  const t0 = Date.now();
  const include = o.include && o.include.length > 0 ? new IgnoreMatcher(parseIgnore(o.include.join('\n'))) : undefined;
  const budget = (): void => {
    if (o.signal?.aborted) throw new WalkAbortedError();
    if (++entries > lim.maxEntries)
      throw new WalkStopped(`stopped after looking at ${lim.maxEntries} files and folders (limit)`);
    if ((entries & 255) === 0 && Date.now() - t0 > lim.maxMs)
      throw new WalkStopped(`stopped after ${lim.maxMs} ms (time limit), ${entries} files and folders looked at`);
  };
  const podlens = await readIgnoreFile(src, '.podlensignore');
  const root = new IgnoreMatcher(parseIgnore([DEFAULT_IGNORE, podlens ?? '', o.ignore ?? ''].join('\n')));
  // The PodLens list must win over a .gitignore's `!` re-inclusion, so it is checked separately.
  const always = root;
  // Which list a silently skipped path is owed to (the combined matcher decides; these only name it).
  const bySetting = o.ignore ? new IgnoreMatcher(parseIgnore(o.ignore)) : undefined;
  const byPodlens = podlens ? new IgnoreMatcher(parseIgnore(podlens)) : undefined;
  const skipped = new Map<SkipRule, Skipped>();
  const skip = (path: string, isDir: boolean): void => {
    const rule: SkipRule = bySetting?.ignored(path, isDir)
      ? 'podlens.context.exclude'
      : byPodlens?.ignored(path, isDir)
        ? '.podlensignore'
        : 'built-in list';
    const s = skipped.get(rule) ?? { rule, count: 0, examples: [] };
    skipped.set(rule, s);
    s.count++;
    if (s.examples.length < SKIP_EXAMPLES) s.examples.push(isDir ? `${path}/` : path);
  };

  const sizeOf = async (path: string): Promise<{ bytes?: number }> => {
    if (!o.sizeExcluded) return {};
    try {
      return { bytes: (await src.stat(path)).size };
    } catch {
      return {};
    }
  };

  const visit = async (dir: string, parent: IgnoreMatcher, depth: number): Promise<void> => {
    if (o.signal?.aborted) throw new WalkAbortedError();
    const gi = await readIgnoreFile(src, dir ? `${dir}/.gitignore` : '.gitignore');
    const m = gi ? parent.with(parseIgnore(gi, dir)) : parent;
    let list;
    try {
      list = await src.list(dir);
    } catch (e) {
      excluded.push({
        path: dir || '.',
        reason: `unreadable folder (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
      });
      return;
    }
    list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of list) {
      budget();
      const path = dir ? `${dir}/${e.name}` : e.name;
      if (e.kind === 'other') continue;
      const isDir = e.kind === 'dir';
      if (always.ignored(path, isDir)) {
        skip(path, isDir);
        continue;
      } // tool folders: not listed in the manifest, only counted
      if (m.ignored(path, isDir)) {
        excluded.push({
          path: isDir ? `${path}/` : path,
          reason: 'ignored (.gitignore)',
          ...(isDir ? {} : await sizeOf(path)),
        });
        continue;
      }
      if (isDir) {
        if (depth >= lim.maxDepth) excluded.push({ path: `${path}/`, reason: `deeper than ${lim.maxDepth} folders` });
        else await visit(path, m, depth + 1);
        continue;
      }
      if (e.name === '.gitignore' || e.name === '.podlensignore') continue;
      seen++;
      o.onProgress?.({ filesSeen: seen, candidates: candidates.length, path });
      if (include && !includes(include, path)) continue; // not asked for: not listed either
      const byName = nameReason(path);
      if (byName) {
        excluded.push({ path, reason: byName, ...(await sizeOf(path)) });
        continue;
      }
      if (candidates.length >= lim.maxFiles) {
        excluded.push({ path, reason: `file limit (${lim.maxFiles}) reached` });
        continue;
      }
      let st;
      try {
        st = await src.stat(path);
      } catch {
        excluded.push({ path, reason: 'unreadable' });
        continue;
      }
      const bytes = st.size;
      if (st.size > lim.maxFileBytes) {
        excluded.push({ path, reason: `larger than ${lim.maxFileBytes} bytes (${st.size})`, bytes });
        continue;
      }
      if (totalBytes + st.size > lim.maxTotalBytes) {
        excluded.push({ path, reason: `total size limit (${lim.maxTotalBytes} bytes) reached`, bytes });
        continue;
      }
      const d = decodeText(await src.read(path, lim.maxFileBytes + 1));
      if (!d.ok) {
        excluded.push({ path, reason: d.reason, bytes });
        continue;
      }
      if (d.text.trim() === '') {
        excluded.push({ path, reason: 'empty', bytes });
        continue;
      }
      const byContent = contentReason(d.text);
      if (byContent) {
        excluded.push({ path, reason: byContent, bytes });
        continue;
      }
      totalBytes += st.size;
      candidates.push({ path, text: d.text, encoding: d.encoding, bytes: st.size, mtimeMs: st.mtimeMs });
    }
  };
  let stopped: string | undefined;
  try {
    await visit('', new IgnoreMatcher(), 0);
  } catch (e) {
    if (!(e instanceof WalkStopped)) throw e;
    stopped = e.message;
  }
  return { candidates, excluded: listed, unlisted, ...(stopped ? { stopped } : {}), skipped: [...skipped.values()] };
}
