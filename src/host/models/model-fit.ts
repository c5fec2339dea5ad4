// Which catalog model fits this machine, before downloading anything: for each entry, the
// engine's own memory estimate (src/engine/memory.ts: weights as ONNX Runtime holds them + the
// KV cache at the configured context and KV settings + runtime) from the tensor list a Q4_K_M
// GGUF of the entry's shape has (engine/model/qwen-shapes.ts q4kmTensors), compared with free memory the way Engine.load compares it
// (fits when total ≤ free). The largest entry that fits is recommended. Pure functions, no vscode
// import; the quick pick itself is download-command.ts.
import { estimateForTensors, MemoryEstimate } from '../../engine/memory';
import { ModelConfig } from '../../engine/model/config';
import { q4kmTensors, qwenConfig } from '../../engine/model/qwen-shapes';
import { describePlan, KVPlan, KVSpec, resolvePlan } from '../../engine/kv/plan';
import { CacheSettings } from '../settings';
import { CatalogModel } from './model-catalog';

/** The ModelConfig readModelConfig gives for the entry's file (qwen2: NEOX RoPE θ 1e6, QKV bias, separate output.weight). */
export function catalogConfig(m: CatalogModel): ModelConfig {
  return qwenConfig(m.shape, m.label);
}

export interface FitOptions {
  /**
   * podlens.engine.contextSize. 0 (automatic: the engine takes the largest context that fits its
   * memory budget at load) is checked at min(training context, 4096): a model is recommended when
   * it fits with a context a workspace chat can use.
   */
  contextSize: number;
  kv: CacheSettings;
  freeBytes: number;
}

export interface ModelFit {
  model: CatalogModel;
  contextSize: number;
  plan: KVPlan;
  estimate: MemoryEstimate;
  fits: boolean;
}

export interface Recommendation {
  /** One per catalog entry, in catalog order. */
  fits: ModelFit[];
  /** The largest entry (most weight bytes in memory) that fits; undefined when none does. */
  recommended: ModelFit | undefined;
  freeBytes: number;
}

/**
 * The KV spec for a catalog model: the settings without a PoD profile (a profile is calibrated for
 * one model file, so the uniform blocks of podlens.kv.groupSize stand in for it). `auto` is the
 * full cache: a model not downloaded yet has no profile.
 */
export function catalogKV(kv: CacheSettings): KVSpec {
  if (kv.kind === 'auto') return { kind: 'full' };
  const { profile: _perModel, ...spec } = kv;
  return spec;
}

export function fitModel(m: CatalogModel, o: FitOptions): ModelFit {
  const config = catalogConfig(m);
  const contextSize = o.contextSize > 0 ? o.contextSize : Math.min(config.ctxTrain, 4096); // see FitOptions.contextSize
  const plan = resolvePlan(catalogKV(o.kv), config, contextSize);
  const estimate = estimateForTensors(q4kmTensors(m.shape), config, contextSize, plan, o.freeBytes);
  return { model: m, contextSize, plan, estimate, fits: estimate.totalBytes <= estimate.freeBytes };
}

export function recommendModel(catalog: readonly CatalogModel[], o: FitOptions): Recommendation {
  const fits = catalog.map((m) => fitModel(m, o));
  const recommended = fits
    .filter((f) => f.fits)
    .reduce<ModelFit | undefined>(
      (best, f) => (best === undefined || f.estimate.weightBytes > best.estimate.weightBytes ? f : best),
      undefined,
    );
  return { fits, recommended, freeBytes: o.freeBytes };
}

/** Bytes for people: MB below 1 GB, else GB with one decimal (binary units, as the engine's messages). */
export function bytesText(b: number): string {
  return b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(1)} GB` : `${Math.round(b / 2 ** 20)} MB`;
}

export interface PickText {
  label: string;
  description: string;
  detail: string;
}

/** The quick pick row of one entry: size, estimated RAM at the context, and why it is (not) the one. */
export function fitText(f: ModelFit, r: Recommendation): PickText {
  const e = f.estimate;
  const ram = `≈${bytesText(e.totalBytes)} RAM at ${f.contextSize} tokens`;
  const parts = `weights ${bytesText(e.totalBytes - e.kvBytes - e.overheadBytes)} + KV ${bytesText(e.kvBytes)} (${describePlan(f.plan)}) + runtime ${bytesText(e.overheadBytes)}`;
  const free = bytesText(r.freeBytes);
  let why: string;
  if (f === r.recommended) why = `Recommended: the largest model that fits in ${free} of free memory (${parts}).`;
  else if (f.fits) why = `Fits in ${free} of free memory (${parts}); a larger model fits too.`;
  else
    why = `Does not fit: needs ≈${bytesText(e.totalBytes)} at ${f.contextSize} tokens, only ${free} free (${parts}). A smaller context (podlens.engine.contextSize) or the PoD cache needs less.`;
  return {
    label: `${f === r.recommended ? '$(star-full) ' : f.fits ? '' : '$(warning) '}${f.model.label}`,
    description: `${bytesText(f.model.size)} download · ${ram}`,
    detail: `${why} ${f.model.description}.`,
  };
}
