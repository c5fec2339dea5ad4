// Model hyper-parameters read from GGUF metadata, validated once, for the llama and qwen2
// decoder families. Everything downstream (reference forward, ONNX graph, KV cache) takes a
// ModelConfig and never reads metadata itself.
import { GGUFFile } from '../gguf/file';
import { ModelFileError } from '../gguf/errors';

export const SUPPORTED_ARCHITECTURES = ['llama', 'qwen2'] as const;
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

/** How RoPE pairs dimensions: `normal` rotates (2i, 2i+1) (GGUF llama), `neox` rotates (i, i+d/2) (qwen2). */
export type RopeStyle = 'normal' | 'neox';

export interface ModelConfig {
  readonly arch: Architecture;
  readonly name: string;
  readonly nLayers: number;
  readonly dim: number;
  readonly nHeads: number;
  readonly nKVHeads: number;
  readonly headDim: number;
  readonly ffnDim: number;
  readonly vocabSize: number;
  readonly ctxTrain: number;
  readonly rmsEps: number;
  readonly ropeTheta: number;
  /** Number of leading dimensions of each head that RoPE rotates (usually headDim). */
  readonly ropeDim: number;
  readonly ropeStyle: RopeStyle;
  /** Linear position scaling (rope.scaling.type = linear): positions are divided by this. */
  readonly ropeLinearFactor: number;
  /** Per-frequency divisors (Llama 3.x `rope_freqs.weight`, i.e. rope_scaling llama3), length ropeDim/2. */
  readonly ropeFreqFactors: Float32Array | undefined;
  readonly tiedEmbeddings: boolean;
  readonly qkvBias: boolean;
}

/** The sizes that make a model's shape: what a synthetic preset or a catalog entry states. */
export type ModelWidths = Pick<
  ModelConfig,
  'nLayers' | 'dim' | 'nHeads' | 'nKVHeads' | 'headDim' | 'ffnDim' | 'vocabSize' | 'ctxTrain'
>;

/** Just the widths of `s` (a shape with more fields, e.g. a Qwen size), to spread into a config or preset. */
export function widthsOf(s: ModelWidths): ModelWidths {
  const { nLayers, dim, nHeads, nKVHeads, headDim, ffnDim, vocabSize, ctxTrain } = s;
  return { nLayers, dim, nHeads, nKVHeads, headDim, ffnDim, vocabSize, ctxTrain };
}

export function readModelConfig(f: GGUFFile): ModelConfig {
  const arch = f.string('general.architecture', undefined);
  if (arch === undefined) throw new ModelFileError('missing-metadata', f.path, 'general.architecture is missing');
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new ModelFileError(
      'unsupported-architecture',
      f.path,
      `architecture "${arch}" is not supported; supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`,
    );
  }
  const a = arch as Architecture;
  const k = (s: string): string => `${a}.${s}`;
  const positive = (key: string, v: number | undefined): number => {
    if (v === undefined || !Number.isInteger(v) || v <= 0) {
      throw new ModelFileError('missing-metadata', f.path, `${key} must be a positive integer (got ${String(v)})`);
    }
    return v;
  };

  const nLayers = positive(k('block_count'), f.number(k('block_count'), undefined));
  const dim = positive(k('embedding_length'), f.number(k('embedding_length'), undefined));
  const nHeads = positive(k('attention.head_count'), f.number(k('attention.head_count'), undefined));
  const kvRaw = f.raw(k('attention.head_count_kv'));
  let nKVHeads = nHeads;
  if (typeof kvRaw === 'number') nKVHeads = kvRaw;
  else if (kvRaw !== undefined && typeof kvRaw === 'object') {
    const vals = f.numbers(k('attention.head_count_kv')) ?? [];
    if (new Set(vals).size !== 1)
      throw new ModelFileError('unsupported-architecture', f.path, 'per-layer KV head counts differ; not supported');
    nKVHeads = vals[0]!;
  }
  positive(k('attention.head_count_kv'), nKVHeads);
  if (nHeads % nKVHeads !== 0)
    throw new ModelFileError('corrupt', f.path, `head_count ${nHeads} is not a multiple of head_count_kv ${nKVHeads}`);
  const headDim = f.number(k('attention.key_length'), undefined) ?? dim / nHeads;
  const vDim = f.number(k('attention.value_length'), undefined) ?? headDim;
  if (!Number.isInteger(headDim) || headDim !== vDim || headDim % 2 !== 0) {
    throw new ModelFileError(
      'unsupported-architecture',
      f.path,
      `head dims k=${headDim} v=${vDim} are not supported (need equal, even)`,
    );
  }
  const ffnRaw = f.raw(k('feed_forward_length'));
  const ffnDim = positive(
    k('feed_forward_length'),
    typeof ffnRaw === 'object'
      ? (f.numbers(k('feed_forward_length')) ?? [])[0]
      : f.number(k('feed_forward_length'), undefined),
  );

  const emb = f.requireTensor('token_embd.weight');
  if (emb.dims.length !== 2 || emb.dims[0] !== dim) {
    throw new ModelFileError('bad-shape', f.path, `expected [${dim}, vocab], got [${emb.dims.join(', ')}]`, emb.name);
  }
  const vocabSize = emb.dims[1]!;

  const ropeDim = f.number(k('rope.dimension_count'), undefined) ?? headDim;
  if (ropeDim > headDim || ropeDim % 2 !== 0)
    throw new ModelFileError('corrupt', f.path, `rope.dimension_count ${ropeDim} invalid for head dim ${headDim}`);
  const scalingType = f.string(k('rope.scaling.type'), undefined);
  let ropeLinearFactor = 1;
  if (scalingType === 'linear') ropeLinearFactor = f.number(k('rope.scaling.factor'), 1) ?? 1;
  else if (scalingType !== undefined && scalingType !== 'none') {
    throw new ModelFileError(
      'unsupported-architecture',
      f.path,
      `rope scaling "${scalingType}" is not supported (supported: none, linear, llama3 via rope_freqs)`,
    );
  }

  let ropeFreqFactors: Float32Array | undefined;
  const rf = f.tensor('rope_freqs.weight');
  if (rf) {
    if (rf.type !== 0 || rf.nElements !== ropeDim / 2) {
      throw new ModelFileError('bad-shape', f.path, `rope_freqs must be F32 with ${ropeDim / 2} elements`, rf.name);
    }
    const b = f.readTensorBytes(rf);
    ropeFreqFactors = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  }

  return {
    arch: a,
    name: f.string('general.name', undefined) ?? a,
    nLayers,
    dim,
    nHeads,
    nKVHeads,
    headDim,
    ffnDim,
    vocabSize,
    ctxTrain: f.number(k('context_length'), undefined) ?? 2048,
    rmsEps: f.number(k('attention.layer_norm_rms_epsilon'), undefined) ?? 1e-5,
    ropeTheta: f.number(k('rope.freq_base'), undefined) ?? 10000,
    ropeDim,
    ropeStyle: a === 'qwen2' ? 'neox' : 'normal',
    ropeLinearFactor,
    ropeFreqFactors,
    tiedEmbeddings: f.tensor('output.weight') === undefined,
    qkvBias: f.tensor('blk.0.attn_q.bias') !== undefined,
  };
}

/** GGUF tensor names of one decoder layer. */
export function layerTensorNames(l: number) {
  const p = `blk.${l}.`;
  return {
    attnNorm: `${p}attn_norm.weight`,
    q: `${p}attn_q.weight`,
    k: `${p}attn_k.weight`,
    v: `${p}attn_v.weight`,
    qBias: `${p}attn_q.bias`,
    kBias: `${p}attn_k.bias`,
    vBias: `${p}attn_v.bias`,
    o: `${p}attn_output.weight`,
    ffnNorm: `${p}ffn_norm.weight`,
    gate: `${p}ffn_gate.weight`,
    up: `${p}ffn_up.weight`,
    down: `${p}ffn_down.weight`,
  } as const;
}

/** The inverse frequencies RoPE uses for pair i (0 ≤ i < ropeDim/2), llama3 factors applied. */
export function ropeInvFreqs(c: ModelConfig): Float64Array {
  const half = c.ropeDim / 2;
  const out = new Float64Array(half);
  for (let i = 0; i < half; i++) {
    let f = Math.pow(c.ropeTheta, (-2 * i) / c.ropeDim) / c.ropeLinearFactor;
    if (c.ropeFreqFactors) f /= c.ropeFreqFactors[i]!;
    out[i] = f;
  }
  return out;
}
