// The host's handle on the engine worker (src/worker/main.ts): starts the worker thread lazily,
// turns the message channel into promises and callbacks, validates everything the worker sends,
// and survives the worker dying. A crash or an out-of-memory stop rejects every pending call
// with an `EngineCrashError` that says what to do; the next call starts a fresh worker (the model
// must be loaded again). The worker's `log` lines (persisted KV states) go to `log`. Does not
// import vscode, so it is tested in plain Node.
import { Worker } from 'node:worker_threads';
import {
  FromWorker,
  KVSettings,
  ModelInfo,
  parseFromWorker,
  PersistTarget,
  SamplerSettings,
  ToWorker,
  WorkerStats,
} from '../worker/protocol';
import { SnapshotWire } from '../shared/cache-view';
import type { PromptBlock } from '../context/build';

export class EngineCrashError extends Error {
  override readonly name = 'EngineCrashError';
}

export interface EngineClientOptions {
  /** The worker script: dist/worker.js in the extension, out/src/worker/main.js in tests. */
  workerPath: string;
  /** JS heap cap for the worker; exceeding it stops the worker (reported), not the editor. */
  maxHeapMb?: number;
  log?: (line: string) => void;
}

export interface GenerateParams {
  session: string;
  /** System text before the workspace (or a leading system message in `messages`). */
  system?: string;
  /** Workspace blocks (path + text, in cache order): the worker tokenizes them. */
  blocks?: PromptBlock[];
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  maxTokens: number;
  sampler: SamplerSettings;
  stop?: string[];
  trimToFit?: boolean;
  snapshotEveryMs?: number;
  /** Save the workspace prefix's KV state in this store, and restore it in a new worker session. */
  persist?: PersistTarget;
}

export interface GenerateHandlers {
  onPrefill?(done: number, total: number): void;
  onDelta?(text: string): void;
  /** One line of progress (summarize, calibrate). */
  onProgress?(message: string): void;
}

export type GenerateDone = Extract<FromWorker, { type: 'done' }>;
export type SummaryDone = Extract<FromWorker, { type: 'summary' }>;
export type CalibrateDone = Extract<FromWorker, { type: 'calibrated' }>;
export type SummarizeParams = Omit<Extract<ToWorker, { type: 'summarize' }>, 'type' | 'id'>;
export type CalibrateParams = Omit<Extract<ToWorker, { type: 'calibrate' }>, 'type' | 'id'>;
export type { ModelInfo, PersistTarget, WorkerStats };

interface Pending {
  resolve(m: FromWorker): void;
  reject(e: Error): void;
  handlers?: GenerateHandlers;
}

export interface RunningJob<T> {
  readonly id: number;
  readonly done: Promise<T>;
  abort(): void;
}
export type RunningGeneration = RunningJob<GenerateDone>;

export class EngineClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private modelInfo: ModelInfo | null = null;
  private loadedPath: string | null = null;
  private readonly snapshotListeners = new Set<(session: string, s: SnapshotWire) => void>();
  private readonly crashListeners = new Set<(e: EngineCrashError) => void>();

  constructor(private readonly o: EngineClientOptions) {}

  get info(): ModelInfo | null {
    return this.modelInfo;
  }

  /** The GGUF file the loaded model came from (null when none is loaded). */
  get modelPath(): string | null {
    return this.modelInfo ? this.loadedPath : null;
  }

  onSnapshot(cb: (session: string, s: SnapshotWire) => void): () => void {
    this.snapshotListeners.add(cb);
    return () => this.snapshotListeners.delete(cb);
  }

  onCrash(cb: (e: EngineCrashError) => void): () => void {
    this.crashListeners.add(cb);
    return () => this.crashListeners.delete(cb);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.o.workerPath, {
      resourceLimits: this.o.maxHeapMb ? { maxOldGenerationSizeMb: this.o.maxHeapMb } : undefined,
    });
    w.on('message', (raw: unknown) => this.onMessage(raw));
    w.on('error', (e: Error & { code?: string }) => {
      const oom = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.crashed(
        w,
        oom
          ? `the engine ran out of memory (JS heap cap ${this.o.maxHeapMb ?? '?'} MB) and was stopped; lower podlens.engine.contextSize or pick a smaller model — the next request restarts it`
          : `the engine stopped with an error: ${e.message}; the next request restarts it (if it happens again, pick another model with "PodLens: Select Model…")`,
      );
    });
    w.on('exit', (code) => {
      if (this.worker === w)
        this.crashed(w, `the engine exited unexpectedly (code ${code}); the next request restarts it`);
    });
    this.worker = w;
    return w;
  }

  private crashed(w: Worker, message: string): void {
    if (this.worker !== w) return;
    this.worker = null;
    this.modelInfo = null;
    const err = new EngineCrashError(message);
    this.o.log?.(`engine worker: ${message}`);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const cb of this.crashListeners) cb(err);
  }

  private onMessage(raw: unknown): void {
    const parsed = parseFromWorker(raw);
    if (!parsed.ok) {
      this.o.log?.(`engine worker: malformed message rejected: ${parsed.error}`);
      return;
    }
    const m = parsed.value;
    if (m.type === 'snapshot') {
      for (const cb of this.snapshotListeners) cb(m.session, m.snapshot);
      return;
    }
    if (m.type === 'log') {
      this.o.log?.(m.message);
      return;
    }
    if (m.type === 'error' && m.id === null) {
      this.o.log?.(`engine worker: ${m.name}: ${m.message}`);
      return;
    }
    const p = m.id === null ? undefined : this.pending.get(m.id);
    if (m.type === 'error' && !p) {
      this.o.log?.(`engine worker: ${m.name}: ${m.message}`);
      return;
    }
    if (!p || m.id === null) return; // a late message for a call that was already settled
    if (m.type === 'prefill') {
      p.handlers?.onPrefill?.(m.done, m.total);
      return;
    }
    if (m.type === 'delta') {
      p.handlers?.onDelta?.(m.text);
      return;
    }
    if (m.type === 'progress') {
      p.handlers?.onProgress?.(m.message);
      return;
    }
    this.pending.delete(m.id);
    if (m.type === 'error') p.reject(Object.assign(new Error(m.message), { name: m.name }));
    else p.resolve(m);
  }

  private call(msg: ToWorker, handlers?: GenerateHandlers): Promise<FromWorker> {
    const w = this.ensureWorker();
    return new Promise<FromWorker>((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject, handlers });
      w.postMessage(msg);
    });
  }

  async load(path: string, o: { threads?: number; contextSize?: number; kv?: KVSettings } = {}): Promise<ModelInfo> {
    this.modelInfo = null;
    const m = await this.call({
      type: 'load',
      id: this.nextId++,
      path,
      threads: o.threads,
      contextSize: o.contextSize,
      kv: o.kv,
    });
    if (m.type !== 'loaded') throw new Error(`engine worker: expected 'loaded', got '${m.type}'`);
    this.modelInfo = m.info;
    this.loadedPath = path;
    return m.info;
  }

  async count(texts: string[]): Promise<number[]> {
    const m = await this.call({ type: 'count', id: this.nextId++, texts });
    if (m.type !== 'counts' || m.counts.length !== texts.length) throw new Error('engine worker: bad token counts');
    return m.counts;
  }

  async reset(session: string): Promise<void> {
    if (!this.worker || !this.modelInfo) return;
    await this.call({ type: 'reset', id: this.nextId++, session });
  }

  /** Start an abortable job whose final message has type `want`. */
  private job<K extends FromWorker['type']>(
    msg: Extract<ToWorker, { type: 'generate' | 'summarize' | 'calibrate' }>,
    want: K,
    handlers: GenerateHandlers,
  ): RunningJob<Extract<FromWorker, { type: K }>> {
    const done = this.call(msg, handlers).then((m) => {
      if (m.type !== want) throw new Error(`engine worker: expected '${want}', got '${m.type}'`);
      return m as Extract<FromWorker, { type: K }>;
    });
    return {
      id: msg.id,
      done,
      abort: () => this.worker?.postMessage({ type: 'abort', id: msg.id } satisfies ToWorker),
    };
  }

  generate(p: GenerateParams, handlers: GenerateHandlers = {}): RunningGeneration {
    return this.job(
      {
        type: 'generate',
        id: this.nextId++,
        session: p.session,
        ...(p.system ? { system: p.system } : {}),
        ...(p.blocks?.length ? { blocks: p.blocks } : {}),
        messages: p.messages,
        maxTokens: p.maxTokens,
        sampler: p.sampler,
        stop: p.stop ?? [],
        trimToFit: p.trimToFit ?? true,
        snapshotEveryMs: p.snapshotEveryMs ?? 0,
        ...(p.persist ? { persist: p.persist } : {}),
      },
      'done',
      handlers,
    );
  }

  /** Map-reduce summary of texts on the loaded model (src/context/summarize.ts); abort keeps what was covered. */
  summarize(p: SummarizeParams, onProgress?: (message: string) => void): RunningJob<SummaryDone> {
    return this.job({ type: 'summarize', id: this.nextId++, ...p }, 'summary', { onProgress });
  }

  /** Calibrate a model file on texts and write the PoD profile to `p.out` (needs no loaded model). */
  calibrate(p: CalibrateParams, onProgress?: (message: string) => void): RunningJob<CalibrateDone> {
    return this.job({ type: 'calibrate', id: this.nextId++, ...p }, 'calibrated', { onProgress });
  }

  /** Stop the worker (frees the model); pending calls are rejected. */
  async dispose(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    this.modelInfo = null;
    for (const p of this.pending.values()) p.reject(new EngineCrashError('the engine was stopped'));
    this.pending.clear();
    await w.terminate();
  }
}
