// Builds the ONNX graph for a contiguous range of decoder layers of a llama/qwen2 model
// ("segment"). The engine, not ONNX Runtime, owns the KV cache: each layer reads its past keys
// and values as graph inputs shaped [P, Hkv, D] — zero-copy views of engine buffers — and
// returns only the new tokens' keys and values [T, Hkv, D] for the engine to append.
//
// Attention is written as scores over cache segments, one softmax, and a sum of per-segment
// probability·value products (the same partition pod-method.md §5 uses for proximal/distant
// tokens). With GQA the Hq query heads are regrouped as [Hkv, G·T, D] so every batched MatMul
// reads each KV head once, and FusedMatMul's transBatchB reads the [P, Hkv, D] cache in place.
//
// Graph inputs : hidden_in [T, dim] (embeddings or previous segment's residual stream),
//                position_ids int64 [1, T], the cache's per-layer tensors and per-step masks and
//                split sizes (attention.ts, attention-pod.ts); the last segment also logit_idx
//                int64 [K] (which rows get logits).
// Graph outputs: new_k_l / new_v_l [T, Hkv, D]; hidden_out [T, dim] or logits [K, vocab].
import { ModelConfig, layerTensorNames, ropeInvFreqs } from '../model/config';
import { GraphBuilder, InitializerSink, MS_DOMAIN } from './builder';
import { OnnxType } from './proto';
import { concatRows, MatMulEmitter, WeightRows } from './weights';
import { fullAttention, streamingAttention } from './attention';
import { PodAttention } from './attention-pod';
import { KVPlan, planDtype } from '../kv/plan';
import { MODEL_INPUTS } from '../kv/contract';

export interface WeightSource {
  /** A 2-D weight by GGUF tensor name, packed a range of rows at a time (weights.ts). */
  weight(name: string): WeightRows;
  /** A 1-D float tensor (norm weights, biases) by GGUF name; undefined if absent. */
  vector(name: string): Float32Array | undefined;
}

export interface SegmentSpec {
  firstLayer: number;
  endLayer: number; // exclusive
  isLast: boolean;
  /** Positions the RoPE tables cover (the context size). */
  maxPositions: number;
  accuracyLevel: number;
  /** The KV cache the graph's attention is written for. */
  kv: KVPlan;
  /** Also output every layer's rotated queries query_l [T, Hq, D] (calibration reads attention from them). */
  exportQueries?: boolean;
}

export const kvOutputNames = (l: number) => ({ k: `new_k_${l}`, v: `new_v_${l}` });

/**
 * The segment's ONNX model bytes; with a sink, the weights are handed to it (packed only if the
 * sink reads them) and the bytes hold the graph, its constants and references to the weights
 * (external data).
 */
export function buildDecoderSegment(
  c: ModelConfig,
  w: WeightSource,
  s: SegmentSpec,
  sink?: InitializerSink,
): { bytes: Uint8Array; weightBytes: number } {
  const g = new GraphBuilder(`decoder_${s.firstLayer}_${s.endLayer}`, sink);
  const mm = new MatMulEmitter(g, s.accuracyLevel);
  const { dim, nHeads: Hq, nKVHeads: Hkv, headDim: D } = c;
  const eps = { float: c.rmsEps };

  let x = g.input(MODEL_INPUTS.hidden, OnnxType.FLOAT, ['T', dim]);
  const pos = g.input(MODEL_INPUTS.positions, OnnxType.INT64, [1, 'T']);
  const pod = s.kv.kind === 'pod' ? new PodAttention(s.kv) : undefined;

  // RoPE tables [maxPositions, ropeDim/2], llama3 / linear scaling folded into the frequencies.
  const inv = ropeInvFreqs(c);
  const half = c.ropeDim / 2;
  const cos = new Float32Array(s.maxPositions * half);
  const sin = new Float32Array(s.maxPositions * half);
  for (let p = 0; p < s.maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * inv[i]!;
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  const cosT = g.f32('rope_cos', [s.maxPositions, half], cos);
  const sinT = g.f32('rope_sin', [s.maxPositions, half], sin);
  const rope = (t: string, heads: number, name: string): string =>
    g.op1(
      'RotaryEmbedding',
      [t, pos, cosT, sinT],
      {
        interleaved: c.ropeStyle === 'normal' ? 1 : 0,
        num_heads: heads,
        rotary_embedding_dim: c.ropeDim,
      },
      { domain: MS_DOMAIN, name },
    );

  const vec = (name: string): string => {
    const v = w.vector(name);
    if (!v) throw new Error(`missing tensor ${name}`);
    return g.f32(name, [v.length], v);
  };
  const norm = (t: string, weight: string, name: string): string =>
    g.op1('SimplifiedLayerNormalization', [t, vec(weight)], { axis: -1, epsilon: eps }, { name });
  /** (norm(a + b), a + b) in one kernel. */
  const skipNorm = (a: string, b: string, weight: string, name: string): [string, string] => {
    const outs = g.op(
      'SkipSimplifiedLayerNormalization',
      [a, b, vec(weight)],
      { epsilon: eps },
      { domain: MS_DOMAIN, name, nOutputs: 4 },
    );
    return [outs[0]!, outs[3]!];
  };

  const names0 = layerTensorNames(s.firstLayer);
  let h = norm(x, names0.attnNorm, `norm_attn_${s.firstLayer}`);

  for (let l = s.firstLayer; l < s.endLayer; l++) {
    const n = layerTensorNames(l);
    // --- Q, K, V projections (fused when the three share one packing) ---
    const wq = w.weight(n.q),
      wk = w.weight(n.k),
      wv = w.weight(n.v);
    const fused = concatRows([wq, wk, wv]);
    let q: string, k: string, v: string;
    if (fused) {
      const qkv = mm.matmul(h, fused, `qkv_${l}`);
      [q, k, v] = g.op('Split', [qkv, g.i64([Hq * D, Hkv * D, Hkv * D])], { axis: -1 }, { nOutputs: 3 }) as [
        string,
        string,
        string,
      ];
    } else {
      q = mm.matmul(h, wq, `q_${l}`);
      k = mm.matmul(h, wk, `k_${l}`);
      v = mm.matmul(h, wv, `v_${l}`);
    }
    if (c.qkvBias) {
      q = g.op1('Add', [q, vec(n.qBias)]);
      k = g.op1('Add', [k, vec(n.kBias)]);
      v = g.op1('Add', [v, vec(n.vBias)]);
    }
    // RotaryEmbedding wants [1, T, H·D].
    const q3 = rope(g.op1('Unsqueeze', [q, g.i64([0])]), Hq, `rope_q_${l}`);
    const k3 = rope(g.op1('Unsqueeze', [k, g.i64([0])]), Hkv, `rope_k_${l}`);
    const kv = kvOutputNames(l);
    // New keys/values in the cache's storage type: what this step attends to is exactly what the
    // cache will hold, so one prefill, chunks and token-by-token agree.
    const f16 = planDtype(s.kv) === 'f16';
    const kvT = f16 ? OnnxType.FLOAT16 : OnnxType.FLOAT;
    const store = (t: string, out: string): string =>
      f16
        ? g.op1('Cast', [g.op1('Reshape', [t, g.i64([-1, Hkv, D])])], { to: OnnxType.FLOAT16 }, { output: out })
        : g.op1('Reshape', [t, g.i64([-1, Hkv, D])], {}, { output: out });
    const kNew = store(k3, kv.k);
    const vNew = store(v, kv.v);
    g.output(kv.k, kvT, ['T', Hkv, D]);
    g.output(kv.v, kvT, ['T', Hkv, D]);
    // Q: [1,T,Hq·D] → [T,Hq,D] → [Hq,T,D] → [Hkv, G·T, D]; row (g, t) of KV head h is query head h·G+g at token t.
    const qt = g.op1('Reshape', [q3, g.i64([-1, Hq, D])]);
    if (s.exportQueries) {
      g.op1('Identity', [qt], {}, { output: `query_${l}` });
      g.output(`query_${l}`, OnnxType.FLOAT, ['T', Hq, D]);
    }
    const qh = g.op1('Transpose', [qt], { perm: [1, 0, 2] });
    const qr = g.op1('Reshape', [qh, g.i64([Hkv, -1, D])]);

    const att = { g, plan: s.kv, f16, layer: l, nKVHeads: Hkv, headDim: D, qr, kNew, vNew };
    const o =
      s.kv.kind === 'full' ? fullAttention(att) : s.kv.kind === 'streaming' ? streamingAttention(att) : pod!.layer(att);
    // [Hkv, G·T, D] → [Hq, T, D] → [T, Hq, D] → [T, Hq·D]
    const oT = g.op1('Transpose', [g.op1('Reshape', [o, g.i64([Hq, -1, D])])], { perm: [1, 0, 2] });
    const attn = mm.matmul(g.op1('Reshape', [oT, g.i64([-1, Hq * D])]), w.weight(n.o), `o_${l}`);

    // --- FFN (SwiGLU) ---
    const [h2, x2] = skipNorm(attn, x, n.ffnNorm, `norm_ffn_${l}`);
    const wg = w.weight(n.gate),
      wu = w.weight(n.up);
    const gu = concatRows([wg, wu]);
    let gate: string, up: string;
    if (gu) {
      [gate, up] = g.op(
        'Split',
        [mm.matmul(h2, gu, `gate_up_${l}`), g.i64([c.ffnDim, c.ffnDim])],
        { axis: -1 },
        { nOutputs: 2 },
      ) as [string, string];
    } else {
      gate = mm.matmul(h2, wg, `gate_${l}`);
      up = mm.matmul(h2, wu, `up_${l}`);
    }
    const act = g.op1('Mul', [g.op1('Mul', [gate, g.op1('Sigmoid', [gate])]), up]);
    const ffn = mm.matmul(act, w.weight(n.down), `down_${l}`);

    if (l + 1 < s.endLayer) {
      [h, x] = skipNorm(ffn, x2, layerTensorNames(l + 1).attnNorm, `norm_attn_${l + 1}`);
    } else if (s.isLast) {
      const idx = g.input(MODEL_INPUTS.logitRows, OnnxType.INT64, ['K']);
      const rows = (t: string) => g.op1('Gather', [t, idx], { axis: 0 });
      const [hf] = skipNorm(rows(ffn), rows(x2), 'output_norm.weight', 'norm_out');
      const head = c.tiedEmbeddings ? w.weight('token_embd.weight') : w.weight('output.weight');
      const logits = mm.matmul(hf, head, 'lm_head');
      g.op1('Identity', [logits], {}, { output: 'logits' });
      g.output('logits', OnnxType.FLOAT, ['K', c.vocabSize]);
    } else {
      g.op1('Add', [ffn, x2], {}, { output: 'hidden_out' });
      g.output('hidden_out', OnnxType.FLOAT, ['T', dim]);
    }
  }
  return { bytes: g.encode(), weightBytes: mm.bytes };
}
