// Attention sub-graphs, one per KV cache plan, sharing one shape convention: queries regrouped as
// qr [Hkv, G·T, D] (row g·T + t is query head h·G + g at new token t), new keys/values
// [T, Hkv, D], cached keys/values [P, Hkv, D] read in place through FusedMatMul's transBatchB.
// Every plan is "scores over cache segments → one softmax → Σ segment probabilities · values";
// the masks and split sizes that make that exact are step inputs computed by the cache object.
// This file: the full cache and the StreamingLLM baseline. attention-pod.ts: PoD (§5).
import { GraphBuilder, MS_DOMAIN } from './builder';
import { OnnxType } from './proto';

export interface LayerAttentionInput {
  g: GraphBuilder;
  layer: number;
  nKVHeads: number;
  headDim: number;
  /** [Hkv, G·T, D] */
  qr: string;
  /** [T, Hkv, D] */
  kNew: string;
  /** [T, Hkv, D] */
  vNew: string;
}

/** Names of the per-layer cache inputs. */
export const cacheInputNames = (l: number) => ({
  k: `past_k_${l}`, v: `past_v_${l}`, // full cache
  kp: `prox_k_${l}`, vp: `prox_v_${l}`, // PoD / streaming: sinks + recent ring
  kd: `dist_k_${l}`, vd: `dist_v_${l}`, // PoD: distant tokens (keys: anchor heads only)
});

/** q · kᵀ / √D with k read as [P, H, D] in place. */
export function scores(g: GraphBuilder, q: string, k: string, headDim: number): string {
  return g.op1('FusedMatMul', [q, k], { transB: 1, transBatchB: 1, alpha: { float: 1 / Math.sqrt(headDim) } }, { domain: MS_DOMAIN });
}

/** p · v with v read as [P, H, D] in place. */
export function weighted(g: GraphBuilder, p: string, v: string): string {
  return g.op1('FusedMatMul', [p, v], { transBatchB: 1 }, { domain: MS_DOMAIN });
}

/**
 * Full cache. Step inputs: mask_past [1, P] (0, or −inf for the one dummy slot fed when the cache
 * is empty — ORT's MatMul kernels fault on zero-sized inputs), mask_new [G·T, T] (causal),
 * split_sizes [P, T].
 */
export function fullAttention(a: LayerAttentionInput): string {
  const { g } = a;
  const n = cacheInputNames(a.layer);
  const pastK = g.input(n.k, OnnxType.FLOAT, ['P', a.nKVHeads, a.headDim]);
  const pastV = g.input(n.v, OnnxType.FLOAT, ['P', a.nKVHeads, a.headDim]);
  const sPast = g.op1('Add', [scores(g, a.qr, pastK, a.headDim), stepInput(g, 'mask_past', [1, 'P'])]);
  const sNew = g.op1('Add', [scores(g, a.qr, a.kNew, a.headDim), stepInput(g, 'mask_new', ['GT', 'T'])]);
  const probs = g.op1('Softmax', [g.op1('Concat', [sPast, sNew], { axis: 2 })], { axis: -1 });
  const [pPast, pNew] = g.op('Split', [probs, stepInput(g, 'split_sizes', [2], OnnxType.INT64)], { axis: 2 }, { nOutputs: 2 }) as [string, string];
  return g.op1('Add', [weighted(g, pPast, pastV), weighted(g, pNew, a.vNew)]);
}

/**
 * StreamingLLM baseline: attend to the sinks + recent ring and the new tokens only; distant
 * tokens are gone. Step inputs as for PoD (attention-pod.ts): mask_prox_a, split_a.
 */
export function streamingAttention(a: LayerAttentionInput): string {
  const { g } = a;
  const n = cacheInputNames(a.layer);
  const kp = g.input(n.kp, OnnxType.FLOAT, ['P1', a.nKVHeads, a.headDim]);
  const vp = g.input(n.vp, OnnxType.FLOAT, ['P1', a.nKVHeads, a.headDim]);
  const s = g.op1('Add', [g.op1('Concat', [scores(g, a.qr, kp, a.headDim), scores(g, a.qr, a.kNew, a.headDim)], { axis: 2 }), stepInput(g, 'mask_prox_a', ['GT', 'XA'])]);
  const [pp, pn] = g.op('Split', [g.op1('Softmax', [s], { axis: -1 }), stepInput(g, 'split_a', [2], OnnxType.INT64)], { axis: 2 }, { nOutputs: 2 }) as [string, string];
  return g.op1('Add', [weighted(g, pp, vp), weighted(g, pn, a.vNew)]);
}

/** A graph input shared by all layers of a step (declared once per graph). */
export function stepInput(g: GraphBuilder, name: string, shape: readonly (number | string)[], type = OnnxType.FLOAT): string {
  if (!g.hasInput(name)) g.input(name, type, shape);
  return name;
}
