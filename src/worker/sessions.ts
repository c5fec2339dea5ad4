// The engine side of the worker: one loaded Engine and named generation sessions, each with its
// own KV cache and the token ids that cache holds, so a follow-up prompt (the next chat turn)
// reuses the common prefix instead of recomputing it; caches that cannot rewind restore a
// checkpoint at the end of the system message instead (checkpoint.ts). With a job's `persist`
// target, the state at the end of the system message (the workspace prefix) is saved to disk
// after it was computed, and a new session restores it when the prefix is the same
// (prefix-store.ts), so a reloaded window does not read the workspace again. Knows nothing about
// threads or messages: src/worker/main.ts wires it to the channel, and tests can drive it directly.
import { Engine } from '../engine/engine';
import { GenerateEvent } from '../engine/generate';
import { KVCache } from '../engine/kv/types';
import { ChatMessage } from '../engine/tokenizer';
import { SnapshotWire } from '../shared/cache-view';
import { describePlan } from '../engine/kv/plan';
import { KVSettings, ModelInfo, PersistTarget, SamplerSettings } from './protocol';
import { PrefixStores } from './prefix-store';
import { toSnapshotWire } from './snapshot';
import { trimToFit } from './trim';
import { engineKV } from './jobs';
import { Checkpoint, fits, prefillCheckpoint, systemEnd, withCheckpointCost } from './checkpoint';

interface Session {
  cache: KVCache;
  /** The token ids the cache holds, in order (length === cache.length). */
  ids: number[];
  /** PoD / streaming: the state at the end of the system message. */
  checkpoint?: Checkpoint;
}

export interface GenerateJob {
  session: string;
  messages: ChatMessage[];
  maxTokens: number;
  sampler: SamplerSettings;
  stop: string[];
  trimToFit: boolean;
  signal: AbortSignal;
  /** Save / restore the system message's KV state in this store. */
  persist?: PersistTarget;
}

export interface JobResult {
  droppedMessages: number;
  contextSize: number;
  /** Prompt tokens restored from the persisted state. */
  restoredTokens?: number;
}

export class EngineSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly disk: PrefixStores;

  private constructor(readonly engine: Engine, readonly info: ModelInfo, private readonly log: (line: string) => void) {
    this.disk = new PrefixStores(engine, log);
  }

  /** `log`: one-line reports for the host's output channel (persisted states restored, rejected, saved). */
  static async load(path: string, o: { threads?: number; contextSize?: number; kv?: KVSettings; log?: (line: string) => void }): Promise<EngineSessions> {
    const t0 = performance.now();
    const { log = () => undefined, ...opts } = o;
    const engine = await Engine.load(path, { ...opts, kv: opts.kv ? engineKV(opts.kv, path) : undefined });
    const c = engine.config;
    return new EngineSessions(engine, {
      name: c.name, arch: c.arch, nLayers: c.nLayers, nKVHeads: c.nKVHeads, headDim: c.headDim,
      contextSize: engine.contextSize, kv: describePlan(engine.decoder.plan), weightBytes: engine.memory.weightBytes, kvBytes: engine.memory.kvBytes,
      estimateBytes: Math.round(engine.memory.totalBytes), trainContext: c.ctxTrain,
      ...(engine.autoContext ? { autoContext: { budgetBytes: engine.autoContext.budgetBytes, freeBytes: engine.autoContext.freeBytes, limit: engine.autoContext.limit } } : {}),
      loadMs: performance.now() - t0,
    }, log);
  }

  /** Token counts of plain texts (no BOS, special tokens not parsed), for chunking. */
  count(texts: readonly string[]): number[] {
    return texts.map((t) => (t.length === 0 ? 0 : this.engine.tokenizer.encode(t, { addBos: false, parseSpecial: false }).length));
  }

  reset(session: string): void {
    this.sessions.delete(session);
  }

  snapshot(session: string): SnapshotWire | null {
    const s = this.sessions.get(session);
    return s ? toSnapshotWire(s.cache.snapshot()) : null;
  }

  /**
   * Prompt ids for the messages; with `trimToFit`, the oldest messages other than system
   * messages and the last one are dropped until the prompt plus the answer budget fits.
   */
  private prompt(job: GenerateJob): { ids: number[]; dropped: number } {
    if (!job.trimToFit) return { ids: this.engine.chatPrompt(job.messages), dropped: 0 };
    const t = trimToFit(job.messages, (m) => this.engine.chatPrompt(m), job.maxTokens, this.engine.contextSize);
    return { ids: t.ids, dropped: t.dropped };
  }

  /** Generate in a session; the events are the engine's own. Reuses the cached common prefix. */
  async *generate(job: GenerateJob, result: JobResult): AsyncGenerator<GenerateEvent> {
    const { ids, dropped } = this.prompt(job);
    result.droppedMessages = dropped;
    result.contextSize = this.engine.contextSize;
    let s = this.sessions.get(job.session);
    if (!s) {
      s = { cache: this.engine.createCache(), ids: [] };
      this.sessions.set(job.session, s);
    }
    // The workspace prefix: the system message (0 when there is none; not tokenized when unused).
    const k = job.persist || s.cache.kind !== 'full' ? systemEnd(this.engine, job.messages, ids) : 0;
    const persist = k > 0 ? job.persist : undefined;
    let overheadMs = 0;
    if (persist && s.cache.length === 0) {
      const t = performance.now();
      const r = await this.disk.restore(persist, s.cache, ids.slice(0, k));
      overheadMs += performance.now() - t;
      if (r) {
        s.ids = ids.slice(0, k);
        if (s.cache.kind !== 'full') s.checkpoint = { ids: s.ids.slice(), state: r.state };
        result.restoredTokens = r.tokens;
      }
    }
    // Keep the longest common prefix, but always feed at least one new token (it yields the logits).
    let p = 0;
    const limit = Math.min(s.ids.length, ids.length - 1);
    while (p < limit && s.ids[p] === ids[p]) p++;
    // PoD and streaming caches cannot rewind once tokens went distant / were dropped (truncate
    // throws a RangeError; a follow-up chat question that changes the tail hits it): then restore
    // the checkpoint at the end of the system message if it still matches, else read the prompt
    // again from the start.
    try {
      s.cache.truncate(p);
    } catch (e) {
      if (!(e instanceof RangeError) || p === 0) throw e;
      if (fits(s.checkpoint, ids, p)) { s.cache.importState(s.checkpoint.state); p = s.checkpoint.ids.length; } else { p = 0; s.cache.truncate(0); }
    }
    s.ids = ids.slice(0, p);
    const session = s;
    try {
      // Take the checkpoint on the way (the system message is read on its own, then the rest);
      // a full cache needs none, but reads it on its own too when its state is to be saved (k > 0).
      const t0 = performance.now();
      const progress = { base: p, total: ids.length - p };
      const fresh: { state?: Checkpoint } = {}; // the prefix state, when it was computed now
      if (k > p) {
        yield* prefillCheckpoint(this.engine, session.cache, ids, k, progress, job.signal, (c) => {
          if (session.cache.kind !== 'full') session.checkpoint = c;
          fresh.state = c;
        }, (why) => { if (persist) this.log(`workspace KV state not saved: ${why}`); });
      }
      const extra = { tokens: session.cache.length - p, ms: performance.now() - t0 };
      if (persist && fresh.state) {
        const t = performance.now();
        await this.disk.save(persist, fresh.state.ids, fresh.state.state);
        overheadMs += performance.now() - t;
      }
      for await (const ev of this.engine.generate(session.cache, {
        prompt: ids.slice(session.cache.length), maxTokens: job.maxTokens, sampler: job.sampler, stop: job.stop, signal: job.signal,
      })) {
        if (ev.type === 'prefill') { yield { ...ev, done: ev.done + extra.tokens, total: progress.total }; continue; }
        if (ev.type === 'done') {
          session.ids = [...ids, ...ev.tokens].slice(0, session.cache.length);
          let stats = extra.tokens > 0 ? withCheckpointCost(ev.stats, extra.tokens, extra.ms) : ev.stats;
          // Restoring or saving the prefix happened before the first token: it is part of the wait.
          if (overheadMs > 0) stats = { ...stats, ttftMs: stats.ttftMs + overheadMs, totalMs: stats.totalMs + overheadMs };
          yield { ...ev, stats };
          continue;
        }
        yield ev;
      }
    } catch (e) {
      // The cache holds only completed steps, but which ids they were is no longer known: start over.
      this.sessions.delete(job.session);
      throw e;
    }
  }

  async dispose(): Promise<void> {
    this.sessions.clear();
    await this.engine.dispose();
  }
}
