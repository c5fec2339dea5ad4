// Workspace reads as the chat needs them: one read per request (folder, globs, model, budget),
// reused while younger than the caller's max age and until invalidate() (files changed on disk),
// and shared by concurrent callers — the chips' refresh between answers and the answer that
// follows wait on the same read, each with its own progress callback; the read is aborted only
// when every caller waiting on it has cancelled (one caller's Stop loses nothing for the others).
// Reads come from the reader worker (ReaderClient.read: off the host's thread) or, for in-memory
// sources in tests, from src/context/read.ts in this thread (inThreadReads). Each fresh read's
// summary — files, tokens, time, exclusions per reason, largest excluded, the reader's memory —
// goes to `log` (the PodLens output channel). No vscode import.
import { ReadProgress, ReadResult, readWorkspace } from '../../context/read';
import { exclusionLines, formatBytes, thousands } from '../../context/read-summary';
import { FileSource } from '../../context/source';
import { ReaderMemory, ReadRequest } from '../../worker/reader-protocol';
import type { RunningJob } from '../engine-client';

export interface ReadOutcome {
  result: ReadResult;
  /** The reader thread's memory (absent for in-thread reads). */
  memory?: ReaderMemory;
}

export type StartRead = (req: ReadRequest, onProgress: (p: ReadProgress) => void) => RunningJob<ReadOutcome>;

const abortError = (): Error => Object.assign(new Error('reading the workspace was cancelled'), { name: 'AbortError' });

interface Inflight {
  job: RunningJob<ReadOutcome>;
  listeners: Set<(p: ReadProgress) => void>;
  waiters: number;
  /** invalidate() was called while it ran: its result is not cached. */
  stale: boolean;
}

export class WorkspaceReads {
  private cache: { key: string; at: number; out: ReadOutcome } | null = null;
  private readonly inflight = new Map<string, Inflight>();

  constructor(
    private readonly start: StartRead,
    private readonly log?: (line: string) => void,
  ) {}

  /** Files changed on disk: the next read starts afresh. */
  invalidate(): void {
    this.cache = null;
    for (const f of this.inflight.values()) f.stale = true;
  }

  /** The workspace read for `req`: cached if younger than `maxAgeMs`, else joined or started. Rejects with name 'AbortError' when `signal` aborts. */
  async get(
    req: ReadRequest,
    o: { maxAgeMs: number; signal?: AbortSignal; onProgress?: (p: ReadProgress) => void },
  ): Promise<ReadOutcome> {
    if (o.signal?.aborted) throw abortError();
    const key = JSON.stringify(req);
    const c = this.cache;
    if (c && c.key === key && performance.now() - c.at < o.maxAgeMs) return c.out;
    let f = this.inflight.get(key);
    if (!f) {
      const listeners = new Set<(p: ReadProgress) => void>();
      const started = performance.now();
      const job = this.start(req, (p) => {
        for (const l of listeners) l(p);
      });
      const entry: Inflight = { job, listeners, waiters: 0, stale: false };
      f = entry;
      this.inflight.set(key, entry);
      job.done
        .then(
          (out) => {
            if (!entry.stale) this.cache = { key, at: started, out };
            this.log?.(readLog(req.root, out));
          },
          (e: unknown) => {
            const name = e instanceof Error ? e.name : '';
            this.log?.(
              `workspace read of ${req.root} ${name === 'AbortError' ? 'cancelled' : `failed: ${e instanceof Error ? e.message : String(e)}`}`,
            );
          },
        )
        .finally(() => {
          if (this.inflight.get(key) === entry) this.inflight.delete(key);
        });
    }
    const entry = f;
    entry.waiters++;
    if (o.onProgress) entry.listeners.add(o.onProgress);
    let onAbort = (): void => undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = (): void => {
        reject(abortError());
        if (--entry.waiters > 0) return;
        entry.job.abort();
        // Callers that come after this must not join a read that is being stopped.
        if (this.inflight.get(key) === entry) this.inflight.delete(key);
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      return await Promise.race([entry.job.done, aborted]);
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      if (o.onProgress) entry.listeners.delete(o.onProgress);
      if (!o.signal?.aborted) entry.waiters--;
    }
  }
}

/** Reads in this thread (tests, in-memory sources): src/context/read.ts with the given counter. */
export function inThreadReads(
  source: (root: string) => FileSource,
  count: () => ((texts: string[]) => Promise<number[]>) | undefined,
): StartRead {
  return (req, onProgress) => {
    const ac = new AbortController();
    const counter = count();
    const done = readWorkspace(source(req.root), {
      ...(req.limits ? { limits: req.limits } : {}),
      ...(req.ignore !== undefined ? { ignore: req.ignore } : {}),
      ...(req.include ? { include: req.include } : {}),
      signal: ac.signal,
      ...(counter ? { count: counter, countBatch: 64 } : {}),
      ...(req.budgetTokens !== undefined ? { budgetTokens: req.budgetTokens } : {}),
      ...(req.keepTexts ? { keepTexts: req.keepTexts } : {}),
      onProgress,
      progressEveryMs: req.progressEveryMs ?? 100,
    }).then((result) => ({ result }));
    return { id: 0, done, abort: () => ac.abort() };
  };
}

/** The output channel's lines for one read. */
export function readLog(root: string, { result: r, memory }: ReadOutcome): string {
  const counted = r.files.filter((f) => f.tokens !== undefined).length;
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  return [
    `workspace read of ${root}: ${r.filesSeen} files seen, ${r.files.length} text files, ${counted} counted (${thousands(r.tokens)} tokens); ` +
      `${s(r.walkMs + r.countMs)} (walk ${s(r.walkMs)}, tokens ${s(r.countMs)})`,
    ...exclusionLines(r).map((l) => `  ${l}`),
    ...(memory
      ? [
          `  reader thread: JS heap peak ${formatBytes(memory.peakHeapBytes)}, process peak RSS ${formatBytes(memory.maxRssBytes)}` +
            `${memory.tokenizerMs > 0 ? `, tokenizer built in ${s(memory.tokenizerMs)}` : ''}`,
        ]
      : []),
  ].join('\n');
}
