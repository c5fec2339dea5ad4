// Attention sub-graphs, one per KV cache plan, sharing one shape convention: queries regrouped as
// qr [Hkv, G·T, D] (row g·T + t is query head h·G + g at new token t), new keys/values
// [T, Hkv, D], cached keys/values [P, Hkv, D] read in place through FusedMatMul's transBatchB.
// Every plan is "scores over cache segments → one softmax → Σ segment probabilities · values";
// the masks and split sizes that make that exact are step inputs computed by the cache object.
// This file: the full cache and the StreamingLLM baseline. attention-pod.ts: PoD (§5).
import { ElementType, InputSpec, layerOf, LayerOf, stepOf, StepOf } from '../kv/contract';
import { KVPlan } from '../kv/plan';
import { GraphBuilder, MS_DOMAIN } from './builder';
import { OnnxType } from './proto';

export interface LayerAttentionInput {
  g: GraphBuilder;
  /** The cache plan: its contract (kv/contract.ts) names and types the cache inputs. */
  plan: KVPlan;
  /** Cache and new K/V tensors are float16 (stored so; widened to f32 next to each matmul). */
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

const ONNX_TYPE: Record<ElementType, OnnxType> = {
  float32: OnnxType.FLOAT,
  float16: OnnxType.FLOAT16,
  int8: OnnxType.INT8,
  uint8: OnnxType.UINT8,
  int64: OnnxType.INT64,
};

/** Declare a contract input in the graph (once: step inputs are shared by every layer of a segment). */
export function declare(g: GraphBuilder, s: InputSpec): string {
  return g.hasInput(s.name) ? s.name : g.input(s.name, ONNX_TYPE[s.type], s.dims);
}

/** The step and layer contract of `a`'s plan, which must be of kind `kind`. */
export function contractOf<K extends KVPlan['kind']>(
  a: LayerAttentionInput,
  kind: K,
): { step: StepOf<K>; io: LayerOf<K> } {
  return { step: stepOf(a.plan, kind), io: layerOf(a.plan, kind, a.layer, a.nKVHeads, a.headDim) };
}

const toF32 = (g: GraphBuilder, t: string): string => g.op1('Cast', [t], { to: OnnxType.FLOAT });

/**
 * q · kᵀ / √D (f32) with k read as [P, H, D] in place; an f16 `k` is widened to f32 right here.
 * ONNX Runtime 1.30 has no f16 GEMM on x86 and inserts the same cast itself, but schedules such
 * a cast of a graph input freely (seen at 16K: a PoD layer's distant-key cast run before the
 * layer's query projection, and q·kᵀ over its 8 MB f32 output took 1.07 ms against 0.44 ms for
 * the same shape in the full cache, whose cast ran just before its matmul). An explicit cast is
 * ordered with the nodes built around it, so the widened rows are read while still in cache.
 */
export function scores(g: GraphBuilder, q: string, k: string, headDim: number, f16 = false): string {
  return g.op1(
    'FusedMatMul',
    [q, f16 ? toF32(g, k) : k],
    { transB: 1, transBatchB: 1, alpha: { float: 1 / Math.sqrt(headDim) } },
    { domain: MS_DOMAIN },
  );
}

/** p · v (f32) with v read as [P, H, D] in place; an f16 `v` is widened to f32 right here (see scores). */
export function weighted(g: GraphBuilder, p: string, v: string, f16 = false): string {
  return g.op1('FusedMatMul', [p, f16 ? toF32(g, v) : v], { transBatchB: 1 }, { domain: MS_DOMAIN });
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
  const { step, io } = contractOf(a, 'full');
  const pastK = declare(g, io.k);
  const pastV = declare(g, io.v);
  const q = a.qr;
  const sPast = g.op1('Add', [scores(g, q, pastK, a.headDim, a.f16), declare(g, step.maskPast)]);
  const sNew = g.op1('Add', [scores(g, q, a.kNew, a.headDim, a.f16), declare(g, step.maskNew)]);
  const probs = g.op1('Softmax', [g.op1('Concat', [sPast, sNew], { axis: 2 })], { axis: -1 });
  const [pPast, pNew] = g.op('Split', [probs, declare(g, step.split)], { axis: 2 }, { nOutputs: 2 }) as [
    string,
    string,
  ];
  return g.op1('Add', [weighted(g, pPast, pastV, a.f16), weighted(g, pNew, a.vNew, a.f16)]);
}

/**
 * StreamingLLM baseline: attend to the sinks + recent ring and the new tokens only; distant
 * tokens are gone. Step inputs as for PoD (attention-pod.ts): mask_prox_a, split_a.
 */
export function streamingAttention(a: LayerAttentionInput): string {
  const { g } = a;
  const { step, io } = contractOf(a, 'streaming');
  const kp = declare(g, io.kp);
  const vp = declare(g, io.vp);
  const q = a.qr;
  const s = g.op1('Add', [
    g.op1('Concat', [scores(g, q, kp, a.headDim, a.f16), scores(g, q, a.kNew, a.headDim, a.f16)], { axis: 2 }),
    declare(g, step.maskProxA),
  ]);
  const [pp, pn] = g.op(
    'Split',
    [g.op1('Softmax', [s], { axis: -1 }), declare(g, step.splitA)],
    { axis: 2 },
    { nOutputs: 2 },
  ) as [string, string];
  return g.op1('Add', [weighted(g, pp, vp, a.f16), weighted(g, pn, a.vNew, a.f16)]);
}
