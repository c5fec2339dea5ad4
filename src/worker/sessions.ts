// The engine side of the worker: one loaded Engine and named generation sessions, each with its
// own KV cache and the token ids that cache holds, so a follow-up prompt (the next chat turn)
// reuses the common prefix instead of recomputing it; caches that cannot rewind restore a
// checkpoint at the end of the system message instead (checkpoint.ts). Knows nothing about threads or messages:
// src/worker/main.ts wires it to the channel, and tests can drive it directly.
import { Engine } from '../engine/engine';
import { GenerateEvent } from '../engine/generate';
import { KVCache } from '../engine/kv/types';
import { ChatMessage } from '../engine/tokenizer';
import { SnapshotWire } from '../shared/cache-view';
import { describePlan } from '../engine/kv/plan';
import { KVSettings, ModelInfo, SamplerSettings } from './protocol';
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
}

export interface JobResult {
  droppedMessages: number;
  contextSize: number;
}

export class EngineSessions {
  private readonly sessions = new Map<string, Session>();

  private constructor(readonly engine: Engine, readonly info: ModelInfo) {}

  static async load(path: string, o: { threads?: number; contextSize?: number; kv?: KVSettings }): Promise<EngineSessions> {
    const t0 = performance.now();
    const engine = await Engine.load(path, { ...o, kv: o.kv ? engineKV(o.kv, path) : undefined });
    const c = engine.config;
    return new EngineSessions(engine, {
      name: c.name, arch: c.arch, nLayers: c.nLayers, nKVHeads: c.nKVHeads, headDim: c.headDim,
      contextSize: engine.contextSize, kv: describePlan(engine.decoder.plan), weightBytes: engine.memory.weightBytes, kvBytes: engine.memory.kvBytes,
      estimateBytes: Math.round(engine.memory.totalBytes), trainContext: c.ctxTrain,
      ...(engine.autoContext ? { autoContext: { budgetBytes: engine.autoContext.budgetBytes, freeBytes: engine.autoContext.freeBytes, limit: engine.autoContext.limit } } : {}),
      loadMs: performance.now() - t0,
    });
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
      // Take the checkpoint on the way (the system message is read on its own, then the rest).
      const k = session.cache.kind === 'full' ? 0 : systemEnd(this.engine, job.messages, ids);
      const t0 = performance.now();
      const progress = { base: p, total: ids.length - p };
      if (k > p) yield* prefillCheckpoint(this.engine, session.cache, ids, k, progress, job.signal, (c) => { session.checkpoint = c; });
      const extra = { tokens: session.cache.length - p, ms: performance.now() - t0 };
      for await (const ev of this.engine.generate(session.cache, {
        prompt: ids.slice(session.cache.length), maxTokens: job.maxTokens, sampler: job.sampler, stop: job.stop, signal: job.signal,
      })) {
        if (ev.type === 'prefill') { yield { ...ev, done: ev.done + extra.tokens, total: progress.total }; continue; }
        if (ev.type === 'done') {
          session.ids = [...ids, ...ev.tokens].slice(0, session.cache.length);
          if (extra.tokens > 0) { yield { ...ev, stats: withCheckpointCost(ev.stats, extra.tokens, extra.ms) }; continue; }
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
