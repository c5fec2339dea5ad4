// The architecture of Qwen2.5-Coder 0.5B, 1.5B, 3B and 7B, in one place: the download catalog's
// memory-fit estimate (host/models/model-catalog.ts, model-fit.ts) and the synthetic-model presets
// (gguf/synthetic.ts) both derive from these numbers, as does the tensor layout of Qwen's official
// Q4_K_M GGUF files (which tensors llama.cpp stores in which type). Pure data and functions.
//
// Sources: 0.5B and 1.5B are what readModelConfig reads from the official files
// (models/qwen2.5-coder-0.5b-instruct.gguf, models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf;
// test/model-fit.test.ts compares them); 3B and 7B are the published config.json numbers, not
// read from a file here, but the published Q4_K_M file sizes equal this layout's bytes within
// 16 KB (the same test). What differs per size besides the widths: the 7B's vocabulary is 152064
// (151936 for the others), and only the 7B checkpoint has its own lm_head (config.json
// tie_word_embeddings is true for 0.5B–3B). Qwen's GGUF files write output.weight for every size
// all the same (checked in the 0.5B and 1.5B files; the 3B and 7B file sizes need it), so as GGUF
// files, which is what ModelConfig.tiedEmbeddings describes, all four are untied.
import { fallbackType, GGMLType } from '../gguf/types';
import { ModelConfig, ModelWidths, widthsOf } from './config';

/** ctxTrain is the GGUF's qwen2.context_length. */
export interface QwenShape extends ModelWidths {
  /** config.json tie_word_embeddings: the checkpoint reuses the embeddings as its output head. The GGUF files still carry output.weight (see the file comment). */
  readonly tiedInCheckpoint: boolean;
}

/** qwen2.* values every size shares (the GGUF stores rms_epsilon as an f32). */
export const QWEN2_5 = { ropeTheta: 1e6, rmsEps: 1e-6, ctxTrain: 32768 } as const;

const CTX = QWEN2_5.ctxTrain; // the GGUF model cards: "Context Length: Full 32,768 tokens"

export const QWEN2_5_CODER = {
  '0.5b': {
    nLayers: 24,
    dim: 896,
    nHeads: 14,
    nKVHeads: 2,
    headDim: 64,
    ffnDim: 4864,
    vocabSize: 151936,
    ctxTrain: CTX,
    tiedInCheckpoint: true,
  },
  '1.5b': {
    nLayers: 28,
    dim: 1536,
    nHeads: 12,
    nKVHeads: 2,
    headDim: 128,
    ffnDim: 8960,
    vocabSize: 151936,
    ctxTrain: CTX,
    tiedInCheckpoint: true,
  },
  '3b': {
    nLayers: 36,
    dim: 2048,
    nHeads: 16,
    nKVHeads: 2,
    headDim: 128,
    ffnDim: 11008,
    vocabSize: 151936,
    ctxTrain: CTX,
    tiedInCheckpoint: true,
  },
  '7b': {
    nLayers: 28,
    dim: 3584,
    nHeads: 28,
    nKVHeads: 4,
    headDim: 128,
    ffnDim: 18944,
    vocabSize: 152064,
    ctxTrain: CTX,
    tiedInCheckpoint: false,
  },
} as const satisfies Record<string, QwenShape>;
export type QwenSize = keyof typeof QWEN2_5_CODER;

/** The ModelConfig readModelConfig gives for an official Qwen2.5-Coder GGUF of this shape (NEOX RoPE θ 1e6, QKV bias, separate output.weight). */
export function qwenConfig(s: QwenShape, name: string): ModelConfig {
  return {
    arch: 'qwen2',
    name,
    ...widthsOf(s),
    rmsEps: Math.fround(QWEN2_5.rmsEps),
    ropeTheta: QWEN2_5.ropeTheta,
    ropeDim: s.headDim,
    ropeStyle: 'neox',
    ropeLinearFactor: 1,
    ropeFreqFactors: undefined,
    tiedEmbeddings: false,
    qkvBias: true,
  };
}

// ---- the Q4_K_M layout -------------------------------------------------------------------------

/** One tensor of a layout (GGUF dims: [ne0 = row length, ne1 = rows]). */
export interface LayoutTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly type: GGMLType;
}

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
export function q4kmTensors(s: Omit<QwenShape, 'ctxTrain' | 'tiedInCheckpoint'>): LayoutTensor[] {
  const q = s.nHeads * s.headDim,
    kv = s.nKVHeads * s.headDim;
  const moreBits = moreBitsLayers(s.nLayers);
  const out: LayoutTensor[] = [];
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
