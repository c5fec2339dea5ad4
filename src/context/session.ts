// The one chat session over a workspace with KV reuse, used by the CLI's `podlens chat` (in
// process) and by the extension's engine worker (src/worker/sessions.ts hosts one per named
// session). A turn takes a structured prompt (prompt.ts: system text, workspace blocks, the
// conversation), which is tokenized there, once per block text; the session owns the ids its
// cache holds and computes only what follows the longest common prefix with them ("N tokens
// reused, M computed"). Truncation is exact for the full cache; PoD and streaming caches cannot
// rewind once tokens left their recent ring (pod.ts), so for those the session keeps in-memory
// checkpoints (exportState copies) at block boundaries — the start of each of the last blocks,
// a few spread over the rest, and the end of the workspace — and restores the nearest one at or
// before the first changed token: editing one file recomputes from its block (or the checkpoint
// before it), not from token 0; their bytes are capped (checkpoints.ts). With a store (store.ts),
// the state at the end of the workspace (and, for caches that cannot rewind, at the last block's
// start) is saved, and a new session
// restores it when its token ids are exactly the prompt's — never a state for other ids; every
// restore, rejection and save is one log line. Not here: files (build.ts), the disk format
// (persist.ts), threads and messages (src/worker).
import { Engine } from '../engine/engine';
import { GenerateEvent, GenerateStats } from '../engine/generate';
import { KVState, stateBytes } from '../engine/kv/state';
import {
  CHECKPOINT_CACHE_FACTOR,
  checkpointPositions,
  Checkpoints,
  isPrefix,
  lcp,
  mbOf,
  SessionOptions,
} from './checkpoints';
import { KVCache } from '../engine/kv/types';
import { SamplerOptions } from '../engine/sampler';
import { PromptIds, PromptTokenizer, SessionPrompt } from './prompt';
import { PrefixStore, StoreSlot } from './store';
import { trimToFit } from './trim';

export interface TurnOptions {
  maxTokens: number;
  sampler?: Partial<SamplerOptions>;
  stop?: string[];
  signal?: AbortSignal;
  /** Drop the oldest conversation turns (keeping the question) until prompt + answer fit (default true). */
  trimToFit?: boolean;
  /** Save the workspace prefix here, and restore it into an empty session. */
  store?: PrefixStore;
}

/** What a turn did besides generating (filled in before its 'done' event). */
export interface TurnInfo {
  /** Prompt tokens the cache already held (in memory or restored from disk) and this turn kept. */
  reused: number;
  /** Prompt tokens computed this turn. */
  computed: number;
  /** How the cache was brought to the common prefix: kept, truncated, checkpoint at N, restored from disk, rebuilt. */
  how: string;
  /** Prompt tokens restored from the store this turn. */
  restoredTokens: number;
  /** Conversation messages left out so the prompt fit. */
  droppedMessages: number;
  /** Tokens of the system message through the end of the workspace. */
  prefix: number;
  /** Where each workspace block starts in the prompt. */
  starts: number[];
}

export const newTurnInfo = (): TurnInfo => ({
  reused: 0,
  computed: 0,
  how: '',
  restoredTokens: 0,
  droppedMessages: 0,
  prefix: 0,
  starts: [],
});

/** A whole turn's outcome (ask). */
export interface AskResult extends TurnInfo {
  text: string;
  reason: string;
  stats: GenerateStats;
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
const mb = (s: KVState): string => mbOf(stateBytes(s));
export { CHECKPOINT_CACHE_FACTOR, checkpointPositions };
export type { SessionOptions };

export class PromptSession {
  readonly cache: KVCache;
  /** Token ids the cache holds (length === cache.length). */
  ids: number[] = [];
  private readonly checkpoints: Checkpoints;
  /** The ids last saved to (or restored from) each store slot. */
  private readonly saved = new Map<StoreSlot, number[]>();

  constructor(
    readonly engine: Engine,
    readonly tokens: PromptTokenizer,
    private readonly log: (line: string) => void = () => undefined,
    private readonly o: SessionOptions = {},
  ) {
    this.cache = engine.createCache();
    this.checkpoints = new Checkpoints(
      () => this.o.checkpointBytes ?? CHECKPOINT_CACHE_FACTOR * this.engine.memory.kvBytes,
      log,
    );
  }

  /** The checkpoints kept (position, bytes), in position order. */
  get checkpointInfo(): { at: number; bytes: number }[] {
    return this.checkpoints.info;
  }

  /** The checkpoints' byte cap: the option, or a multiple of the cache's bytes at the whole context (memory.ts kvBytesAt). */
  get checkpointCap(): number {
    return this.checkpoints.cap();
  }

  private get canRewind(): boolean {
    return this.cache.kind === 'full';
  }

  /** The prompt's ids; with `trim`, the oldest conversation turns dropped until it and `reserve` fit. */
  render(prompt: SessionPrompt, trim = true, reserve = 0): PromptIds & { dropped: number } {
    if (!trim) return { ...this.tokens.render(prompt), dropped: 0 };
    let last: PromptIds | undefined;
    const t = trimToFit(
      prompt.messages,
      (messages) => (last = this.tokens.render({ ...prompt, messages })).ids,
      reserve,
      this.engine.contextSize,
    );
    const r = last!.ids === t.ids ? last! : this.tokens.render({ ...prompt, messages: t.messages });
    return { ...r, dropped: t.dropped };
  }

  /** Answer a prompt; the events are the engine's, with the prefill progress and stats of the whole turn. */
  async *generate(prompt: SessionPrompt, o: TurnOptions, info: TurnInfo): AsyncGenerator<GenerateEvent> {
    const t0 = performance.now();
    const target = this.render(prompt, o.trimToFit ?? true, o.maxTokens);
    const { ids, prefix, starts } = target;
    Object.assign(info, { droppedMessages: target.dropped, prefix, starts, restoredTokens: 0 });
    this.checkpoints.keepLongest = { prefix, lastStart: starts.at(-1) ?? 0 };
    if (prefix + 1 >= this.engine.contextSize) {
      throw new RangeError(
        `the workspace takes ${prefix} tokens but the context holds ${this.engine.contextSize}; lower the workspace budget or raise the context size`,
      );
    }
    if (o.store && this.cache.length === 0 && prefix > 0) info.restoredTokens = await this.restore(o.store, target);
    const { kept, how } = this.rewind(ids);
    Object.assign(info, {
      reused: kept,
      computed: ids.length - kept,
      how: info.restoredTokens > 0 && how === 'kept' ? 'restored from disk' : how,
    });
    const overheadMs = performance.now() - t0; // rendering, restoring, rewinding: before the first token
    try {
      // Compute the prefix in steps that end at the checkpoint positions (caches that cannot
      // rewind) and at the prefix end (to save it), so those states can be kept.
      const stops = (this.canRewind ? (o.store ? [prefix] : []) : checkpointPositions(starts, prefix)).filter(
        (s) => s > this.cache.length,
      );
      const t1 = performance.now();
      for (const s of stops) {
        const from = this.cache.length;
        for await (const ev of this.engine.generate(this.cache, {
          prompt: ids.slice(from, s),
          maxTokens: 1,
          sampler: { temperature: 0 },
          signal: o.signal,
        })) {
          if (ev.type === 'prefill') yield { ...ev, done: from - kept + ev.done, total: ids.length - kept };
        }
        this.ids = ids.slice(0, this.cache.length);
        if (this.cache.length !== s) break; // stopped: the last generate below reports it
        if (!this.canRewind) this.keep(ids, s);
      }
      const extra = { tokens: this.cache.length - kept, ms: performance.now() - t1 };
      const tSave = performance.now();
      if (o.store) await this.persist(o.store, ids, prefix, starts.at(-1));
      const waitMs = overheadMs + performance.now() - tSave;
      const from = this.cache.length;
      for await (const ev of this.engine.generate(this.cache, {
        prompt: ids.slice(from),
        maxTokens: o.maxTokens,
        sampler: o.sampler,
        stop: o.stop,
        signal: o.signal,
      })) {
        if (ev.type === 'prefill') {
          yield { ...ev, done: from - kept + ev.done, total: ids.length - kept };
          continue;
        }
        if (ev.type === 'done') {
          this.ids = [...ids, ...ev.tokens].slice(0, this.cache.length);
          let stats = extra.tokens > 0 ? withStepCost(ev.stats, extra.tokens, extra.ms) : ev.stats;
          stats = { ...stats, ttftMs: stats.ttftMs + waitMs, totalMs: stats.totalMs + waitMs };
          yield { ...ev, stats };
          continue;
        }
        yield ev;
      }
    } catch (e) {
      // The cache holds only completed steps, but which ids they were is no longer known: start over.
      this.cache.truncate(0);
      this.ids = [];
      throw e;
    }
  }

  /** One turn to its end: the answer's text (streamed to `onText`), why it stopped, what was reused. */
  async ask(prompt: SessionPrompt, o: TurnOptions, onText?: (text: string) => void): Promise<AskResult> {
    const info = newTurnInfo();
    for await (const ev of this.generate(prompt, o, info)) {
      if ((ev.type === 'token' || ev.type === 'text') && ev.text) onText?.(ev.text);
      if (ev.type === 'done') return { ...info, text: ev.text, reason: ev.reason, stats: ev.stats };
    }
    throw new Error('generation ended without a result');
  }

  /** Bring the cache to the longest prefix of `target` it can keep (always leaving one token to compute). */
  private rewind(target: readonly number[]): { kept: number; how: string } {
    const p = lcp(this.ids, target, Math.min(this.ids.length, target.length - 1));
    if (p === this.ids.length) return { kept: p, how: 'kept' };
    try {
      this.cache.truncate(p);
      this.ids.length = p;
      return { kept: p, how: 'truncated' };
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
    const cp = this.checkpoints.nearest(p, target);
    if (cp) {
      this.cache.importState(cp.state);
      this.ids = cp.ids.slice();
      return { kept: cp.ids.length, how: `checkpoint at ${cp.ids.length}` };
    }
    this.cache.truncate(0);
    this.ids = [];
    this.log(
      `the ${this.cache.kind} cache cannot rewind to token ${p} and holds no checkpoint before it; reading the prompt from the start`,
    );
    return { kept: 0, how: 'rebuilt' };
  }

  /** Keep the cache state at `at` (= cache.length) as a checkpoint; only those on the current prompt's path stay. */
  private keep(target: readonly number[], at: number): void {
    const state = this.cache.exportState(); // every cache kind exports (quantized stores as decoded rows)
    this.checkpoints.keepOnPath(target, at);
    this.checkpoints.add(target.slice(0, at), state);
  }

  /** Load the stored workspace prefix into the empty cache when its ids are the prompt's; returns the tokens restored. */
  private async restore(store: PrefixStore, target: PromptIds): Promise<number> {
    const t0 = performance.now();
    const prefix = target.ids.slice(0, target.prefix);
    const notUsed = (why: string): void =>
      this.log(`workspace KV state on disk not used: ${why}; reading the workspace again`);
    const use = (slot: StoreSlot, ids: number[], state: KVState): boolean => {
      try {
        this.cache.importState(state);
      } catch (e) {
        this.cache.truncate(0);
        notUsed(firstLine(e));
        return false;
      }
      this.ids = ids;
      this.saved.set(slot, ids);
      if (!this.canRewind) this.checkpoints.add(ids, state);
      this.log(
        `workspace KV ${slot === 'prefix' ? 'state' : 'checkpoint'} restored from disk: ${ids.length} tokens, ${mb(state)} (${store.slotFile(slot)}), ${Math.round(performance.now() - t0)} ms`,
      );
      return true;
    };
    let restored = 0;
    try {
      const r = await store.load('prefix');
      if (!r)
        this.log(
          `no workspace KV state on disk for this workspace, model and cache settings (${store.slotFile('prefix')}); reading the workspace`,
        );
      else if (!r.ok) notUsed(r.reason);
      else if (r.ids.length !== prefix.length || !isPrefix(r.ids, prefix)) {
        notUsed(
          `the workspace context changed (saved ${r.ids.length} tokens, now ${prefix.length}, first difference at token ${lcp(r.ids, prefix, prefix.length)})`,
        );
      } else if (use('prefix', r.ids, r.state)) restored = r.ids.length;
      if (this.canRewind) return restored;
      // A cache that cannot rewind also keeps the state at the last block's start: an edit to the last file starts there.
      const st = await store.load('stable');
      if (st && !st.ok) this.log(`workspace KV checkpoint on disk not used: ${st.reason}`);
      else if (st?.ok && st.ids.length < target.prefix && isPrefix(st.ids, target.ids)) {
        if (restored > 0) {
          this.checkpoints.add(st.ids, st.state);
          this.saved.set('stable', st.ids);
        } else if (use('stable', st.ids, st.state)) restored = st.ids.length;
      }
    } catch (e) {
      notUsed(firstLine(e));
    }
    return restored;
  }

  /** Save the prefix-end state (and a cache that cannot rewind: the last block's start) unless the store has these ids already. */
  private async persist(
    store: PrefixStore,
    target: readonly number[],
    prefix: number,
    lastStart: number | undefined,
  ): Promise<void> {
    const save = async (slot: StoreSlot, at: number, state: () => KVState | undefined): Promise<void> => {
      const done = this.saved.get(slot);
      if (at <= 0 || (done && done.length === at && isPrefix(done, target))) return;
      const t0 = performance.now();
      const what = slot === 'prefix' ? 'state' : 'checkpoint';
      try {
        const s = state();
        if (!s) return;
        const ids = target.slice(0, at);
        await store.save(ids, s, slot);
        this.saved.set(slot, ids);
        this.log(
          `workspace KV ${what} saved: ${at} tokens, ${mb(s)} (${store.slotFile(slot)}), ${Math.round(performance.now() - t0)} ms`,
        );
      } catch (e) {
        this.log(`workspace KV ${what} not saved: ${firstLine(e)}`);
      }
    };
    if (this.cache.length !== prefix) return; // stopped before the prefix end
    await save('prefix', prefix, () => this.cache.exportState());
    if (!this.canRewind && lastStart !== undefined)
      await save('stable', lastStart, () => this.checkpoints.at(lastStart)?.state);
  }
}

/** Stats of the answer as one prompt: the tokens computed in steps before it count as computed, not reused. */
export function withStepCost(s: GenerateStats, tokens: number, ms: number): GenerateStats {
  const promptTokens = s.promptTokens + tokens;
  const prefillMs = s.prefillMs + ms;
  return {
    ...s,
    promptTokens,
    reusedTokens: s.reusedTokens - tokens,
    ttftMs: s.ttftMs + ms,
    prefillMs,
    prefillTokensPerSecond: prefillMs > 0 ? (promptTokens / prefillMs) * 1000 : 0,
    totalMs: s.totalMs + ms,
  };
}

/** Tokens of each workspace block as the session tokenized it (from the block starts and the prefix end). */
export const blockTokens = (r: Pick<TurnInfo, 'starts' | 'prefix'>): number[] =>
  r.starts.map((s, i) => (r.starts[i + 1] ?? r.prefix) - s);

/** "N tokens reused, M computed" (the line every CLI answer reports). */
export const reuseLine = (r: Pick<TurnInfo, 'reused' | 'computed'>): string =>
  `${r.reused} tokens reused, ${r.computed} computed`;
