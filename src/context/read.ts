// Reading a workspace for the prompt, as one job with progress: walk it (walk.ts: ignore rules,
// binary / huge / generated files out, each with its reason), order the files for the cache
// (build.ts `orderForCache`), then count each file's block (`fileBlock`, exactly what the prompt
// holds) with the model's tokenizer. Progress goes out as `ReadProgress` (phase, files done of
// total, tokens so far, an ETA from the bytes still to count); an AbortSignal stops it between
// files. With a token budget, texts that cannot fit are not counted ("too long") and counting
// stops once the files counted so far fill the budget as build.ts would take them, or a cap on
// the characters counted is reached (`Fill`; later files: "not read"); only counted
// files keep their text in the result (unless `keepTexts: 'all'`). Files excluded by name or
// .gitignore are stat'ed too, so the summary can name the largest (read-summary.ts). The reader
// worker (src/worker/reader-main.ts) runs this on the disk with the real tokenizer, off the editor's
// thread; tests and in-memory sources run it in-thread. Not here: threads, messages, vscode.
import { orderForCache, fileBlock } from './build';
import { thousands } from './read-summary';
import { FileSource } from './source';
import { Exclusion, Skipped, WalkAbortedError, walkWorkspace, WalkOptions } from './walk';

export interface ReadProgress {
  /** 'scan': walking and reading files (no total yet); 'count': tokenizing them. */
  phase: 'scan' | 'count';
  /** Files looked at by the walk so far. */
  filesSeen: number;
  /** Files counted (count phase), or text files found (scan phase). */
  filesDone: number;
  /** Files to count (0 while scanning). */
  filesTotal: number;
  tokens: number;
  elapsedMs: number;
  /** Estimated time left (count phase, once a rate is known). */
  etaMs?: number;
}

export interface ReadFile {
  path: string;
  bytes: number;
  mtimeMs: number;
  encoding: string;
  /** Tokens of the file's prompt block; absent when not counted. */
  tokens?: number;
  /** The decoded text: for counted files (or every file with keepTexts 'all'). */
  text?: string;
}

export interface ReadResult {
  /** Text files in cache order (oldest first). */
  files: ReadFile[];
  excluded: Exclusion[];
  /** Exclusions beyond the listed ones (counted, not listed). */
  unlisted: number;
  stopped?: string;
  skipped: Skipped[];
  /** Files not counted because the budget was full before them (also in `excluded`). */
  notRead: string[];
  /** Tokens of the counted files. */
  tokens: number;
  filesSeen: number;
  walkMs: number;
  countMs: number;
}

export interface ReadOptions extends Pick<WalkOptions, 'limits' | 'ignore' | 'include' | 'signal'> {
  /** Token counts of plain texts (no BOS, special tokens not parsed); absent: nothing is counted. */
  count?: (texts: string[]) => number[] | Promise<number[]>;
  /** Tokens the prompt has room for; absent: every file is counted. */
  budgetTokens?: number;
  /** Texts handed to `count` at once (default 1: progress and cancel after every file). */
  countBatch?: number;
  /** Which texts the result keeps (default: 'counted' when counting, 'all' otherwise). */
  keepTexts?: 'counted' | 'all';
  onProgress?: (p: ReadProgress) => void;
  /** Least time between progress reports (default 100 ms; the last one is always sent). */
  progressEveryMs?: number;
  /** Called between count batches; the worker yields to its event loop here so an abort arrives. */
  breathe?: () => Promise<void>;
}

export const TOO_LONG = 'over the token budget (too long)';
export const NOT_READ = 'over the token budget (not read: the budget was full)';

/**
 * When counting files for a prompt of `budget` tokens can stop: once the blocks counted so far,
 * taken in order the way build.ts takes them (each that fits the room left is included, others
 * skipped), leave less than 2% of the budget, or once 64 characters per budget token were counted
 * (≈ 16× the budget in ordinary code, ~2 s of tokenizing for a 32K context). The cap bounds the
 * work in a workspace of huge or digit-dense files (JSON data, SVG: a token per character or two).
 * Files after that point cannot change the prompt much.
 */
export class Fill {
  private left: number;
  private chars = 0;

  constructor(private readonly budget: number) {
    this.left = budget;
  }

  add(tokens: number, chars: number): void {
    this.chars += chars;
    if (tokens <= this.left) this.left -= tokens;
  }

  get full(): boolean {
    return this.left < 0.02 * this.budget || this.chars > 64 * this.budget;
  }

  /** Characters that may still be counted before `full` (the cap). */
  get countable(): number {
    return Math.max(0, 64 * this.budget - this.chars);
  }
}

/** A text longer than this cannot fit `budget` tokens (a token is rarely over 16 characters). */
export const cannotFit = (chars: number, budget: number): boolean => chars > budget * 16 + 64;

export class ReadAbortedError extends Error {
  override readonly name = 'AbortError';
  constructor() {
    super('reading the workspace was cancelled');
  }
}

export async function readWorkspace(src: FileSource, o: ReadOptions = {}): Promise<ReadResult> {
  const t0 = performance.now();
  const every = o.progressEveryMs ?? 100;
  let lastReport = -Infinity;
  const report = (p: Omit<ReadProgress, 'elapsedMs'>, force = false): void => {
    const now = performance.now();
    if (!o.onProgress || (!force && now - lastReport < every)) return;
    lastReport = now;
    o.onProgress({ ...p, elapsedMs: now - t0 });
  };
  let filesSeen = 0;
  let w;
  try {
    w = await walkWorkspace(src, {
      limits: o.limits,
      ignore: o.ignore,
      include: o.include,
      signal: o.signal,
      sizeExcluded: true,
      onProgress: (p) => {
        filesSeen = p.filesSeen;
        report({ phase: 'scan', filesSeen, filesDone: p.candidates, filesTotal: 0, tokens: 0 });
      },
    });
  } catch (e) {
    if (e instanceof WalkAbortedError) throw new ReadAbortedError();
    throw e;
  }
  const walkMs = performance.now() - t0;
  const ordered = orderForCache(w.candidates);
  const excluded = [...w.excluded];
  const files: ReadFile[] = [];
  const notRead: string[] = [];
  let tokens = 0;
  const t1 = performance.now();
  if (o.count) {
    const budget = o.budgetTokens ?? Infinity;
    const todo = ordered.filter((c) => !cannotFit(c.text.length, budget));
    const totalChars = todo.reduce((a, c) => a + c.text.length, 0);
    const batch = Math.max(1, o.countBatch ?? 1);
    const fill = new Fill(budget);
    let done = 0,
      doneChars = 0,
      stopAt = -1;
    const progress = (force: boolean): void => {
      const ms = performance.now() - t1;
      // Characters still to count: the rest of the files, or what the cap leaves.
      const left = Number.isFinite(budget) ? Math.min(totalChars - doneChars, fill.countable) : totalChars - doneChars;
      const etaMs = doneChars > 0 && ms > 0 ? (left / doneChars) * ms : undefined;
      report(
        {
          phase: 'count',
          filesSeen,
          filesDone: done,
          filesTotal: todo.length,
          tokens,
          ...(etaMs !== undefined ? { etaMs } : {}),
        },
        force,
      );
    };
    progress(true);
    for (let i = 0; i < todo.length; i += batch) {
      if (o.signal?.aborted) throw new ReadAbortedError();
      if (fill.full) {
        stopAt = i;
        break;
      }
      const part = todo.slice(i, i + batch);
      const n = await o.count(part.map((c) => fileBlock(c.path, c.text)));
      part.forEach((c, k) => {
        const t = n[k] ?? 0;
        tokens += t;
        fill.add(t, c.text.length);
        files.push({ path: c.path, bytes: c.bytes, mtimeMs: c.mtimeMs, encoding: c.encoding, tokens: t, text: c.text });
      });
      done += part.length;
      doneChars += part.reduce((a, c) => a + c.text.length, 0);
      progress(false);
      await o.breathe?.();
    }
    if (o.signal?.aborted) throw new ReadAbortedError();
    const counted = new Set(files.map((f) => f.path));
    const rest = stopAt >= 0 ? new Set(todo.slice(stopAt).map((c) => c.path)) : new Set<string>();
    for (const c of ordered) {
      if (counted.has(c.path)) continue;
      if (rest.has(c.path)) {
        notRead.push(c.path);
        excluded.push({ path: c.path, reason: NOT_READ, bytes: c.bytes });
      } else excluded.push({ path: c.path, reason: TOO_LONG, bytes: c.bytes });
      files.push({
        path: c.path,
        bytes: c.bytes,
        mtimeMs: c.mtimeMs,
        encoding: c.encoding,
        ...(o.keepTexts === 'all' ? { text: c.text } : {}),
      });
    }
    // Back to cache order (counted and uncounted files interleave there).
    const pos = new Map(ordered.map((c, i) => [c.path, i]));
    files.sort((a, b) => pos.get(a.path)! - pos.get(b.path)!);
    progress(true);
  } else {
    for (const c of ordered)
      files.push({
        path: c.path,
        bytes: c.bytes,
        mtimeMs: c.mtimeMs,
        encoding: c.encoding,
        ...(o.keepTexts === 'counted' ? {} : { text: c.text }),
      });
    report({ phase: 'scan', filesSeen, filesDone: files.length, filesTotal: 0, tokens: 0 }, true);
  }
  return {
    files,
    excluded,
    unlisted: w.unlisted,
    ...(w.stopped ? { stopped: w.stopped } : {}),
    skipped: w.skipped,
    notRead,
    tokens,
    filesSeen,
    walkMs,
    countMs: performance.now() - t1,
  };
}

/** "reading the workspace: 120 of 398 files, 45,210 tokens, about 3 s left"; while scanning "reading the workspace… 1200 seen, 800 to read". */
export function progressLabel(p: ReadProgress, what = 'reading the workspace'): string {
  const n = thousands;
  if (p.phase === 'scan') return `${what}… ${p.filesSeen} seen, ${p.filesDone} to read`;
  const eta =
    p.etaMs === undefined
      ? ''
      : p.etaMs < 1500
        ? ', about a second left'
        : `, about ${n(Math.round(p.etaMs / 1000))} s left`;
  return `${what}: ${n(p.filesDone)} of ${n(p.filesTotal)} files, ${n(p.tokens)} tokens${eta}`;
}
