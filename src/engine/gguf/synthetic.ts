// Synthetic GGUF models: valid llama / qwen2 files of any shape with seeded random weights and
// real tokenizer metadata copied from another GGUF. Timing and memory do not depend on weight
// values, so these cover load paths, multi-GB files and scaling without downloading models.
// Weights are generated tensor by tensor while the writer streams them (never all in memory).
// Quantized weights are random blocks built directly in the block format (uniform levels,
// zero-mean, std ≈ `std`), which is as valid as quantizing Gaussians and orders of magnitude faster.
// The Qwen2.5 presets take their numbers from model/qwen-shapes.ts (the shapes' one owner).
import * as path from 'node:path';
import { GGUFFile } from './file';
import { floatToHalf } from './half';
import { quantize } from './quantize';
import { fallbackType, GGMLType, GGUFArray, GGUFValueType as VT, TYPE_TRAITS, typeName } from './types';
import { QWEN2_5, QWEN2_5_CODER, QwenShape } from '../model/qwen-shapes';
import { ModelWidths, widthsOf } from '../model/config';
import { GGUFMetadataEntry, GGUFTensorEntry, tensorByteSize, writeGGUF } from './writer';

export interface SyntheticShape extends ModelWidths {
  readonly arch: 'llama' | 'qwen2';
  readonly ropeTheta: number;
  readonly rmsEps: number;
  readonly tiedEmbeddings: boolean;
  /** Llama 3 rope scaling as a rope_freqs.weight tensor (llama only). */
  readonly ropeFreqs: boolean;
}

const LLAMA = {
  arch: 'llama',
  ctxTrain: 2048,
  ropeTheta: 10000,
  rmsEps: 1e-5,
  tiedEmbeddings: true,
  ropeFreqs: false,
} as const;
/** A Qwen2.5-Coder size as Qwen's GGUF files have it: QKV biases, NEOX RoPE, a separate output.weight (see qwen-shapes.ts). */
const qwen = (s: QwenShape): SyntheticShape => ({
  arch: 'qwen2',
  ...widthsOf(s),
  ropeTheta: QWEN2_5.ropeTheta,
  rmsEps: QWEN2_5.rmsEps,
  tiedEmbeddings: false,
  ropeFreqs: false,
});

export const SYNTHETIC_PRESETS = {
  /** Fast tests; row lengths fit every legacy block type (K-quants fall back, see fallbackType). */
  tiny: { ...LLAMA, nLayers: 2, dim: 64, nHeads: 4, nKVHeads: 2, headDim: 16, ffnDim: 96, vocabSize: 512 },
  /** Fast tests with K-quants everywhere: every row length is a multiple of 256. */
  'tiny-k': { ...LLAMA, nLayers: 2, dim: 256, nHeads: 4, nKVHeads: 2, headDim: 64, ffnDim: 512, vocabSize: 512 },
  'smollm2-135m': {
    ...LLAMA,
    nLayers: 30,
    dim: 576,
    nHeads: 9,
    nKVHeads: 3,
    headDim: 64,
    ffnDim: 1536,
    vocabSize: 49152,
    ctxTrain: 8192,
    ropeTheta: 100000,
  },
  'smollm2-360m': {
    ...LLAMA,
    nLayers: 32,
    dim: 960,
    nHeads: 15,
    nKVHeads: 5,
    headDim: 64,
    ffnDim: 2560,
    vocabSize: 49152,
    ctxTrain: 8192,
    ropeTheta: 100000,
  },
  'qwen2.5-0.5b': qwen(QWEN2_5_CODER['0.5b']),
  'qwen2.5-1.5b': qwen(QWEN2_5_CODER['1.5b']),
  'qwen2.5-3b': qwen(QWEN2_5_CODER['3b']),
  'qwen2.5-7b': qwen(QWEN2_5_CODER['7b']),
  'llama-3.2-1b': {
    ...LLAMA,
    nLayers: 16,
    dim: 2048,
    nHeads: 32,
    nKVHeads: 8,
    headDim: 64,
    ffnDim: 8192,
    vocabSize: 128256,
    ctxTrain: 131072,
    ropeTheta: 500000,
    ropeFreqs: true,
  },
} satisfies Record<string, SyntheticShape>;
export type SyntheticPreset = keyof typeof SYNTHETIC_PRESETS;

export interface SyntheticOptions {
  /** Output file. */
  readonly path: string;
  readonly preset?: SyntheticPreset;
  /** Overrides on top of the preset (e.g. { arch: 'qwen2', nLayers: 1 }). */
  readonly shape?: Partial<SyntheticShape>;
  /** Type of the 2-D weights (default Q8_0); norms, biases and rope_freqs stay F32. */
  readonly weightType?: GGMLType;
  /** Type of token_embd (and output) (default: weightType). */
  readonly embeddingType?: GGMLType;
  /**
   * Per-tensor type of the 2-D weights by name, over weightType / embeddingType where it returns
   * one (e.g. Qwen's Q4_K_M mix: qwen-shapes.ts q4kmTensors). llama.cpp's row-length fallbacks
   * still apply. general.file_type follows weightType.
   */
  readonly tensorType?: (name: string) => GGMLType | undefined;
  /** GGUF whose tokenizer.* metadata is copied (default: stories260K for vocab ≤ 512, Qwen2.5-Coder-0.5B for Qwen's vocabulary, else SmolLM2). */
  readonly tokenizerFrom?: string;
  /** Where the default tokenizer sources live (default ./models). */
  readonly modelsDir?: string;
  readonly seed?: number;
  readonly version?: 1 | 2 | 3;
  /** Standard deviation of the random 2-D weights (default 0.02). */
  readonly std?: number;
}

/** llama.cpp's llama_ftype for a file whose main weights are `t`. */
const FILE_TYPE: Partial<Record<GGMLType, number>> = {
  [GGMLType.F32]: 0,
  [GGMLType.F16]: 1,
  [GGMLType.Q4_0]: 2,
  [GGMLType.Q4_1]: 3,
  [GGMLType.Q8_0]: 7,
  [GGMLType.Q5_0]: 8,
  [GGMLType.Q5_1]: 9,
  [GGMLType.Q4_K]: 15,
  [GGMLType.Q6_K]: 18,
  [GGMLType.BF16]: 32,
};

/** Write a synthetic model. Deterministic: same options and seed, same bytes. */
export function makeSyntheticModel(opts: SyntheticOptions): void {
  const s: SyntheticShape = { ...SYNTHETIC_PRESETS[opts.preset ?? 'tiny'], ...opts.shape };
  for (const k of ['nLayers', 'dim', 'nHeads', 'nKVHeads', 'headDim', 'ffnDim', 'vocabSize', 'ctxTrain'] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1)
      throw new Error(`synthetic model: ${k} must be a positive integer (got ${s[k]})`);
  }
  if (s.nHeads % s.nKVHeads !== 0 || s.headDim % 2 !== 0)
    throw new Error('synthetic model: nHeads must be a multiple of nKVHeads, headDim even');
  if (s.ropeFreqs && s.arch !== 'llama')
    throw new Error('synthetic model: rope_freqs (llama3 scaling) is for llama only');
  const wType = opts.weightType ?? GGMLType.Q8_0;
  const eType = opts.embeddingType ?? wType;
  for (const t of [wType, eType])
    if (!TYPE_TRAITS.has(t)) throw new Error(`synthetic model: unsupported weight type ${typeName(t)}`);
  const seed = opts.seed ?? 1;
  const std = opts.std ?? 0.02;
  const a = s.arch;
  const qDim = s.nHeads * s.headDim,
    kvDim = s.nKVHeads * s.headDim;

  const u32 = (key: string, value: number): GGUFMetadataEntry => ({ key, type: VT.UINT32, value });
  const f32 = (key: string, value: number): GGUFMetadataEntry => ({ key, type: VT.FLOAT32, value });
  const metadata: GGUFMetadataEntry[] = [
    { key: 'general.architecture', type: VT.STRING, value: a },
    { key: 'general.type', type: VT.STRING, value: 'model' },
    { key: 'general.name', type: VT.STRING, value: `synthetic ${opts.preset ?? 'tiny'} (seed ${seed})` },
    u32(`${a}.block_count`, s.nLayers),
    u32(`${a}.context_length`, s.ctxTrain),
    u32(`${a}.embedding_length`, s.dim),
    u32(`${a}.feed_forward_length`, s.ffnDim),
    u32(`${a}.attention.head_count`, s.nHeads),
    u32(`${a}.attention.head_count_kv`, s.nKVHeads),
    f32(`${a}.rope.freq_base`, s.ropeTheta),
    f32(`${a}.attention.layer_norm_rms_epsilon`, s.rmsEps),
    u32(`${a}.rope.dimension_count`, s.headDim),
    u32(`${a}.vocab_size`, s.vocabSize),
  ];
  if (qDim !== s.dim)
    metadata.push(u32(`${a}.attention.key_length`, s.headDim), u32(`${a}.attention.value_length`, s.headDim));
  metadata.push(u32('general.file_type', FILE_TYPE[wType] ?? 0));
  if (TYPE_TRAITS.get(wType)!.blockSize > 1 || TYPE_TRAITS.get(eType)!.blockSize > 1)
    metadata.push(u32('general.quantization_version', 2));
  metadata.push(...tokenizerMetadata(opts.tokenizerFrom ?? defaultTokenizer(s.vocabSize, opts.modelsDir), s.vocabSize));

  const tensors: GGUFTensorEntry[] = [];
  const weight = (name: string, dims: number[], type: GGMLType): void => {
    const wanted = opts.tensorType?.(name) ?? type;
    if (!TYPE_TRAITS.has(wanted)) throw new Error(`synthetic model: unsupported type ${typeName(wanted)} for ${name}`);
    const t = fallbackType(wanted, dims[0]!);
    tensors.push({ name, dims, type: t, data: () => randomWeights(t, dims, std, seed, name) });
  };
  const vector = (name: string, n: number, mean: number, sd: number): void => {
    tensors.push({
      name,
      dims: [n],
      type: GGMLType.F32,
      data: () => quantize(GGMLType.F32, gaussian(n, mean, sd, rng(seed, name))),
    });
  };
  weight('token_embd.weight', [s.dim, s.vocabSize], eType);
  if (s.ropeFreqs)
    tensors.push({
      name: 'rope_freqs.weight',
      dims: [s.headDim / 2],
      type: GGMLType.F32,
      data: quantize(GGMLType.F32, llama3RopeFactors(s.headDim, s.ropeTheta)),
    });
  vector('output_norm.weight', s.dim, 1, 0.02);
  if (!s.tiedEmbeddings) weight('output.weight', [s.dim, s.vocabSize], eType);
  for (let l = 0; l < s.nLayers; l++) {
    const p = `blk.${l}.`;
    vector(`${p}attn_norm.weight`, s.dim, 1, 0.02);
    weight(`${p}attn_q.weight`, [s.dim, qDim], wType);
    weight(`${p}attn_k.weight`, [s.dim, kvDim], wType);
    weight(`${p}attn_v.weight`, [s.dim, kvDim], wType);
    if (a === 'qwen2') {
      vector(`${p}attn_q.bias`, qDim, 0, std);
      vector(`${p}attn_k.bias`, kvDim, 0, std);
      vector(`${p}attn_v.bias`, kvDim, 0, std);
    }
    weight(`${p}attn_output.weight`, [qDim, s.dim], wType);
    vector(`${p}ffn_norm.weight`, s.dim, 1, 0.02);
    weight(`${p}ffn_gate.weight`, [s.dim, s.ffnDim], wType);
    weight(`${p}ffn_up.weight`, [s.dim, s.ffnDim], wType);
    weight(`${p}ffn_down.weight`, [s.ffnDim, s.dim], wType);
  }
  writeGGUF(opts.path, { version: opts.version ?? 3, metadata, tensors });
}

function defaultTokenizer(vocab: number, modelsDir = path.resolve('models')): string {
  const file =
    vocab <= 512
      ? 'stories260K-f32.gguf'
      : vocab >= QWEN2_5_CODER['0.5b'].vocabSize
        ? 'qwen2.5-coder-0.5b-instruct.gguf'
        : 'SmolLM2-135M-Instruct.Q4_1.gguf';
  return path.join(modelsDir, file);
}

/** tokenizer.* entries of `file`, padded with unused `[PADi]` tokens up to `vocab` (as convert_hf_to_gguf does). */
function tokenizerMetadata(file: string, vocab: number): GGUFMetadataEntry[] {
  const f = GGUFFile.open(file);
  try {
    const n = f.strings('tokenizer.ggml.tokens')?.length;
    if (n === undefined) throw new Error(`${file} has no tokenizer.ggml.tokens to copy`);
    if (n > vocab)
      throw new Error(`vocab ${vocab} is smaller than the ${n} tokens of ${file}; pick another tokenizer source`);
    const pad = (key: string, v: GGUFArray): GGUFArray => {
      const extra = vocab - n;
      if (v.items.length !== n || extra === 0) return v;
      const fill =
        key === 'tokenizer.ggml.tokens'
          ? (i: number) => `[PAD${n + i}]`
          : key === 'tokenizer.ggml.scores'
            ? () => -1000
            : () => 5;
      return { itemType: v.itemType, items: [...v.items, ...Array.from({ length: extra }, (_, i) => fill(i))] };
    };
    return [...f.header.metadata]
      .filter(([key]) => key.startsWith('tokenizer.'))
      .map(([key, value]) => ({
        key,
        type: f.header.metadataTypes.get(key)!,
        value:
          typeof value === 'object' &&
          ['tokenizer.ggml.tokens', 'tokenizer.ggml.scores', 'tokenizer.ggml.token_type'].includes(key)
            ? pad(key, value)
            : value,
      }));
  } finally {
    f.close();
  }
}

/** Llama 3.x rope scaling factors (factor 32, low 1, high 4, original context 8192), as convert_hf_to_gguf computes them. */
export function llama3RopeFactors(headDim: number, theta: number): Float32Array {
  const factor = 32,
    low = 1,
    high = 4,
    old = 8192;
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < out.length; i++) {
    const wavelen = 2 * Math.PI * Math.pow(theta, (2 * i) / headDim); // 2π / inverse frequency
    if (wavelen < old / high) out[i] = 1;
    else if (wavelen > old / low) out[i] = factor;
    else {
      const smooth = (old / wavelen - low) / (high - low);
      out[i] = 1 / ((1 - smooth) / factor + smooth);
    }
  }
  return out;
}

// ---- seeded randomness ---------------------------------------------------------------------

/** xoshiro128** seeded from (seed, name) with FNV-1a + splitmix32, so each tensor is independent of write order. */
function rng(seed: number, name: string): () => number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  const st = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    h = (h + 0x9e3779b9) | 0;
    let z = h;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    st[i] = z ^ (z >>> 16);
  }
  return () => {
    const r = Math.imul(rotl(Math.imul(st[1]!, 5), 7), 9) >>> 0;
    const t = st[1]! << 9;
    st[2]! ^= st[0]!;
    st[3]! ^= st[1]!;
    st[1]! ^= st[2]!;
    st[0]! ^= st[3]!;
    st[2]! ^= t;
    st[3] = rotl(st[3]!, 11);
    return r;
  };
}
const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));
const unit = (next: () => number): number => (next() + 0.5) / 4294967296;

function gaussian(n: number, mean: number, sd: number, next: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(unit(next))) * sd,
      th = 2 * Math.PI * unit(next);
    out[i] = mean + r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = mean + r * Math.sin(th);
  }
  return out;
}

/** Std of the integer levels each block type draws uniformly (w = d·(q − centre) · sub-scale). */
const LEVEL_STD: Partial<Record<GGMLType, number>> = {
  [GGMLType.Q4_0]: 4.61,
  [GGMLType.Q4_1]: 4.61,
  [GGMLType.Q5_0]: 9.23,
  [GGMLType.Q5_1]: 9.23,
  [GGMLType.Q8_0]: 73.9,
  [GGMLType.Q4_K]: 4.61 * 45.6,
  [GGMLType.Q6_K]: 18.47 * 98.6,
};

/** Random tensor bytes, yielded in chunks of whole rows (≤ ~4 MB each). */
function* randomWeights(
  type: GGMLType,
  dims: readonly number[],
  std: number,
  seed: number,
  name: string,
): Generator<Uint8Array> {
  const next = rng(seed, name);
  const rowLen = dims[0]!,
    nRows = dims.reduce((p, d) => p * d, 1) / rowLen;
  const rowBytes = tensorByteSize(type, [rowLen]);
  const rowsPer = Math.max(1, Math.floor((4 << 20) / rowBytes));
  for (let r = 0; r < nRows; r += rowsPer) {
    const rows = Math.min(rowsPer, nRows - r);
    const tr = TYPE_TRAITS.get(type)!;
    if (tr.blockSize === 1) {
      yield quantize(type, gaussian(rows * rowLen, 0, std, next));
      continue;
    }
    const buf = new Uint8Array(Math.ceil((rows * rowBytes) / 4) * 4);
    const words = new Uint32Array(buf.buffer);
    for (let i = 0; i < words.length; i++) words[i] = next();
    fillBlocks(type, buf, (rows * rowLen) / tr.blockSize, std / LEVEL_STD[type]!, next);
    yield buf.subarray(0, rows * rowBytes);
  }
}

/** Overwrite the scale fields of `nb` random blocks so values are zero-mean with std ≈ d·LEVEL_STD. */
function fillBlocks(type: GGMLType, b: Uint8Array, nb: number, d: number, next: () => number): void {
  const size = TYPE_TRAITS.get(type)!.typeSize;
  const put = (p: number, v: number): void => {
    const h = floatToHalf(v);
    b[p] = h & 0xff;
    b[p + 1] = h >>> 8;
  };
  for (let i = 0, p = 0; i < nb; i++, p += size) {
    const r = next();
    const db = d * (0.75 + (r >>> 8) / (1 << 25)); // ×[0.75, 1.25): blocks differ like real data
    const sign = r & 1 ? -1 : 1;
    switch (type) {
      case GGMLType.Q4_0:
      case GGMLType.Q5_0:
        put(p, sign * db);
        break; // symmetric levels: random sign
      case GGMLType.Q8_0:
        put(p, db);
        break;
      case GGMLType.Q4_1:
        put(p, db);
        put(p + 2, -7.5 * db);
        break;
      case GGMLType.Q5_1:
        put(p, db);
        put(p + 2, -15.5 * db);
        break;
      case GGMLType.Q4_K: {
        put(p, db);
        put(p + 2, 7.5 * db); // w = d·sc·q − (7.5·d)·m with m = sc: centred levels
        const sc = p + 4;
        for (let j = 0; j < 8; j++) {
          const v = 32 + ((next() >>> 7) & 31);
          if (j < 4) {
            b[sc + j] = v;
            b[sc + j + 4] = v;
          } else {
            b[sc + j + 4] = (v & 0xf) | ((v & 0xf) << 4);
            b[sc + j - 4] = b[sc + j - 4]! | ((v >> 4) << 6);
            b[sc + j] = b[sc + j]! | ((v >> 4) << 6);
          }
        }
        break;
      }
      case GGMLType.Q6_K:
        put(p + 208, db);
        for (let j = 0; j < 16; j++) {
          const v = next();
          b[p + 192 + j] = ((v & 1 ? -1 : 1) * (64 + ((v >>> 9) & 63))) & 0xff;
        }
        break;
      default:
        throw new Error(`no random block generator for ${typeName(type)}`);
    }
  }
}
