// Which KV cache a decoder is built for, and the PoD block structure (pod-method.md §2–§4, docs/pod-qwen.md §2):
// S sink tokens + a ring of the R most recent tokens keep full keys and values in every
// (layer, KV head) unit; for distant tokens only block anchors keep keys. `anchors[l][h]` is the
// anchor layer of KV head h's block containing layer l (= l for an anchor unit), or LOCAL (−1):
// a unit whose measured distant contribution is negligible keeps no distant keys or values (its
// heads attend to proximal tokens only; every distant token stays attendable in the other units).
// The ONNX graph is built for one plan, so the plan is fixed when a model is loaded.
import { ModelConfig } from '../model/config';
import { KVDtype } from './dtype';

export type ShareMode = 'scores' | 'keys';

/**
 * Low-bit storage of PoD's distant keys and values (beyond the paper; stacks with sharing and
 * local units), each (token, head) row with its own scale: int8 (absmax/127), or int4 (absmax/7,
 * two per byte) after a Hadamard rotation of the row that spreads outlier channels (kv/distant.ts).
 * Absent: stored as the cache's dtype.
 */
export type DistantQuant = 'int8' | 'int4';
export const DISTANT_QUANTS: readonly DistantQuant[] = ['int8', 'int4'];

/** `dtype` is the storage type of K and V (default f32). */
export type KVPlan =
  | { readonly kind: 'full'; readonly dtype?: KVDtype }
  | { readonly kind: 'streaming'; readonly sinks: number; readonly recent: number; readonly dtype?: KVDtype }
  | {
      readonly kind: 'pod';
      readonly sinks: number;
      readonly recent: number;
      readonly anchors: readonly (readonly number[])[];
      readonly mode: ShareMode;
      readonly dtype?: KVDtype;
      /** Distant keys/values in low-bit storage (absent: the cache's dtype). */
      readonly distantQuant?: DistantQuant;
      /**
       * Calibrated distant bias (beyond the paper, see docs/pod-report.md): distantBias[l][hq] is a
       * logit offset added to every shared distant logit of query head hq in non-anchor layer l
       * (0 in anchor units) so that, on calibration data, the shared distant logits have the same
       * mean log-sum-exp as the layer's own — the distant attention mass matches the full model's.
       * Within D(i) the distribution is unchanged (a constant shift), so §5 is otherwise exact.
       */
      readonly distantBias?: readonly (readonly number[])[];
    };

/** anchors[l][h] of a local unit: no distant keys or values (docs/pod-qwen.md §2). */
export const LOCAL = -1;

export const planDtype = (p: KVPlan): KVDtype => p.dtype ?? 'f32';

/** Uniform blocks: layers [0,g), [g,2g), … for every KV head (the calibration-free special case). */
export function uniformAnchors(nLayers: number, nKVHeads: number, groupSize: number): number[][] {
  if (!Number.isInteger(groupSize) || groupSize < 1)
    throw new RangeError(`group size must be a positive integer (got ${groupSize})`);
  return Array.from({ length: nLayers }, (_, l) => Array.from({ length: nKVHeads }, () => l - (l % groupSize)));
}

/**
 * Throws unless the plan fits the model: anchors[l][h] ≤ l or LOCAL, anchors are anchors, and a
 * block's layers are consecutive except for local units inside it (they hold no distant keys).
 */
export function validatePlan(plan: KVPlan, c: ModelConfig): void {
  if (plan.kind === 'full') return;
  if (!Number.isInteger(plan.sinks) || plan.sinks < 0)
    throw new RangeError(`sinks must be an integer ≥ 0 (got ${plan.sinks})`);
  if (!Number.isInteger(plan.recent) || plan.recent < 1)
    throw new RangeError(`recent window must be an integer ≥ 1 (got ${plan.recent})`);
  if (plan.kind === 'streaming') return;
  const a = plan.anchors;
  if (a.length !== c.nLayers || a.some((row) => row.length !== c.nKVHeads)) {
    throw new RangeError(`PoD blocks must be ${c.nLayers} layers × ${c.nKVHeads} KV heads`);
  }
  for (let h = 0; h < c.nKVHeads; h++) {
    for (let l = 0; l < c.nLayers; l++) {
      const why = blockViolation(a, l, h);
      if (why) throw new RangeError(`layer ${l} head ${h}: ${why}`);
    }
  }
  const q = plan.distantQuant;
  if (q !== undefined && !DISTANT_QUANTS.includes(q))
    throw new RangeError(`distant storage must be ${DISTANT_QUANTS.join(' or ')} (got ${String(q)})`);
  if (q === 'int4' && (c.headDim & (c.headDim - 1)) !== 0) {
    throw new RangeError(
      `int4 distant storage rotates rows by a Hadamard matrix and needs a power-of-two head size; this model's is ${c.headDim} (use int8)`,
    );
  }
  const b = plan.distantBias;
  if (
    b &&
    (b.length !== c.nLayers || b.some((row) => row.length !== c.nHeads || row.some((x) => !Number.isFinite(x))))
  ) {
    throw new RangeError(`PoD distant bias must be ${c.nLayers} layers × ${c.nHeads} query heads of finite numbers`);
  }
}

/**
 * Why unit (l, h) breaks the block rule, or undefined: its anchor is ≤ l (or LOCAL), is an anchor
 * itself, and the block's layers are consecutive, local units aside (they hold no distant keys).
 * The one statement of the rule, for plans (validatePlan) and profile files (parseProfile).
 */
export function blockViolation(a: readonly (readonly number[])[], l: number, h: number): string | undefined {
  const anc = a[l]![h]!;
  if (anc === LOCAL) return undefined;
  if (!Number.isInteger(anc) || anc < 0 || anc > l) return `anchor ${anc} must be in [0, ${l}] or ${LOCAL} (local)`;
  if (a[anc]![h] !== anc) return `anchor layer ${anc} is not an anchor itself`;
  let below = l - 1;
  while (anc !== l && below > anc && a[below]![h] === LOCAL) below--;
  if (anc !== l && a[below]![h] !== anc) return 'blocks must be consecutive layers (local units aside)';
  return undefined;
}

/** Offset of the shared distant logits of query head hq in layer l (0 for anchors and without a bias). */
export function distantBiasOf(
  plan: Extract<KVPlan, { kind: 'pod' }>,
  l: number,
  hq: number,
  groupSize: number,
): number {
  if (plan.anchors[l]![Math.floor(hq / groupSize)] === l) return 0;
  return plan.distantBias?.[l]?.[hq] ?? 0;
}

/** KV heads of `layer` that keep distant values (every unit but local ones), ascending. */
export function valueHeads(plan: Extract<KVPlan, { kind: 'pod' }>, layer: number): number[] {
  return plan.anchors[layer]!.flatMap((a, h) => (a === LOCAL ? [] : [h]));
}

/** KV heads for which `layer` is an anchor (they keep distant keys), ascending. */
export function anchorHeads(plan: Extract<KVPlan, { kind: 'pod' }>, layer: number): number[] {
  return plan.anchors[layer]!.flatMap((a, h) => (a === layer ? [h] : []));
}

/** Whether some unit reads its distant part through another layer (a member of a block: not local, not its own anchor). */
export function hasMembers(plan: Extract<KVPlan, { kind: 'pod' }>): boolean {
  return plan.anchors.some((row, l) => row.some((a) => a !== l && a !== LOCAL));
}

/** Share of non-anchor (layer, KV head) units, local ones included: ρ in pod-method.md §4. */
export function nonAnchorShare(anchors: readonly (readonly number[])[]): number {
  let n = 0,
    total = 0;
  anchors.forEach((row, l) =>
    row.forEach((a) => {
      total++;
      if (a !== l) n++;
    }),
  );
  return total === 0 ? 0 : n / total;
}

/** Share of local (layer, KV head) units (docs/pod-qwen.md §2). */
export function localShare(anchors: readonly (readonly number[])[]): number {
  const all = anchors.flat();
  return all.length === 0 ? 0 : all.filter((a) => a === LOCAL).length / all.length;
}

/** '31% shared-key units, 40% local units' (the local part only when there are some). */
export function describeUnits(anchors: readonly (readonly number[])[]): string {
  const local = localShare(anchors),
    shared = nonAnchorShare(anchors) - local;
  const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
  return `${pct(shared)} shared-key units${local > 0 ? `, ${pct(local)} local units` : ''}`;
}

export function describePlan(plan: KVPlan): string {
  if (plan.kind === 'full') return 'full cache';
  if (plan.kind === 'streaming')
    return `streaming (sinks ${plan.sinks}, recent ${plan.recent}; distant tokens dropped)`;
  return `PoD ${plan.mode} (sinks ${plan.sinks}, recent ${plan.recent}, ${describeUnits(plan.anchors)}${plan.distantQuant ? `, distant ${plan.distantQuant}` : ''})`;
}

/** What a user asks for; resolved against the model and context size by resolvePlan. */
export interface KVSpec {
  kind: 'full' | 'pod' | 'streaming';
  sinks?: number;
  recent?: number;
  /** Uniform block size g (used when no per-head anchors are given). */
  groupSize?: number;
  mode?: ShareMode;
  /** Per-KV-head blocks, e.g. from a calibration profile. */
  anchors?: readonly (readonly number[])[];
  /** K/V storage type (default f16, as llama.cpp; f32 is exact but twice the bytes). */
  dtype?: KVDtype;
  /** PoD: store distant keys/values in low-bit storage with per-(token, head) scales. */
  distantQuant?: DistantQuant;
  /** PoD: per (layer, query head) distant logit offsets (from a calibration profile; see KVPlan). */
  distantBias?: readonly (readonly number[])[];
}

/** pod-method.md §2 defaults: S = 16, window W = S + R = max(256, context/8). */
export const DEFAULT_SINKS = 16;
export const DEFAULT_GROUP_SIZE = 5;
/** 16-bit storage halves KV bytes and, at long context, decode time (measured 30 vs 61 ms/token at 8K on SmolLM2). */
export const DEFAULT_KV_DTYPE: KVDtype = 'f16';

export function resolvePlan(spec: KVSpec, c: ModelConfig, contextSize: number): KVPlan {
  const dtype = spec.dtype ?? DEFAULT_KV_DTYPE;
  if (spec.kind === 'full') return { kind: 'full', dtype };
  const sinks = spec.sinks ?? DEFAULT_SINKS;
  const recent = spec.recent ?? Math.max(256, Math.floor(contextSize / 8)) - sinks;
  if (spec.kind === 'streaming') return { kind: 'streaming', sinks, recent, dtype };
  const anchors = spec.anchors ?? uniformAnchors(c.nLayers, c.nKVHeads, spec.groupSize ?? DEFAULT_GROUP_SIZE);
  const plan: KVPlan = {
    kind: 'pod',
    sinks,
    recent,
    anchors: anchors.map((r) => [...r]),
    mode: spec.mode ?? 'scores',
    dtype,
    ...(spec.distantQuant ? { distantQuant: spec.distantQuant } : {}),
    ...(spec.distantBias ? { distantBias: spec.distantBias.map((r) => [...r]) } : {}),
  };
  validatePlan(plan, c);
  return plan;
}
