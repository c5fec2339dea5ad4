// The one declared contract between a KV plan's attention graph and its cache: the name, element
// type and shape of every cache input, per step (masks, split sizes) and per layer (stored keys
// and values). The graph builders declare their inputs from it (onnx/attention.ts,
// onnx/attention-pod.ts), the caches key their feeds by it (full.ts, streaming.ts, pod.ts,
// distant.ts), and the decoder checks both against ONNX Runtime's input names: once per session
// at load, and a cache's feeds before its first step (decoder.ts; they depend only on the plan) — a mismatch is a clear error, not a failed run.
import { anchorHeads, hasMembers, KVPlan, planDtype, valueHeads } from './plan';

export type ElementType = 'float32' | 'float16' | 'int8' | 'uint8' | 'int64';

export interface InputSpec {
  readonly name: string;
  readonly type: ElementType;
  /** Numbers are fixed; strings are symbolic (P past tokens, T new tokens, GT = G·T query rows, …). */
  readonly dims: readonly (number | string)[];
}

/** A distant store input: the rows as stored, plus per-(token, head) scales when they are quantized (int4: two per byte). */
export interface DistantInput {
  readonly data: InputSpec;
  readonly scale?: InputSpec;
}

export type StepContract =
  | { readonly kind: 'full'; readonly maskPast: InputSpec; readonly maskNew: InputSpec; readonly split: InputSpec }
  | { readonly kind: 'streaming'; readonly maskProxA: InputSpec; readonly splitA: InputSpec }
  | {
      readonly kind: 'pod';
      readonly maskProxA: InputSpec;
      readonly splitA: InputSpec;
      readonly maskFullB: InputSpec;
      /** Only when some unit is a member of a block (plan.hasMembers): D(i) over the anchor's logits. */
      readonly maskDistB?: InputSpec;
      readonly splitB: InputSpec;
    };

export type LayerContract =
  | { readonly kind: 'full'; readonly k: InputSpec; readonly v: InputSpec }
  | { readonly kind: 'streaming'; readonly kp: InputSpec; readonly vp: InputSpec }
  /** kd: keys of the layer's anchor heads (absent when it has none); vd: values of its non-local heads (absent when all are local). */
  | {
      readonly kind: 'pod';
      readonly kp: InputSpec;
      readonly vp: InputSpec;
      readonly kd?: DistantInput;
      readonly vd?: DistantInput;
    };

/** The inputs every decoder segment has besides the cache's (decoder-graph.ts). */
export const MODEL_INPUTS = { hidden: 'hidden_in', positions: 'position_ids', logitRows: 'logit_idx' } as const;

const spec = (name: string, type: ElementType, dims: readonly (number | string)[]): InputSpec => ({ name, type, dims });
const mask = (name: string, cols: string): InputSpec => spec(name, 'float32', ['GT', cols]);

export function stepContract(plan: KVPlan): StepContract {
  switch (plan.kind) {
    case 'full':
      return {
        kind: 'full',
        maskPast: spec('mask_past', 'float32', [1, 'P']),
        maskNew: mask('mask_new', 'T'),
        split: spec('split_sizes', 'int64', [2]),
      };
    case 'streaming':
      return { kind: 'streaming', maskProxA: mask('mask_prox_a', 'XA'), splitA: spec('split_a', 'int64', [2]) };
    case 'pod':
      return {
        kind: 'pod',
        maskProxA: mask('mask_prox_a', 'XA'),
        splitA: spec('split_a', 'int64', [2]),
        maskFullB: mask('mask_full_b', 'XB'),
        ...(hasMembers(plan) ? { maskDistB: mask('mask_dist_b', 'XB') } : {}),
        splitB: spec('split_b', 'int64', [3]),
      };
  }
}

export function layerContract(plan: KVPlan, layer: number, nKVHeads: number, headDim: number): LayerContract {
  const t: ElementType = planDtype(plan) === 'f16' ? 'float16' : 'float32';
  const kv = (name: string, rows: string, heads = nKVHeads): InputSpec =>
    spec(`${name}_${layer}`, t, [rows, heads, headDim]);
  switch (plan.kind) {
    case 'full':
      return { kind: 'full', k: kv('past_k', 'P'), v: kv('past_v', 'P') };
    case 'streaming':
      return { kind: 'streaming', kp: kv('prox_k', 'P1'), vp: kv('prox_v', 'P1') };
    case 'pod': {
      const distant = (name: string, heads: number): DistantInput | undefined => {
        if (heads === 0) return undefined;
        const scale = spec(`${name}_scale_${layer}`, 'float32', ['ND', heads, 1]);
        switch (plan.distantQuant) {
          case undefined:
            return { data: kv(name, 'ND', heads) };
          case 'int8':
            return { data: spec(`${name}_${layer}`, 'int8', ['ND', heads, headDim]), scale };
          case 'int4':
            return { data: spec(`${name}_${layer}`, 'uint8', ['ND', heads, headDim / 2]), scale };
        }
      };
      const kd = distant('dist_k', anchorHeads(plan, layer).length),
        vd = distant('dist_v', valueHeads(plan, layer).length);
      return {
        kind: 'pod',
        kp: kv('prox_k', 'P1'),
        vp: kv('prox_v', 'P1'),
        ...(kd ? { kd } : {}),
        ...(vd ? { vd } : {}),
      };
    }
  }
}

export type StepOf<K extends KVPlan['kind']> = Extract<StepContract, { kind: K }>;
export type LayerOf<K extends KVPlan['kind']> = Extract<LayerContract, { kind: K }>;

/** A plan's step contract and its layers' contracts, checked to be of kind `kind` (for the cache and graph of that kind). */
export function contractFor<K extends KVPlan['kind']>(
  plan: KVPlan,
  kind: K,
  c: { nLayers: number; nKVHeads: number; headDim: number },
): { step: StepOf<K>; layers: LayerOf<K>[] } {
  return {
    step: stepOf(plan, kind),
    layers: Array.from({ length: c.nLayers }, (_, l) => layerOf(plan, kind, l, c.nKVHeads, c.headDim)),
  };
}

/** The step contract of a plan of kind `kind`. */
export function stepOf<K extends KVPlan['kind']>(plan: KVPlan, kind: K): StepOf<K> {
  if (plan.kind !== kind) throw new Error(`a ${kind} cache or graph was given a ${plan.kind} plan`);
  return stepContract(plan) as StepOf<K>;
}

/** One layer's contract of a plan of kind `kind`. */
export function layerOf<K extends KVPlan['kind']>(
  plan: KVPlan,
  kind: K,
  layer: number,
  nKVHeads: number,
  headDim: number,
): LayerOf<K> {
  if (plan.kind !== kind) throw new Error(`a ${kind} cache or graph was given a ${plan.kind} plan`);
  return layerContract(plan, layer, nKVHeads, headDim) as LayerOf<K>;
}

/** Every spec of a step or layer contract, in declaration order. */
export function specsOf(c: StepContract | LayerContract): InputSpec[] {
  const out: InputSpec[] = [];
  for (const [key, v] of Object.entries(c)) {
    if (key === 'kind' || v === undefined) continue;
    if ('name' in v) out.push(v as InputSpec);
    else {
      const d = v as DistantInput;
      out.push(d.data, ...(d.scale ? [d.scale] : []));
    }
  }
  return out;
}

/** The input names a segment of layers [first, end) must have (the last segment also takes the logit rows). */
export function segmentInputNames(
  plan: KVPlan,
  first: number,
  end: number,
  nLayers: number,
  nKVHeads: number,
  headDim: number,
): string[] {
  const names: string[] = [
    MODEL_INPUTS.hidden,
    MODEL_INPUTS.positions,
    ...specsOf(stepContract(plan)).map((s) => s.name),
  ];
  for (let l = first; l < end; l++)
    names.push(...specsOf(layerContract(plan, l, nKVHeads, headDim)).map((s) => s.name));
  if (end === nLayers) names.push(MODEL_INPUTS.logitRows);
  return names;
}

/** Thrown when a graph's inputs or a step's feeds are not what the plan's contract declares. */
export class CacheContractError extends Error {
  override readonly name = 'CacheContractError';
}

/**
 * Compare actual input names (a session's, or one step's feeds) with the declared ones; throws
 * CacheContractError naming what is missing and what is unexpected.
 */
export function checkInputNames(what: string, actual: Iterable<string>, declared: readonly string[]): void {
  const have = new Set(actual),
    want = new Set(declared);
  const missing = declared.filter((n) => !have.has(n));
  const extra = [...have].filter((n) => !want.has(n));
  if (missing.length === 0 && extra.length === 0) return;
  const list = (xs: string[]): string =>
    xs.length > 6 ? `${xs.slice(0, 6).join(', ')} … (${xs.length})` : xs.join(', ');
  throw new CacheContractError(
    `${what} does not match the KV cache contract (kv/contract.ts)` +
      `${missing.length > 0 ? `; missing: ${list(missing)}` : ''}${extra.length > 0 ? `; not declared: ${list(extra)}` : ''}` +
      '. The graph and the cache were built for different plans: this is a PodLens bug; please report it with the cache settings.',
  );
}
