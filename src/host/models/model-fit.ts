// Which catalog model fits this machine, before downloading anything: for each entry, the
// engine's own memory estimate (src/engine/memory.ts: weights as ONNX Runtime holds them + the
// KV cache at the configured context and KV settings + runtime) from the tensor list a Q4_K_M
// GGUF of the entry's shape has, compared with free memory the way Engine.load compares it
// (fits when total ≤ free). The largest entry that fits is recommended. Pure functions, no vscode
// import; the quick pick itself is download-command.ts.
import { GGMLType } from '../../engine/gguf/types';
import { fallbackType } from '../../engine/gguf/synthetic';
import { estimateForTensors, MemoryEstimate, WeightTensor } from '../../engine/memory';
import { ModelConfig } from '../../engine/model/config';
import { describePlan, KVPlan, KVSpec, resolvePlan } from '../../engine/kv/plan';
import { CacheSettings } from '../settings';
import { CatalogModel, CatalogShape } from './model-catalog';

/** llama.cpp's use_more_bits (llama-quant.cpp): whether the i-th attn_v / ffn_down of n gets Q6_K in Q4_K_M. Integer division, as in C. */
export function useMoreBits(layer: number, nLayers: number): boolean {
  const eighth = Math.floor(nLayers / 8);
  return layer < eighth || layer >= Math.floor((7 * nLayers) / 8) || (layer - eighth) % 3 === 2;
}

/**
 * The layers whose attn_v and ffn_down get more bits. llama.cpp counts those tensors in the order
 * it meets them, and Qwen's files were quantized from a GGUF with its blocks in name order (blk.0,
 * blk.1, blk.10, …, blk.2, …): the k-th block in that order gets more bits when use_more_bits(k).
 * Checked on the official 0.5B and 1.5B files (test/model-fit.test.ts).
 */
export function moreBitsLayers(nLayers: number): Set<number> {
  const byName = Array.from({ length: nLayers }, (_, l) => l).sort((a, b) => (String(a) < String(b) ? -1 : 1));
  return new Set(byName.filter((_, k) => useMoreBits(k, nLayers)));
}

/**
 * The tensors of a qwen2 Q4_K_M GGUF of this shape, as llama.cpp's llama_tensor_get_type writes
 * them: Q4_K by default, output.weight Q6_K, attn_v and ffn_down Q6_K in moreBitsLayers, norms
 * and biases F32; a row length that is not a multiple of 256 falls back (Q4_K → Q5_0,
 * Q6_K → Q8_0). Qwen's official files keep a separate output.weight.
 */
export function q4kmTensors(s: CatalogShape): WeightTensor[] {
  const q = s.nHeads * s.headDim,
    kv = s.nKVHeads * s.headDim;
  const moreBits = moreBitsLayers(s.nLayers);
  const out: WeightTensor[] = [];
  const w = (name: string, dims: number[], type: GGMLType): void => {
    out.push({ name, dims, type: fallbackType(type, dims[0]!) });
  };
  const v = (name: string, n: number): void => {
    out.push({ name, dims: [n], type: GGMLType.F32 });
  };
  w('token_embd.weight', [s.dim, s.vocabSize], GGMLType.Q4_K);
  v('output_norm.weight', s.dim);
  w('output.weight', [s.dim, s.vocabSize], GGMLType.Q6_K);
  for (let l = 0; l < s.nLayers; l++) {
    const p = `blk.${l}.`;
    const more = moreBits.has(l) ? GGMLType.Q6_K : GGMLType.Q4_K;
    v(`${p}attn_norm.weight`, s.dim);
    w(`${p}attn_q.weight`, [s.dim, q], GGMLType.Q4_K);
    w(`${p}attn_k.weight`, [s.dim, kv], GGMLType.Q4_K);
    w(`${p}attn_v.weight`, [s.dim, kv], more);
    v(`${p}attn_q.bias`, q);
    v(`${p}attn_k.bias`, kv);
    v(`${p}attn_v.bias`, kv);
    w(`${p}attn_output.weight`, [q, s.dim], GGMLType.Q4_K);
    v(`${p}ffn_norm.weight`, s.dim);
    w(`${p}ffn_gate.weight`, [s.dim, s.ffnDim], GGMLType.Q4_K);
    w(`${p}ffn_up.weight`, [s.dim, s.ffnDim], GGMLType.Q4_K);
    w(`${p}ffn_down.weight`, [s.ffnDim, s.dim], more);
  }
  return out;
}

/** The ModelConfig readModelConfig gives for the entry's file (qwen2: NEOX RoPE θ 1e6, QKV bias, separate output.weight). */
export function catalogConfig(m: CatalogModel): ModelConfig {
  const s = m.shape;
  return {
    arch: 'qwen2',
    name: m.label,
    nLayers: s.nLayers,
    dim: s.dim,
    nHeads: s.nHeads,
    nKVHeads: s.nKVHeads,
    headDim: s.headDim,
    ffnDim: s.ffnDim,
    vocabSize: s.vocabSize,
    ctxTrain: s.ctxTrain,
    rmsEps: Math.fround(1e-6) /* an f32 in the GGUF */,
    ropeTheta: 1e6,
    ropeDim: s.headDim,
    ropeStyle: 'neox',
    ropeLinearFactor: 1,
    ropeFreqFactors: undefined,
    tiedEmbeddings: false,
    qkvBias: true,
  };
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
