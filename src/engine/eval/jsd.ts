// Attention-distribution math for PoD calibration (pod-method.md §6 steps 2–3): a query's
// attention over the DISTANT tokens D(i) = {S … i−R} (softmax of q·k/√d restricted to D(i), i.e.
// renormalised), and base-2 Jensen–Shannon divergence between two such distributions.
// Exact float64 accumulation over Float32Array inputs; no model, no I/O. Not for the attention
// the engine runs (that is the ONNX graph, onnx/attention-pod.ts).

/**
 * Base-2 Jensen–Shannon divergence of two distributions over the same n outcomes (each sums to 1):
 * JSD₂(p, q) = ½ KL₂(p‖m) + ½ KL₂(q‖m), m = (p + q)/2; in [0, 1] (clamped against rounding).
 */
export function jsd2(p: ArrayLike<number>, q: ArrayLike<number>, n = p.length, po = 0, qo = 0): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const a = p[po + i]!,
      b = q[qo + i]!;
    const m = a + b; // 2·m
    if (a > 0) s += a * Math.log2((2 * a) / m);
    if (b > 0) s += b * Math.log2((2 * b) / m);
  }
  const d = s / 2;
  return d < 0 ? 0 : d > 1 ? 1 : d;
}

/** Similarity used for blocks: 1 − JSD₂ (1 = identical distributions, 0 = disjoint supports). */
export const similarity = (p: ArrayLike<number>, q: ArrayLike<number>, n = p.length, po = 0, qo = 0): number =>
  1 - jsd2(p, q, n, po, qo);

/** Σ p log₂ p over p[po … po+n) (0 log 0 = 0): the per-distribution half of jsd2Fast. */
export function negEntropy2(p: Float64Array, n: number, po = 0): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const a = p[po + i]!;
    if (a > 0) s += a * Math.log2(a);
  }
  return s;
}

/**
 * jsd2 with the p log p terms precomputed (one log per element instead of two):
 * JSD₂ = ½ [Σ p log p + Σ q log q − Σ (p+q) log₂((p+q)/2)], same value up to float rounding.
 */
export function jsd2Fast(
  p: Float64Array,
  q: Float64Array,
  n: number,
  po: number,
  qo: number,
  negEntP: number,
  negEntQ: number,
): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const m = p[po + i]! + q[qo + i]!;
    if (m > 0) s += m * (Math.log2(m) - 1);
  }
  const d = (negEntP + negEntQ - s) / 2;
  return d < 0 ? 0 : d > 1 ? 1 : d;
}

/** Distant token range of query position i (0-based, causal): D(i) = [S, i−R], as [from, to) — empty when to ≤ from. */
export function distantRange(i: number, sinks: number, recent: number): { from: number; to: number } {
  return { from: sinks, to: Math.max(sinks, i - recent + 1) };
}

/**
 * Softmax of q·k_j/√d over j ∈ [from, to), written to out[oo … oo+(to−from)).
 * q: one query row (offset qo, length d); keys: [tokens, Hkv, d] rows, KV head h.
 * The distribution is renormalised over the range (pod-method.md §6 step 2). Returns the logits'
 * natural log-sum-exp over the range (the calibrated distant bias compares these across layers).
 */
export function distantAttention(
  q: Float32Array,
  qo: number,
  keys: Float32Array,
  nKVHeads: number,
  h: number,
  d: number,
  from: number,
  to: number,
  out: Float64Array,
  oo = 0,
): number {
  const scale = 1 / Math.sqrt(d);
  const row = nKVHeads * d;
  let max = -Infinity;
  for (let j = from; j < to; j++) {
    const ko = j * row + h * d;
    let s = 0;
    for (let x = 0; x < d; x++) s += q[qo + x]! * keys[ko + x]!;
    s *= scale;
    out[oo + j - from] = s;
    if (s > max) max = s;
  }
  let z = 0;
  for (let j = 0; j < to - from; j++) {
    const e = Math.exp(out[oo + j]! - max);
    out[oo + j] = e;
    z += e;
  }
  for (let j = 0; j < to - from; j++) out[oo + j] = out[oo + j]! / z;
  return max + Math.log(z);
}
