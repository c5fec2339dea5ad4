// Typed reader of the workspace-facing settings: include/exclude globs for walking folders
// (Summarize Folder / Workspace, calibration samples), the KV state cache folder and its size cap
// (src/context/store.ts; Clear Workspace Cache), and where folder summaries go. Values are
// clamped like src/host/settings.ts does for the engine settings. No vscode import.
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultCacheDir } from '../../context/store';
import { WalkOptions } from '../../context/walk';
import { ConfigLike } from '../settings';

export interface WorkspaceSettings {
  /** Include globs (gitignore syntax); empty = every file. */
  include: string[];
  /** Exclude globs (gitignore syntax), on top of .gitignore and .podlensignore. */
  exclude: string[];
  /** KV state cache folder ('' = ~/.cache/podlens/kv, shared with the CLI). */
  cacheDir: string;
  cacheMaxBytes: number;
  /** Where Summarize Folder / Workspace write: a new markdown document or the chat. */
  summaryOutput: 'document' | 'chat';
}

const globs = (c: ConfigLike, key: string): string[] => {
  const v = c.get<unknown>(key);
  return Array.isArray(v)
    ? v
        .filter((x): x is string => typeof x === 'string' && x.trim() !== '')
        .map((x) => x.trim())
        .slice(0, 256)
    : [];
};

export function readWorkspaceSettings(c: ConfigLike): WorkspaceSettings {
  const dir = c.get<unknown>('cache.directory');
  const mb = c.get<unknown>('cache.maxSizeMB');
  const out = c.get<unknown>('summarize.output');
  return {
    include: globs(c, 'context.include'),
    exclude: globs(c, 'context.exclude'),
    cacheDir: typeof dir === 'string' ? dir.trim() : '',
    cacheMaxBytes:
      (typeof mb === 'number' && Number.isFinite(mb) ? Math.min(1 << 20, Math.max(16, Math.round(mb))) : 2048) *
      2 ** 20,
    summaryOutput: out === 'chat' ? 'chat' : 'document',
  };
}

/** The cache folder: the setting (`~` expanded; relative to the workspace folder) or the CLI's default. */
export function resolveCacheDir(w: WorkspaceSettings, workspaceFolder?: string): string {
  let p = w.cacheDir;
  if (!p) return defaultCacheDir();
  if (p === '~' || p.startsWith('~/')) p = path.join(os.homedir(), p.slice(1));
  return path.resolve(workspaceFolder ?? os.homedir(), p);
}

/** FilePrefixStore options for a workspace folder. */
export const storeOptions = (w: WorkspaceSettings, workspaceFolder?: string): { dir: string; capBytes: number } => ({
  dir: resolveCacheDir(w, workspaceFolder),
  capBytes: w.cacheMaxBytes,
});

/** Walk options from the globs. */
export const walkFilter = (w: WorkspaceSettings): Pick<WalkOptions, 'include' | 'ignore'> => ({
  ...(w.include.length ? { include: w.include } : {}),
  ...(w.exclude.length ? { ignore: w.exclude.join('\n') } : {}),
});
