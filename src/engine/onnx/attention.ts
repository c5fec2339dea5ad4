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
  /** Cache and new K/V tensors are float16 (matmuls run in f16, scores and softmax in f32). */
  f16: boolean;
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
  kdScale: `dist_k_scale_${l}`, vdScale: `dist_v_scale_${l}`, // PoD int8 distant store
});

const toF16 = (g: GraphBuilder, t: string): string => g.op1('Cast', [t], { to: OnnxType.FLOAT16 });
const toF32 = (g: GraphBuilder, t: string): string => g.op1('Cast', [t], { to: OnnxType.FLOAT });

/** q · kᵀ / √D (f32 result) with k read as [P, H, D] in place; `q16` is q already cast when k is f16. */
export function scores(g: GraphBuilder, q: string, k: string, headDim: number, f16 = false): string {
  const s = g.op1('FusedMatMul', [q, k], { transB: 1, transBatchB: 1, alpha: { float: 1 / Math.sqrt(headDim) } }, { domain: MS_DOMAIN });
  return f16 ? toF32(g, s) : s;
}

/** p · v (f32 result) with v read as [P, H, D] in place; p is cast to f16 when v is. */
export function weighted(g: GraphBuilder, p: string, v: string, f16 = false): string {
  const o = g.op1('FusedMatMul', [f16 ? toF16(g, p) : p, v], { transBatchB: 1 }, { domain: MS_DOMAIN });
  return f16 ? toF32(g, o) : o;
}

/** The query tensor to use against the cache's keys (cast once per layer when they are f16). */
export function cacheQuery(a: LayerAttentionInput): string {
  return a.f16 ? toF16(a.g, a.qr) : a.qr;
}

export function kvType(a: LayerAttentionInput): OnnxType {
  return a.f16 ? OnnxType.FLOAT16 : OnnxType.FLOAT;
}

/**
 * Full cache. Step inputs: mask_past [1, P] (0, or −inf for the one dummy slot fed when the cache
 * is empty — ORT's MatMul kernels fault on zero-sized inputs), mask_new [G·T, T] (causal),
 * split_sizes [P, T].
 */
export function fullAttention(a: LayerAttentionInput): string {
  const { g } = a;
  const n = cacheInputNames(a.layer);
  const pastK = g.input(n.k, kvType(a), ['P', a.nKVHeads, a.headDim]);
  const pastV = g.input(n.v, kvType(a), ['P', a.nKVHeads, a.headDim]);
  const q = cacheQuery(a);
  const sPast = g.op1('Add', [scores(g, q, pastK, a.headDim, a.f16), stepInput(g, 'mask_past', [1, 'P'])]);
  const sNew = g.op1('Add', [scores(g, q, a.kNew, a.headDim, a.f16), stepInput(g, 'mask_new', ['GT', 'T'])]);
  const probs = g.op1('Softmax', [g.op1('Concat', [sPast, sNew], { axis: 2 })], { axis: -1 });
  const [pPast, pNew] = g.op('Split', [probs, stepInput(g, 'split_sizes', [2], OnnxType.INT64)], { axis: 2 }, { nOutputs: 2 }) as [string, string];
  return g.op1('Add', [weighted(g, pPast, pastV, a.f16), weighted(g, pNew, a.vNew, a.f16)]);
}

/**
 * StreamingLLM baseline: attend to the sinks + recent ring and the new tokens only; distant
 * tokens are gone. Step inputs as for PoD (attention-pod.ts): mask_prox_a, split_a.
 */
export function streamingAttention(a: LayerAttentionInput): string {
  const { g } = a;
  const n = cacheInputNames(a.layer);
  const kp = g.input(n.kp, kvType(a), ['P1', a.nKVHeads, a.headDim]);
  const vp = g.input(n.vp, kvType(a), ['P1', a.nKVHeads, a.headDim]);
  const q = cacheQuery(a);
  const s = g.op1('Add', [g.op1('Concat', [scores(g, q, kp, a.headDim, a.f16), scores(g, q, a.kNew, a.headDim, a.f16)], { axis: 2 }), stepInput(g, 'mask_prox_a', ['GT', 'XA'])]);
  const [pp, pn] = g.op('Split', [g.op1('Softmax', [s], { axis: -1 }), stepInput(g, 'split_a', [2], OnnxType.INT64)], { axis: 2 }, { nOutputs: 2 }) as [string, string];
  return g.op1('Add', [weighted(g, pp, vp, a.f16), weighted(g, pn, a.vNew, a.f16)]);
}

/** A graph input shared by all layers of a step (declared once per graph). */
export function stepInput(g: GraphBuilder, name: string, shape: readonly (number | string)[], type = OnnxType.FLOAT): string {
  if (!g.hasInput(name)) g.input(name, type, shape);
  return name;
}
