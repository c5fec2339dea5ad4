// The reference forward pass: a slow, obviously-correct pure-TypeScript decoder for the llama and
// qwen2 families, written in the shape of karpathy/llama2.c `run.c` (weights, run state, one
// `forward(token, pos)`). It is the oracle the ONNX engine is checked against (llm.c style), not
// a production path: every weight is dequantized to float32 once (≈4 bytes per parameter), one
// token is processed at a time, and dot products accumulate in float64 (plain JS numbers) so
// rounding here is far below the differences we look for in the fast engines.
import { GGUFFile } from '../gguf/file';
import { ModelFileError } from '../gguf/errors';
import { dequantize } from '../gguf/quants';
import { KVPlan, LOCAL, distantBiasOf } from '../kv/plan';
import { ModelConfig, layerTensorNames, readModelConfig, ropeInvFreqs } from '../model/config';

/** One decoder layer's weights. Matrices are row-major [out][in] (GGUF dims reversed). */
interface LayerWeights {
  readonly attnNorm: Float32Array; // (dim)
  readonly wq: Float32Array; // (nHeads*headDim, dim)
  readonly wk: Float32Array; // (nKVHeads*headDim, dim)
  readonly wv: Float32Array; // (nKVHeads*headDim, dim)
  readonly bq: Float32Array | undefined; // (nHeads*headDim), qwen2 only
  readonly bk: Float32Array | undefined; // (nKVHeads*headDim), qwen2 only
  readonly bv: Float32Array | undefined; // (nKVHeads*headDim), qwen2 only
  readonly wo: Float32Array; // (dim, nHeads*headDim)
  readonly ffnNorm: Float32Array; // (dim)
  readonly wGate: Float32Array; // (ffnDim, dim)
  readonly wUp: Float32Array; // (ffnDim, dim)
  readonly wDown: Float32Array; // (dim, ffnDim)
}

interface Weights {
  readonly tokenEmbedding: Float32Array; // (vocab, dim)
  readonly layers: readonly LayerWeights[];
  readonly finalNorm: Float32Array; // (dim)
  readonly lmHead: Float32Array; // (vocab, dim); the embedding itself when tied
}

/** Scratch buffers reused by every forward call, plus the KV cache. */
class RunState {
  readonly x: Float32Array; // (dim) the residual stream
  readonly xb: Float32Array; // (dim) normed input of a sublayer
  readonly xb2: Float32Array; // (dim) a sublayer's output before the residual add
  readonly q: Float32Array; // (nHeads*headDim)
  readonly k: Float32Array; // (nKVHeads*headDim)
  readonly v: Float32Array; // (nKVHeads*headDim)
  readonly attnOut: Float32Array; // (nHeads*headDim) concatenated head outputs
  readonly hb: Float32Array; // (ffnDim) gate, then silu(gate)·up
  readonly hb2: Float32Array; // (ffnDim) up
  /** keyCache[layer][pos] is that position's rotated keys, (nKVHeads*headDim); values likewise. */
  readonly keyCache: Float32Array[][];
  readonly valueCache: Float32Array[][];

  constructor(c: ModelConfig) {
    const qDim = c.nHeads * c.headDim;
    const kvDim = c.nKVHeads * c.headDim;
    this.x = new Float32Array(c.dim);
    this.xb = new Float32Array(c.dim);
    this.xb2 = new Float32Array(c.dim);
    this.q = new Float32Array(qDim);
    this.k = new Float32Array(kvDim);
    this.v = new Float32Array(kvDim);
    this.attnOut = new Float32Array(qDim);
    this.hb = new Float32Array(c.ffnDim);
    this.hb2 = new Float32Array(c.ffnDim);
    this.keyCache = Array.from({ length: c.nLayers }, () => []);
    this.valueCache = Array.from({ length: c.nLayers }, () => []);
  }
}

// ---- kernels (float64 accumulation, float32 storage) ----------------------------------------

/** out = x / sqrt(mean(x²) + eps) * w. */
function rmsnorm(out: Float32Array, x: Float32Array, w: Float32Array, eps: number): void {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i]! * x[i]!;
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * scale * w[i]!;
}

/** out (d) = W (d, n) · x (n) [+ bias (d)]. */
function matmul(out: Float32Array, x: Float32Array, w: Float32Array, n: number, d: number, bias?: Float32Array): void {
  for (let o = 0; o < d; o++) {
    const row = o * n;
    let s = bias ? bias[o]! : 0;
    for (let i = 0; i < n; i++) s += w[row + i]! * x[i]!;
    out[o] = s;
  }
}

/** In-place softmax over v[0..n). */
function softmax(v: Float64Array, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (v[i]! > max) max = v[i]!;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    v[i] = Math.exp(v[i]! - max);
    sum += v[i]!;
  }
  for (let i = 0; i < n; i++) v[i] = v[i]! / sum;
}

/**
 * Rotate the first ropeDim dims of each head of `v` (nHeadsHere heads of headDim) by position `pos`.
 * `normal` pairs (2i, 2i+1) — GGUF llama, whose converter permuted Q/K rows to match;
 * `neox` pairs (i, i + ropeDim/2) — qwen2 (RoFormer §3.4.2 rotation, different pairing).
 */
function rope(v: Float32Array, nHeadsHere: number, c: ModelConfig, invFreqs: Float64Array, pos: number): void {
  const half = c.ropeDim / 2;
  for (let h = 0; h < nHeadsHere; h++) {
    const base = h * c.headDim;
    for (let i = 0; i < half; i++) {
      const angle = pos * invFreqs[i]!;
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const a = c.ropeStyle === 'normal' ? base + 2 * i : base + i;
      const b = c.ropeStyle === 'normal' ? a + 1 : a + half;
      const x0 = v[a]!;
      const x1 = v[b]!;
      v[a] = x0 * cos - x1 * sin;
      v[b] = x0 * sin + x1 * cos;
    }
  }
}

// ---- loading ----------------------------------------------------------------------------------

function loadWeights(f: GGUFFile, c: ModelConfig): Weights {
  const qDim = c.nHeads * c.headDim;
  const kvDim = c.nKVHeads * c.headDim;
  /** Dequantize a tensor after checking its GGUF dims (ne0 first) are exactly `dims`. */
  const load = (name: string, ...dims: number[]): Float32Array => {
    const info = f.requireTensor(name);
    if (info.dims.length !== dims.length || info.dims.some((d, i) => d !== dims[i])) {
      throw new ModelFileError(
        'bad-shape',
        f.path,
        `expected [${dims.join(', ')}], got [${info.dims.join(', ')}]`,
        name,
      );
    }
    return dequantize(info.type, f.readTensorBytes(info), info.nElements);
  };
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const t = layerTensorNames(l);
    layers.push({
      attnNorm: load(t.attnNorm, c.dim),
      wq: load(t.q, c.dim, qDim),
      wk: load(t.k, c.dim, kvDim),
      wv: load(t.v, c.dim, kvDim),
      bq: c.qkvBias ? load(t.qBias, qDim) : undefined,
      bk: c.qkvBias ? load(t.kBias, kvDim) : undefined,
      bv: c.qkvBias ? load(t.vBias, kvDim) : undefined,
      wo: load(t.o, qDim, c.dim),
      ffnNorm: load(t.ffnNorm, c.dim),
      wGate: load(t.gate, c.dim, c.ffnDim),
      wUp: load(t.up, c.dim, c.ffnDim),
      wDown: load(t.down, c.ffnDim, c.dim),
    });
  }
  const tokenEmbedding = load('token_embd.weight', c.dim, c.vocabSize);
  return {
    tokenEmbedding,
    layers,
    finalNorm: load('output_norm.weight', c.dim),
    lmHead: c.tiedEmbeddings ? tokenEmbedding : load('output.weight', c.dim, c.vocabSize),
  };
}

// ---- the model --------------------------------------------------------------------------------

export class ReferenceModel {
  private readonly state: RunState;
  private readonly invFreqs: Float64Array; // (ropeDim/2)
  private scores = new Float64Array(0); // (≥ pos+1) attention scores of one head, grown on demand
  private readonly queries: Float32Array[] = []; // (nLayers) each layer's rotated queries at the current position
  /** Which attention the oracle computes: full (default), PoD (§5) or streaming. Keys/values are always all kept. */
  kvPlan: KVPlan = { kind: 'full' };

  private constructor(
    readonly config: ModelConfig,
    private readonly w: Weights,
  ) {
    this.state = new RunState(config);
    this.invFreqs = ropeInvFreqs(config);
  }

  /** Read the config and dequantize every weight to float32. The file may be closed afterwards. */
  static load(f: GGUFFile): ReferenceModel {
    const c = readModelConfig(f);
    return new ReferenceModel(c, loadWeights(f, c));
  }

  /** Number of positions in the KV cache, i.e. the `pos` the next `forward` call must use. */
  get position(): number {
    return this.state.keyCache[0]?.length ?? 0;
  }

  /** Forget the KV cache; the next call starts at position 0. */
  reset(): void {
    for (const layer of this.state.keyCache) layer.length = 0;
    for (const layer of this.state.valueCache) layer.length = 0;
  }

  /** Logits for every position of `tokens`, evaluated from position 0 (the cache is reset first). */
  forwardAll(tokens: readonly number[]): Float32Array[] {
    this.reset();
    return tokens.map((t, pos) => this.forward(t, pos));
  }

  /** Run one token at position `pos` (must equal `position`), append its K/V, return fresh logits (vocab). */
  forward(token: number, pos: number): Float32Array {
    const c = this.config;
    const s = this.state;
    const w = this.w;
    if (!Number.isInteger(token) || token < 0 || token >= c.vocabSize)
      throw new RangeError(`token ${token} outside vocab of ${c.vocabSize}`);
    if (pos !== this.position)
      throw new RangeError(`position ${pos} given, but the cache holds ${this.position} positions`);
    const qDim = c.nHeads * c.headDim;
    const kvDim = c.nKVHeads * c.headDim;
    const groupSize = c.nHeads / c.nKVHeads; // query heads per KV head (GQA)
    const scale = 1 / Math.sqrt(c.headDim);
    if (this.scores.length < pos + 1) this.scores = new Float64Array(Math.max(2 * this.scores.length, pos + 1));
    const att = this.scores; // (pos+1) used

    s.x.set(w.tokenEmbedding.subarray(token * c.dim, (token + 1) * c.dim));

    for (let l = 0; l < c.nLayers; l++) {
      const lw = w.layers[l]!;
      const keys = s.keyCache[l]!;
      const values = s.valueCache[l]!;

      // attention: x += Wo · attn(rope(Wq·xn), rope(Wk·xn), Wv·xn)
      rmsnorm(s.xb, s.x, lw.attnNorm, c.rmsEps);
      matmul(s.q, s.xb, lw.wq, c.dim, qDim, lw.bq);
      matmul(s.k, s.xb, lw.wk, c.dim, kvDim, lw.bk);
      matmul(s.v, s.xb, lw.wv, c.dim, kvDim, lw.bv);
      rope(s.q, c.nHeads, c, this.invFreqs, pos);
      rope(s.k, c.nKVHeads, c, this.invFreqs, pos);
      keys.push(s.k.slice());
      values.push(s.v.slice());

      this.queries[l] = s.q.slice();
      const kv = this.kvPlan;
      for (let h = 0; h < c.nHeads; h++) {
        const qOff = h * c.headDim;
        const kh = Math.floor(h / groupSize);
        const kvOff = kh * c.headDim;
        // PoD (pod-method.md §2, §5): a distant token t (S ≤ t ≤ pos−R) gets its logit from the
        // block's anchor layer a — the anchor's own query and key ('scores') or this layer's query
        // against the anchor's key ('keys'); streaming and local units drop distant tokens; anchors see all.
        const anchor = kv.kind === 'pod' ? kv.anchors[l]![kh]! : l;
        const distant = (t: number): boolean => kv.kind !== 'full' && t >= kv.sinks && t <= pos - kv.recent;
        const bias = kv.kind === 'pod' ? distantBiasOf(kv, l, h, groupSize) : 0;
        let n = 0;
        const used: number[] = [];
        for (let t = 0; t <= pos; t++) {
          // causal: only positions 0..pos exist yet
          let q = s.q,
            k = keys[t]!;
          if (distant(t)) {
            if (kv.kind === 'streaming' || anchor === LOCAL) continue; // local unit (docs/pod-qwen.md §2): proximal tokens only
            if (anchor !== l) {
              k = s.keyCache[anchor]![t]!;
              if (kv.kind === 'pod' && kv.mode === 'scores') q = this.queries[anchor]!;
            }
          }
          let dot = 0;
          for (let i = 0; i < c.headDim; i++) dot += q[qOff + i]! * k[kvOff + i]!;
          att[n++] = dot * scale + (distant(t) ? bias : 0);
          used.push(t);
        }
        softmax(att, n);
        for (let i = 0; i < c.headDim; i++) {
          let acc = 0;
          for (let j = 0; j < n; j++) acc += att[j]! * values[used[j]!]![kvOff + i]!;
          s.attnOut[qOff + i] = acc;
        }
      }
      matmul(s.xb2, s.attnOut, lw.wo, qDim, c.dim);
      for (let i = 0; i < c.dim; i++) s.x[i] = s.x[i]! + s.xb2[i]!;

      // SwiGLU feed-forward: x += Wdown · (silu(Wgate·xn) * (Wup·xn))
      rmsnorm(s.xb, s.x, lw.ffnNorm, c.rmsEps);
      matmul(s.hb, s.xb, lw.wGate, c.dim, c.ffnDim);
      matmul(s.hb2, s.xb, lw.wUp, c.dim, c.ffnDim);
      for (let i = 0; i < c.ffnDim; i++) {
        const g = s.hb[i]!;
        s.hb[i] = (g / (1 + Math.exp(-g))) * s.hb2[i]!;
      }
      matmul(s.xb2, s.hb, lw.wDown, c.ffnDim, c.dim);
      for (let i = 0; i < c.dim; i++) s.x[i] = s.x[i]! + s.xb2[i]!;
    }

    rmsnorm(s.xb, s.x, w.finalNorm, c.rmsEps);
    const logits = new Float32Array(c.vocabSize);
    matmul(logits, s.xb, w.lmHead, c.dim, c.vocabSize);
    return logits;
  }
}
