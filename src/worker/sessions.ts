// The engine side of the worker: one loaded Engine and named chat sessions — each a
// src/context/session.ts PromptSession, the same class the CLI's chat uses — sharing one
// memoized tokenizer (a file's block is tokenized once, whichever session or count asks). A
// job's `persist` target names the store of the workspace prefix (src/context/store.ts, opened
// once per target with the model file's sha256 taken when the engine loaded). Knows nothing
// about threads or messages: src/worker/main.ts wires it to the channel, and tests can drive it
// directly.
import { Engine } from '../engine/engine';
import { GenerateEvent } from '../engine/generate';
import { describePlan } from '../engine/kv/plan';
import { fileSha256 } from '../context/persist';
import { PromptTokenizer, SessionPrompt } from '../context/prompt';
import { PromptSession, TurnInfo } from '../context/session';
export { newTurnInfo } from '../context/session';
import { FilePrefixStore } from '../context/store';
import { SnapshotWire } from '../shared/cache-view';
import { KVSettings, ModelInfo, PersistTarget, SamplerSettings } from './protocol';
import { toSnapshotWire } from './snapshot';
import { engineKV } from './jobs';

export interface GenerateJob extends SessionPrompt {
  session: string;
  maxTokens: number;
  sampler: SamplerSettings;
  stop: string[];
  trimToFit: boolean;
  signal: AbortSignal;
  /** Save / restore the workspace prefix's KV state in this store. */
  persist?: PersistTarget;
}

export class EngineSessions {
  private readonly sessions = new Map<string, PromptSession>();
  private readonly stores = new Map<string, Promise<FilePrefixStore>>();
  readonly tokens: PromptTokenizer;
  /** The model file's sha256 as it was when the engine loaded it (started at once, in the background). */
  private readonly modelSha: Promise<string>;

  private constructor(
    readonly engine: Engine,
    readonly info: ModelInfo,
    private readonly log: (line: string) => void,
  ) {
    this.tokens = new PromptTokenizer(engine.tokenizer);
    this.modelSha = fileSha256(engine.path);
    this.modelSha.catch(() => undefined); // reported by the first restore or save that needs it
  }

  /** `log`: one-line reports for the host's output channel (persisted states restored, rejected, saved). */
  static async load(
    path: string,
    o: { threads?: number; contextSize?: number; kv?: KVSettings; log?: (line: string) => void },
  ): Promise<EngineSessions> {
    const t0 = performance.now();
    const { log = () => undefined, ...opts } = o;
    const engine = await Engine.load(path, { ...opts, kv: opts.kv ? engineKV(opts.kv, path) : undefined });
    const c = engine.config;
    return new EngineSessions(
      engine,
      {
        name: c.name,
        arch: c.arch,
        nLayers: c.nLayers,
        nKVHeads: c.nKVHeads,
        headDim: c.headDim,
        contextSize: engine.contextSize,
        kv: describePlan(engine.decoder.plan),
        weightBytes: engine.memory.weightBytes,
        kvBytes: engine.memory.kvBytes,
        estimateBytes: Math.round(engine.memory.totalBytes),
        trainContext: c.ctxTrain,
        ...(engine.autoContext
          ? {
              autoContext: {
                budgetBytes: engine.autoContext.budgetBytes,
                freeBytes: engine.autoContext.freeBytes,
                limit: engine.autoContext.limit,
              },
            }
          : {}),
        loadMs: performance.now() - t0,
      },
      log,
    );
  }

  /** Token counts of plain texts (no BOS, special tokens not parsed): the ids the sessions will use. */
  count(texts: readonly string[]): number[] {
    return texts.map((t) => this.tokens.text(t).length);
  }

  reset(session: string): void {
    this.sessions.delete(session);
  }

  snapshot(session: string): SnapshotWire | null {
    const s = this.sessions.get(session);
    return s ? toSnapshotWire(s.cache.snapshot()) : null;
  }

  private store(t: PersistTarget): Promise<FilePrefixStore> {
    const key = JSON.stringify([t.workspace, t.dir, t.capBytes]);
    let s = this.stores.get(key);
    if (!s) {
      s = this.modelSha.then((modelSha256) =>
        FilePrefixStore.open(this.engine, t.workspace, {
          dir: t.dir,
          capBytes: t.capBytes,
          log: this.log,
          modelSha256,
        }),
      );
      s.catch(() => this.stores.delete(key));
      this.stores.set(key, s);
    }
    return s;
  }

  /** Generate in a session; the events are the engine's. Reuses the cached common prefix. */
  async *generate(job: GenerateJob, info: TurnInfo): AsyncGenerator<GenerateEvent> {
    let s = this.sessions.get(job.session);
    if (!s) {
      s = new PromptSession(this.engine, this.tokens, this.log);
      this.sessions.set(job.session, s);
    }
    let store: FilePrefixStore | undefined;
    if (job.persist) {
      try {
        store = await this.store(job.persist);
      } catch (e) {
        this.log(
          `workspace KV state not used or saved: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`,
        );
      }
    }
    const { system, blocks, messages } = job;
    yield* s.generate(
      { system, blocks, messages },
      {
        maxTokens: job.maxTokens,
        sampler: job.sampler,
        stop: job.stop,
        trimToFit: job.trimToFit,
        signal: job.signal,
        ...(store ? { store } : {}),
      },
      info,
    );
  }

  async dispose(): Promise<void> {
    this.sessions.clear();
    await this.engine.dispose();
  }
}
