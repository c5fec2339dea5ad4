// The host's handle on the reader worker (src/worker/reader-main.ts): GGUF header checks for model
// discovery and workspace reads (walk + tokenize with the model's tokenizer) run there, off the
// extension host's thread, and never queue behind a generation in the engine worker. The thread
// starts on first use, holds the process open only while a call is pending (unref'd otherwise, so
// tests and the CLI exit), and ends after `idleMs` without calls (the tokenizer's memory goes with
// it). A read is a RunningJob: progress callbacks, `abort()` (the read stops within one file; the
// thread and its tokenizer stay), and a promise rejected with name 'AbortError' when aborted.
// A crashed thread rejects what was pending with a ReaderCrashError; the next call starts a new
// one. Everything it receives is validated (reader-protocol.ts). No vscode import.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ReadProgress } from '../../context/read';
import { GGUFCheck } from '../../worker/gguf-probe';
import { FromReader, parseFromReader, ReadDone, ReadRequest, ToReader } from '../../worker/reader-protocol';
import type { RunningJob } from '../engine-client';

export class ReaderCrashError extends Error {
  override readonly name = 'ReaderCrashError';
}

export interface ReaderClientOptions {
  /** The worker script: dist/reader.js in the extension, out/src/worker/reader-main.js in tests (default: found next to this module). */
  workerPath?: string;
  /** JS heap cap of the thread; a read that needs more stops the thread, not the editor (default 1024 MB). */
  maxHeapMb?: number;
  /** The thread ends after this long without calls (default 120 s). */
  idleMs?: number;
  log?: (line: string) => void;
}

export type { ReadDone, ReadRequest };

/** Where the reader script is beside this module: the extension bundle (dist/) or tsc's output (out/src/host/workspace → out/src/worker). */
export function defaultReaderPath(): string {
  const bundled = path.join(__dirname, 'reader.js');
  return fs.existsSync(bundled) ? bundled : path.join(__dirname, '..', '..', 'worker', 'reader-main.js');
}

interface Pending {
  resolve(m: FromReader): void;
  reject(e: Error): void;
  onProgress?: (p: ReadProgress) => void;
}

export class ReaderClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private idle: NodeJS.Timeout | null = null;

  constructor(private readonly o: ReaderClientOptions = {}) {}

  /** The thread is running (tests). */
  get running(): boolean {
    return this.worker !== null;
  }

  private ensureWorker(): Worker {
    if (this.idle) {
      clearTimeout(this.idle);
      this.idle = null;
    }
    if (this.worker) return this.worker;
    const w = new Worker(this.o.workerPath ?? defaultReaderPath(), {
      resourceLimits: { maxOldGenerationSizeMb: this.o.maxHeapMb ?? 1024 },
    });
    w.on('message', (raw: unknown) => this.onMessage(raw));
    w.on('error', (e: Error & { code?: string }) => {
      this.crashed(
        w,
        e.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `the workspace reader ran out of memory (heap cap ${this.o.maxHeapMb ?? 1024} MB) and was stopped; narrow podlens.context.include / exclude`
          : `the workspace reader stopped with an error: ${e.message}`,
      );
    });
    w.on('exit', (code) => {
      if (this.worker === w) this.crashed(w, `the workspace reader exited unexpectedly (code ${code})`);
    });
    this.worker = w;
    return w;
  }

  private crashed(w: Worker, message: string): void {
    if (this.worker !== w) return;
    this.worker = null;
    this.o.log?.(message);
    const err = new ReaderCrashError(`${message}; the next request starts it again`);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Ref the thread while calls are pending; unref it and arm the idle stop when none are. */
  private settle(): void {
    const w = this.worker;
    if (!w) return;
    if (this.pending.size > 0) {
      w.ref();
      return;
    }
    w.unref();
    if (!this.idle) {
      this.idle = setTimeout(() => {
        this.idle = null;
        if (this.pending.size === 0) void this.dispose();
      }, this.o.idleMs ?? 120_000);
      this.idle.unref();
    }
  }

  private onMessage(raw: unknown): void {
    const parsed = parseFromReader(raw);
    if (!parsed.ok) {
      this.o.log?.(`workspace reader: malformed message rejected: ${parsed.error}`);
      return;
    }
    const m = parsed.value;
    const p = this.pending.get(m.id);
    if (!p) return; // a late message for a call that was already settled
    if (m.type === 'progress') {
      p.onProgress?.(m.progress);
      return;
    }
    this.pending.delete(m.id);
    if (m.type === 'error') p.reject(Object.assign(new Error(m.message), { name: m.name }));
    else p.resolve(m);
    this.settle();
  }

  private call(msg: Exclude<ToReader, { type: 'abort' }>, onProgress?: (p: ReadProgress) => void): Promise<FromReader> {
    const w = this.ensureWorker();
    const done = new Promise<FromReader>((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject, onProgress });
    });
    this.settle();
    w.postMessage(msg);
    return done;
  }

  /** The GGUF header check of src/worker/gguf-probe.ts, in the reader thread. */
  async probe(file: string): Promise<GGUFCheck> {
    const m = await this.call({ type: 'probe', id: this.nextId++, file });
    if (m.type !== 'probed') throw new Error(`workspace reader: expected 'probed', got '${m.type}'`);
    return { supported: m.supported, note: m.note };
  }

  /** Read a workspace folder in the reader thread; progress at most every `progressEveryMs` (default 100). */
  read(req: ReadRequest, onProgress?: (p: ReadProgress) => void): RunningJob<ReadDone> {
    const id = this.nextId++;
    const done = this.call({ type: 'read', id, ...req }, onProgress).then((m) => {
      if (m.type !== 'read') throw new Error(`workspace reader: expected 'read', got '${m.type}'`);
      return m;
    });
    return {
      id,
      done,
      abort: () => {
        if (this.pending.has(id))
          this.worker?.postMessage({ type: 'abort', id, sentAt: Date.now() } satisfies ToReader);
      },
    };
  }

  /** Stop the thread; pending calls are rejected. */
  async dispose(): Promise<void> {
    if (this.idle) {
      clearTimeout(this.idle);
      this.idle = null;
    }
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    for (const p of this.pending.values()) p.reject(new ReaderCrashError('the workspace reader was stopped'));
    this.pending.clear();
    await w.terminate();
  }
}

/** Run a read until it ends or `signal` aborts it (rejected with name 'AbortError'). */
export async function readWith(
  reader: Pick<ReaderClient, 'read'>,
  req: ReadRequest,
  signal?: AbortSignal,
  onProgress?: (p: ReadProgress) => void,
): Promise<ReadDone> {
  const job = reader.read(req, onProgress);
  const stop = (): void => job.abort();
  signal?.addEventListener('abort', stop);
  if (signal?.aborted) job.abort();
  try {
    return await job.done;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

let shared: ReaderClient | null = null;
/** One reader for callers that were given none (model discovery outside the extension, tests). */
export function sharedReader(): ReaderClient {
  shared ??= new ReaderClient();
  return shared;
}
