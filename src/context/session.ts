// A chat session over a workspace prefix with KV reuse: the session knows the token ids its cache
// holds; a new turn's prompt is [chat head | workspace blocks | conversation + question], and
// only the part after the longest common prefix with the cache is computed ("N tokens reused,
// M computed"). Editing a file changes the ids from its block on, so only that suffix is
// recomputed. Truncation is exact for the full cache; a PoD or streaming cache cannot rewind once
// tokens left its recent ring (pod.ts), so for those the session keeps in-memory checkpoints
// (exportState copies) at two chosen positions — the start of the last workspace block and the
// end of the workspace prefix — restores the nearest one at or before the divergence, and
// otherwise rebuilds from token 0 (and says so). Through `store`, the prefix-end state (and, for
// caches that cannot rewind, the last-block checkpoint) is persisted and restored on start. Not here: file walking (build.ts), file format (persist.ts).
import { Engine } from '../engine/engine';
import { GenerateStats } from '../engine/generate';
import { KVCache } from '../engine/kv/types';
import { KVState } from '../engine/kv/state';
import { SamplerOptions } from '../engine/sampler';
import { ChatMessage } from '../engine/tokenizer';
import { WorkspaceContext } from './build';

const MARK = '\u0000PODLENS_WORKSPACE\u0000';
export const DEFAULT_SYSTEM = 'You are a helpful assistant for the code and documents below. Answer concisely and cite file paths.';

/** Where the workspace prefix state is kept between runs (persist.ts behind it). */
export interface PrefixStore {
  /** `slot` 'prefix' (default): the end of the workspace prefix; 'stable': the last block's start (PoD checkpoint). */
  load(slot?: StoreSlot): Promise<{ ok: true; ids: number[]; state: KVState } | { ok: false; reason: string } | undefined>;
  save(ids: readonly number[], state: KVState, slot?: StoreSlot): Promise<void>;
}

export type StoreSlot = 'prefix' | 'stable';

export interface AskOptions {
  maxTokens: number;
  sampler?: Partial<SamplerOptions>;
  stop?: string[];
  signal?: AbortSignal;
  onText?: (text: string) => void;
}

export interface AskResult {
  text: string;
  reason: string;
  /** Tokens the cache already held and this turn kept. */
  reused: number;
  /** Prompt tokens computed this turn. */
  computed: number;
  /** From the call to the first token, including any prefix prefill. */
  ttftMs: number;
  /** How the cache was brought to the common prefix: kept, truncated, checkpoint, rebuilt. */
  how: string;
  stats: GenerateStats;
}

interface Checkpoint {
  at: number;
  ids: number[];
  state: KVState;
}

const lcp = (a: readonly number[], b: readonly number[], max: number): number => {
  let p = 0;
  while (p < max && a[p] === b[p]) p++;
  return p;
};

export class WorkspaceSession {
  readonly cache: KVCache;
  /** Token ids the cache holds (length === cache.length). */
  ids: number[] = [];
  readonly history: ChatMessage[] = [];
  ws: WorkspaceContext | undefined;
  private checkpoints: Checkpoint[] = [];
  private savedPrefix: number[] = [];
  private savedStable: number[] = [];
  /** One-line notes (persisted state loaded or rejected, rebuilds). */
  readonly notes: string[] = [];

  constructor(readonly engine: Engine, readonly o: { system?: string; store?: PrefixStore; log?: (line: string) => void } = {}) {
    this.cache = engine.createCache();
  }

  private note(s: string): void {
    this.notes.push(s);
    this.o.log?.(s);
  }

  /** Use a (new) workspace context; the cache is reconciled lazily on the next question. */
  setWorkspace(ws: WorkspaceContext | undefined): void {
    this.ws = ws;
  }

  /** Load the persisted prefix state if the store has a valid one (else note why and start empty). */
  async restore(): Promise<boolean> {
    const r = await this.o.store?.load();
    if (!r) return false;
    if (!r.ok) { this.note(`persisted KV state not used: ${r.reason}; rebuilding`); return false; }
    try {
      this.cache.importState(r.state);
    } catch (e) {
      this.note(`persisted KV state not used: ${(e as Error).message}; rebuilding`);
      this.cache.truncate(0);
      return false;
    }
    this.ids = r.ids.slice();
    this.savedPrefix = r.ids.slice();
    if (this.cache.kind !== 'full') {
      this.checkpoints = [{ at: r.ids.length, ids: r.ids.slice(), state: r.state }];
      // A cache that cannot rewind also needs the state at the last block's start for cheap edits.
      const st = await this.o.store?.load('stable');
      if (st?.ok && st.ids.length < r.ids.length && lcp(st.ids, r.ids, st.ids.length) === st.ids.length) {
        this.checkpoints.unshift({ at: st.ids.length, ids: st.ids, state: st.state });
        this.savedStable = st.ids;
      } else if (st && !st.ok) this.note(`persisted checkpoint not used: ${st.reason}`);
    }
    this.note(`loaded persisted KV state: ${r.ids.length} tokens`);
    return true;
  }

  /** Prompt ids split as [head + workspace] (the reusable prefix) and the turn's tail. */
  promptIds(question: string): { prefix: number[]; tail: number[]; lastBlockStart: number } {
    const sys = `${this.o.system ?? DEFAULT_SYSTEM}\n\n${MARK}`;
    const tok = this.engine.tokenizer;
    // Template text is parsed for control tokens, message contents are not (Tokenizer.encodeChat).
    const parts = tok.chatParts([{ role: 'system', content: sys }, ...this.history, { role: 'user', content: question }], { addGenerationPrompt: true });
    const k = parts?.findIndex((p) => !p.special && p.text.includes(MARK)) ?? -1;
    if (!parts || k < 0) throw new Error("the model's chat template drops or rewrites the system message; it cannot hold a workspace");
    const at = parts[k]!.text.indexOf(MARK);
    const before = [...parts.slice(0, k), { text: parts[k]!.text.slice(0, at), special: false }];
    const after = [{ text: parts[k]!.text.slice(at + MARK.length), special: false }, ...parts.slice(k + 1)];
    const head = tok.encodeParts(before, { addBos: false });
    const blocks = this.ws?.blocks ?? [];
    const prefix = [...head, ...blocks.flatMap((b) => b.ids)];
    const last = blocks[blocks.length - 1];
    return { prefix, tail: tok.encodeParts(after, { addBos: false }), lastBlockStart: prefix.length - (last?.ids.length ?? 0) };
  }

  /** Bring the cache to the longest prefix of `target` it can keep; returns that length and how. */
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
    const cp = this.checkpoints.filter((c) => c.at <= p && lcp(c.ids, target, c.at) === c.at).sort((a, b) => b.at - a.at)[0];
    if (cp) {
      this.cache.importState(cp.state);
      this.ids = cp.ids.slice();
      return { kept: cp.at, how: `checkpoint at ${cp.at}` };
    }
    this.cache.truncate(0);
    this.ids = [];
    this.note(`the ${this.cache.kind} cache cannot rewind to token ${p}; rebuilt from the start`);
    return { kept: 0, how: 'rebuilt' };
  }

  /** Prefill ids[from, to) into the cache without generating (one greedy sample is discarded). */
  private async prefill(target: readonly number[], to: number, signal?: AbortSignal): Promise<boolean> {
    const from = this.cache.length;
    if (to <= from) return true;
    for await (const ev of this.engine.generate(this.cache, { prompt: target.slice(from, to), maxTokens: 1, sampler: { temperature: 0 }, signal })) {
      if (ev.type === 'done' && ev.reason === 'abort') {
        this.ids = target.slice(0, this.cache.length) as number[];
        return false;
      }
    }
    this.ids = target.slice(0, to) as number[];
    return true;
  }

  async ask(question: string, o: AskOptions): Promise<AskResult> {
    const t0 = performance.now();
    let { prefix, tail, lastBlockStart } = this.promptIds(question);
    // Drop the oldest turns while the conversation and the answer do not fit after the workspace.
    while (prefix.length + tail.length + o.maxTokens >= this.engine.contextSize && this.history.length >= 2) {
      this.history.splice(0, 2);
      ({ prefix, tail, lastBlockStart } = this.promptIds(question));
    }
    const target = [...prefix, ...tail];
    if (target.length + 1 >= this.engine.contextSize) {
      throw new RangeError(`the workspace and question take ${target.length} tokens but the context holds ${this.engine.contextSize}; lower the workspace budget or raise the context size`);
    }
    const { kept, how } = this.rewind(target);
    // Compute the prefix in steps that end at the checkpoint positions (non-full caches) and at the
    // prefix end (persistence), so those states can be kept.
    const stops = [...new Set([this.cache.kind !== 'full' ? lastBlockStart : 0, prefix.length])].filter((s) => s > this.cache.length).sort((a, b) => a - b);
    for (const s of stops) {
      if (!(await this.prefill(target, s, o.signal))) throw new Error('cancelled while reading the workspace');
      if (this.cache.kind !== 'full') await this.keepCheckpoint(s, target, s === lastBlockStart && s < prefix.length);
    }
    const prefixSaved = this.savedPrefix.length === prefix.length && lcp(this.savedPrefix, prefix, prefix.length) === prefix.length;
    if (this.o.store && !prefixSaved && prefix.length > 0 && this.cache.length === prefix.length) {
      try {
        await this.o.store.save(prefix, this.cache.exportState());
      } catch (e) {
        this.note(`the KV state was not saved: ${(e as Error).message.split('\n')[0]}`);
      }
      this.savedPrefix = prefix.slice();
    }
    let ttft = 0, text = '';
    let done: { reason: string; tokens: number[]; stats: GenerateStats } | undefined;
    const from = this.cache.length;
    for await (const ev of this.engine.generate(this.cache, { prompt: target.slice(from), maxTokens: o.maxTokens, sampler: o.sampler, stop: o.stop, signal: o.signal })) {
      if (ev.type === 'token' && ttft === 0) ttft = performance.now() - t0;
      if ((ev.type === 'token' || ev.type === 'text') && ev.text) { text += ev.text; o.onText?.(ev.text); }
      if (ev.type === 'done') done = ev;
    }
    if (!done) throw new Error('generation ended without a result');
    if (ttft === 0) ttft = performance.now() - t0;
    this.ids = [...target, ...done.tokens].slice(0, this.cache.length);
    if (done.reason !== 'abort') this.history.push({ role: 'user', content: question }, { role: 'assistant', content: text.trim() });
    return { text, reason: done.reason, reused: kept, computed: target.length - kept, ttftMs: ttft, how, stats: done.stats };
  }

  private async keepCheckpoint(at: number, target: readonly number[], persist: boolean): Promise<void> {
    this.checkpoints = this.checkpoints.filter((c) => c.at < at && lcp(c.ids, target, c.at) === c.at);
    let state: KVState;
    try {
      state = this.cache.exportState();
    } catch (e) {
      // e.g. a store that cannot export yet: edits will rebuild from the start instead.
      this.note(`no checkpoint at token ${at}: ${(e as Error).message.split('\n')[0]}`);
      return;
    }
    const ids = target.slice(0, at) as number[];
    this.checkpoints.push({ at, ids, state });
    if (this.checkpoints.length > 2) this.checkpoints.shift();
    const saved = this.savedStable.length === at && lcp(this.savedStable, ids, at) === at;
    if (persist && this.o.store && !saved) {
      try {
        await this.o.store.save(ids, state, 'stable');
        this.savedStable = ids;
      } catch (e) {
        this.note(`the KV checkpoint was not saved: ${(e as Error).message.split('\n')[0]}`);
      }
    }
  }
}

/** "N tokens reused, M computed" (the line every answer reports). */
export const reuseLine = (r: Pick<AskResult, 'reused' | 'computed'>): string => `${r.reused} tokens reused, ${r.computed} computed`;
