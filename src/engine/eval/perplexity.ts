// Perplexity of a model + KV cache over one text, fed in ONE pass of chunked prefill (so PoD's
// and streaming's distant-token handling is exercised exactly as in generation). Scoring window:
// token p is scored (−log P(t_p | t_<p)) for every p in [minContext, n), so each scored token sees
// at least minContext (default 256) and at most n − 1 < context-size tokens. Not for sampling or
// generation (generate.ts).
import { OnnxDecoder } from '../decoder';
import { KVCache } from '../kv/types';

export const DEFAULT_MIN_CONTEXT = 256;

export interface PerplexityResult {
  tokens: number;
  /** First scored position; positions [scoredFrom, tokens) are scored. */
  scoredFrom: number;
  scored: number;
  meanNll: number;
  perplexity: number;
  seconds: number;
  tokensPerSecond: number;
}

/** −log softmax(logits)[target], natural log, float64 (max-subtracted). */
export function nll(logits: Float32Array, offset: number, vocab: number, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[offset + i]! > max) max = logits[offset + i]!;
  let z = 0;
  for (let i = 0; i < vocab; i++) z += Math.exp(logits[offset + i]! - max);
  return Math.log(z) + max - logits[offset + target]!;
}

/** exp(mean NLL) of targets[p] for p ≥ minContext given per-position logits rows (row p−1 predicts p): the oracle form. */
export function perplexityFromLogits(
  rows: readonly Float32Array[],
  ids: readonly number[],
  minContext: number,
): { meanNll: number; perplexity: number; scored: number } {
  let s = 0,
    n = 0;
  for (let p = Math.max(1, minContext); p < ids.length; p++) {
    s += nll(rows[p - 1]!, 0, rows[p - 1]!.length, ids[p]!);
    n++;
  }
  return { meanNll: s / n, perplexity: Math.exp(s / n), scored: n };
}

export async function perplexity(
  dec: OnnxDecoder,
  cache: KVCache,
  ids: readonly number[],
  o: { minContext?: number; chunk?: number; signal?: AbortSignal } = {},
): Promise<PerplexityResult> {
  const minContext = Math.max(1, o.minContext ?? DEFAULT_MIN_CONTEXT);
  const chunk = o.chunk ?? 256;
  const n = ids.length;
  if (cache.length !== 0) throw new Error('perplexity needs an empty cache');
  if (n <= minContext)
    throw new RangeError(
      `the text has ${n} tokens; perplexity scores tokens after the first ${minContext}, so it needs more`,
    );
  const V = dec.config.vocabSize;
  let s = 0,
    scored = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i += chunk) {
    if (o.signal?.aborted) throw new Error('aborted');
    const part = ids.slice(i, i + chunk);
    // row r predicts position i + r + 1; keep rows whose target is in [minContext, n)
    const rows: number[] = [];
    for (let r = 0; r < part.length; r++) if (i + r + 1 >= minContext && i + r + 1 < n) rows.push(r);
    const logits = await dec.step(part, cache, rows.length ? rows : [part.length - 1]);
    rows.forEach((r, k) => {
      s += nll(logits, k * V, V, ids[i + r + 1]!);
      scored++;
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    tokens: n,
    scoredFrom: minContext,
    scored,
    meanNll: s / scored,
    perplexity: Math.exp(s / scored),
    seconds,
    tokensPerSecond: n / seconds,
  };
}
