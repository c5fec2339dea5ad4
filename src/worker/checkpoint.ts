// A chat session's checkpoint for KV caches that cannot rewind (PoD, streaming: once tokens left
// the recent window, truncate() cannot take them back). The session keeps the cache state at the
// end of the leading system message — the chat's system prompt and workspace context, the part
// every turn shares — so a follow-up or a regenerated answer whose tail changed restores it and
// computes only the conversation, instead of reading the whole prompt again. A full cache
// always rewinds and needs none. Used by sessions.ts; no messages, no threads.
import { Engine } from '../engine/engine';
import { GenerateEvent, GenerateStats } from '../engine/generate';
import { KVCache } from '../engine/kv/types';
import { KVState } from '../engine/kv/state';
import { ChatMessage } from '../engine/tokenizer';

export interface Checkpoint {
  ids: number[];
  state: KVState;
}

/** Prompt tokens of the leading system message (0 when there is none or nothing follows it). */
export function systemEnd(engine: Engine, messages: readonly ChatMessage[], ids: readonly number[]): number {
  const first = messages[0];
  if (first?.role !== 'system' || messages.length < 2) return 0;
  const sys = engine.tokenizer.encodeChat([first], { addGenerationPrompt: false });
  let k = 0;
  while (k < sys.length && k < ids.length - 1 && sys[k] === ids[k]) k++;
  return k;
}

/** The checkpoint's tokens are a prefix of `ids` no longer than `p`. */
export const fits = (c: Checkpoint | undefined, ids: readonly number[], p: number): c is Checkpoint =>
  c !== undefined && c.ids.length <= p && c.ids.every((t, i) => ids[i] === t);

/**
 * Read ids[cache.length, to) into the cache (no answer: the one sampled token is discarded),
 * yielding its prefill events as part of the whole prompt's (`total` tokens to compute from
 * `base`), then keep the state as the checkpoint (if the cache can export it; else `noState`
 * hears why).
 */
export async function* prefillCheckpoint(engine: Engine, cache: KVCache, ids: readonly number[], to: number,
  progress: { base: number; total: number }, signal: AbortSignal, keep: (c: Checkpoint) => void,
  noState?: (why: string) => void): AsyncGenerator<GenerateEvent> {
  const from = cache.length;
  for await (const ev of engine.generate(cache, { prompt: ids.slice(from, to), maxTokens: 1, sampler: { temperature: 0 }, signal })) {
    if (ev.type === 'prefill') yield { ...ev, done: from - progress.base + ev.done, total: progress.total };
  }
  if (cache.length !== to) return; // stopped midway
  try {
    keep({ ids: ids.slice(0, to), state: cache.exportState() });
  } catch (e) {
    // e.g. out of memory for the copy: no checkpoint, the prompt is read again
    noState?.(e instanceof Error ? e.message.split('\n')[0]! : String(e));
  }
}

/** Stats of the answer as one prompt: the checkpoint's tokens were computed, not reused. */
export function withCheckpointCost(s: GenerateStats, tokens: number, ms: number): GenerateStats {
  const promptTokens = s.promptTokens + tokens;
  const prefillMs = s.prefillMs + ms;
  return {
    ...s, promptTokens, reusedTokens: s.reusedTokens - tokens, ttftMs: s.ttftMs + ms, prefillMs,
    prefillTokensPerSecond: prefillMs > 0 ? (promptTokens / prefillMs) * 1000 : 0, totalMs: s.totalMs + ms,
  };
}
