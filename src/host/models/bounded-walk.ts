// A bounded directory walk for model discovery: depth, entry-count and deadline limits, symlinks
// followed (Hugging Face snapshots are symlinks into blobs/, users symlink model folders) but
// every directory is entered at most once by its real path, so a symlink loop ends the branch
// instead of the walk. Unreadable folders and broken links are skipped silently. No vscode import.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface WalkBudget {
  maxDepth: number;
  /** Directory entries looked at across every walk sharing this budget. */
  maxEntries: number;
  /** Date.now() after which the walk stops. */
  deadline: number;
  entries: number;
  /** Set when a limit cut a walk short. */
  truncated: boolean;
}

export function walkBudget(o: { maxDepth?: number; maxEntries?: number; timeoutMs?: number } = {}): WalkBudget {
  return {
    maxDepth: o.maxDepth ?? 6,
    maxEntries: o.maxEntries ?? 20_000,
    deadline: Date.now() + (o.timeoutMs ?? 3000),
    entries: 0,
    truncated: false,
  };
}

export interface WalkFilter {
  /** Keep this regular file (by name)? */
  file(name: string): boolean;
  /** Skip this directory (by name)? */
  skipDir?(name: string): boolean;
}

/** Regular files under `root` accepted by the filter, as found (not resolved) paths, sorted. */
export async function boundedWalk(root: string, filter: WalkFilter, budget: WalkBudget): Promise<string[]> {
  const found: string[] = [];
  const seen = new Set<string>();
  const stack: { dir: string; depth: number }[] = [{ dir: root, depth: 0 }];
  while (stack.length > 0) {
    const { dir, depth } = stack.pop()!;
    let real: string;
    let entries: fs.Dirent[];
    try {
      real = await fs.promises.realpath(dir);
      if (seen.has(real)) continue;
      seen.add(real);
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch {
      continue; // missing, unreadable, or a loop the OS refused to resolve
    }
    for (const e of entries) {
      if (++budget.entries > budget.maxEntries || Date.now() > budget.deadline) {
        budget.truncated = true;
        return found.sort();
      }
      const p = path.join(dir, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const st = await fs.promises.stat(p);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue; // broken link or ELOOP
        }
      }
      if (isDir) {
        if (depth + 1 <= budget.maxDepth && !(filter.skipDir?.(e.name) ?? false))
          stack.push({ dir: p, depth: depth + 1 });
        else if (depth + 1 > budget.maxDepth) budget.truncated = true;
      } else if (isFile && filter.file(e.name)) {
        found.push(p);
      }
    }
  }
  return found.sort();
}
