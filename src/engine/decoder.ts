// The ONNX decoder: loads a GGUF model into one or more ONNX Runtime sessions (segments of
// consecutive layers, each under protobuf's 2 GB limit) and runs one forward step over a batch
// of new tokens against an engine-owned KV cache. Graph and cache meet only through the plan's
// declared contract (kv/contract.ts): each session's inputs are checked against it at load, and
// a cache's feeds before its first run. Token embeddings are looked up in TypeScript
// straight from the GGUF file (only the rows needed), so the embedding table is not held twice.
// Converted segments are cached on disk with their weights as external data (onnx/model-cache.ts):
// ORT maps them instead of copying an in-memory protobuf, and later loads skip the conversion.
import { GGUFFile } from './gguf/file';
import { ModelFileError } from './gguf/errors';
import { dequantizeRows } from './gguf/tensor-data';
import { dequantize } from './gguf/quants';
import { typeName } from './gguf/types';
import { ModelConfig, layerTensorNames } from './model/config';
import { buildDecoderSegment, kvOutputNames, SegmentSpec, WeightSource } from './onnx/decoder-graph';
import { PACKABLE_TYPES, packedBytes } from './onnx/pack';
import { tensorRows } from './onnx/weights';
import { HostTensor, OrtSession } from './onnx/runtime';
import { cachedModel, defaultModelCacheDir } from './onnx/model-cache';
import { KVCache } from './kv/types';
import { describePlan, KVPlan, LOCAL, planDtype, validatePlan } from './kv/plan';
import { asKV, KVArray } from './kv/dtype';
import { checkInputNames, MODEL_INPUTS, segmentInputNames } from './kv/contract';

/** Largest weight payload per ONNX session (protobuf messages must stay under 2 GiB). */
const SEGMENT_BYTES = 1.5 * 2 ** 30;

export interface DecoderOptions {
  threads: number;
  /** Context size: RoPE tables and the cache are sized for this many positions. */
  contextSize: number;
  /** MatMulNBits accuracy_level (4 = int8 activations, the fast path on x86). */
  accuracyLevel?: number;
  profilePrefix?: string;
  /** The KV cache plan the graph is built for (default: full cache). */
  kv?: KVPlan;
  /** Build the graph with per-layer query outputs (see lastQueries); for calibration. */
  exportQueries?: boolean;
  /** Largest packed-weight payload of one ONNX session (default 1.5 GiB, under protobuf's 2 GiB). */
  segmentBytes?: number;
  /**
   * Directory of converted models (onnx/model-cache.ts): graphs with the weights as external data
   * that ONNX Runtime maps instead of copying, reused by later loads. Default
   * defaultModelCacheDir(); null builds in memory (when the directory cannot be written, too).
   */
  modelCache?: string | null;
  /** Called as loading passes a stage (memory reports: bench --memory); `detail` names the segment. */
  onStage?: LoadStageHook;
}

/** Load stages reported to DecoderOptions.onStage / EngineOptions.onStage. */
export type LoadStage = 'parse' | 'graph build' | 'session create';
export type LoadStageHook = (stage: LoadStage, detail?: string) => void;

interface Segment {
  first: number;
  end: number;
  session: OrtSession;
  /** The input names the plan's contract declares for this segment (== session.inputNames). */
  inputs: readonly string[];
}

export class OnnxDecoder {
  private constructor(
    readonly file: GGUFFile,
    readonly config: ModelConfig,
    private readonly segments: Segment[],
    readonly weightBytes: number,
    readonly options: DecoderOptions,
    readonly plan: KVPlan,
  ) {}

  private readonly queries: Float32Array[] = [];
  /** Caches whose feeds matched the contract (their input names depend only on the plan: checked once per cache). */
  private readonly checked = new WeakSet<KVCache>();

  /** With exportQueries: each layer's rotated queries [T, Hq, D] from the last step. */
  lastQueries(layer: number): Float32Array {
    const q = this.queries[layer];
    if (!q) throw new Error('no queries: load the decoder with exportQueries and run a step first');
    return q;
  }

  static async load(file: GGUFFile, config: ModelConfig, o: DecoderOptions): Promise<OnnxDecoder> {
    checkTensors(file, config);
    const kv: KVPlan = o.kv ?? { kind: 'full' };
    validatePlan(kv, config);
    const plan = planSegments(file, config, kv, o.segmentBytes ?? SEGMENT_BYTES);
    const source = weightSource(file);
    const segments: Segment[] = [];
    let weightBytes = 0;
    const cacheDir = o.modelCache === undefined ? defaultModelCacheDir() : o.modelCache;
    for (const [first, end] of plan) {
      const spec: SegmentSpec = {
        firstLayer: first,
        endLayer: end,
        isLast: end === config.nLayers,
        maxPositions: o.contextSize,
        accuracyLevel: o.accuracyLevel ?? 4,
        kv,
        exportQueries: o.exportQueries,
      };
      const inMemory = (): { model: Uint8Array; weightBytes: number } => {
        const b = buildDecoderSegment(config, source, spec);
        return { model: b.bytes, weightBytes: b.weightBytes };
      };
      let built: { model: Uint8Array | string; weightBytes: number } | undefined;
      if (cacheDir !== null) {
        try {
          const c = cachedModel(cacheDir, file.path, { first, end }, { spec, config }, (sink) =>
            buildDecoderSegment(config, source, spec, sink),
          );
          built = { model: c.modelPath, weightBytes: c.weightBytes };
        } catch {
          built = undefined; // an unwritable cache: build in memory
        }
      }
      built ??= inMemory();
      o.onStage?.('graph build', `layers ${first}–${end - 1}`);
      const sessionOptions = { threads: o.threads, profilePrefix: o.profilePrefix };
      let session: OrtSession;
      try {
        session = await OrtSession.create(built.model, sessionOptions);
      } catch (e) {
        if (typeof built.model !== 'string') throw e;
        // A cache entry that vanished (pruned by another process) or whose weights file ORT
        // refuses: build this segment in memory instead; the GGUF itself is the source of truth.
        built = inMemory();
        session = await OrtSession.create(built.model, sessionOptions);
      }
      weightBytes += built.weightBytes;
      o.onStage?.('session create', `layers ${first}–${end - 1}`);
      const inputs = segmentInputNames(kv, first, end, config.nLayers, config.nKVHeads, config.headDim);
      try {
        checkInputNames(`the ONNX graph of layers ${first}–${end - 1}`, session.inputNames, inputs);
      } catch (e) {
        await session.release();
        for (const s of segments) await s.session.release();
        throw e;
      }
      segments.push({ first, end, session, inputs });
    }
    return new OnnxDecoder(file, config, segments, weightBytes, o, kv);
  }

  async dispose(): Promise<void> {
    for (const s of this.segments) await s.session.release();
    this.segments.length = 0;
    this.file.close();
  }

  /** Layer ranges of the ONNX sessions, [first, end) each. */
  get segmentRanges(): [number, number][] {
    return this.segments.map((s) => [s.first, s.end]);
  }

  endProfiling(): string[] {
    return this.segments.map((s) => s.session.endProfiling());
  }

  /**
   * Run `tokens` (positions cache.length …) through the model, storing their K/V in `cache`.
   * Returns logits [logitRows.length, vocab] for the requested rows (indices into `tokens`).
   */
  async step(tokens: readonly number[], cache: KVCache, logitRows: readonly number[]): Promise<Float32Array> {
    const c = this.config;
    const T = tokens.length;
    if (T === 0) throw new Error('step needs at least one token');
    for (const t of tokens)
      if (!Number.isInteger(t) || t < 0 || t >= c.vocabSize)
        throw new RangeError(`token id ${t} outside vocabulary of ${c.vocabSize}`);
    const start = cache.length;
    if (start + T > this.options.contextSize) {
      throw new RangeError(
        `context overflow: ${start} cached + ${T} new tokens > context size ${this.options.contextSize}`,
      );
    }
    const pos = new BigInt64Array(T);
    for (let i = 0; i < T; i++) pos[i] = BigInt(start + i);
    if (cache.plan.kind !== this.plan.kind || planDtype(cache.plan) !== planDtype(this.plan)) {
      throw new Error(
        `this model was loaded for a ${this.plan.kind} ${planDtype(this.plan)} KV cache, not ${cache.plan.kind} ${planDtype(cache.plan)}`,
      );
    }
    const common: Record<string, HostTensor> = {
      ...cache.stepInputs(T),
      [MODEL_INPUTS.positions]: { type: 'int64', data: pos, dims: [1, T] },
    };
    let hidden: HostTensor = { type: 'float32', data: this.embed(tokens), dims: [T, c.dim] };
    let logits: Float32Array | undefined;
    // The new keys/values of every layer are checked and held until the whole step succeeded:
    // a step that fails (an ORT error, non-finite activations) leaves the cache as it was.
    const kv: { k: KVArray; v: KVArray }[] = [];
    let firstBad = -1;
    for (const seg of this.segments) {
      const feeds: Record<string, HostTensor> = { ...common, [MODEL_INPUTS.hidden]: hidden };
      for (let l = seg.first; l < seg.end; l++) Object.assign(feeds, cache.layerInputs(l, T));
      if (seg.end === c.nLayers) {
        feeds[MODEL_INPUTS.logitRows] = {
          type: 'int64',
          data: BigInt64Array.from(logitRows.map((r) => BigInt(r))),
          dims: [logitRows.length],
        };
      }
      if (!this.checked.has(cache))
        checkInputNames(
          `the feeds of a ${cache.kind} cache step for layers ${seg.first}–${seg.end - 1}`,
          Object.keys(feeds),
          seg.inputs,
        );
      const out = await seg.session.run(feeds);
      if (this.options.exportQueries) {
        for (let l = seg.first; l < seg.end; l++) this.queries[l] = out[`query_${l}`]!.data as Float32Array;
      }
      for (let l = seg.first; l < seg.end; l++) {
        const n = kvOutputNames(l);
        const k = asKV(planDtype(this.plan), out[n.k]!),
          v = asKV(planDtype(this.plan), out[n.v]!);
        if (firstBad < 0 && (!allFinite(k) || !allFinite(v))) firstBad = l;
        kv[l] = { k, v };
      }
      if (seg.end === c.nLayers) logits = out.logits!.data as Float32Array;
      else hidden = out.hidden_out!;
    }
    if (firstBad >= 0 || !allFinite(logits!)) throw new NonFiniteError(start, T, firstBad, this.plan);
    this.checked.add(cache);
    kv.forEach((x, l) => cache.append(l, x.k, x.v, T));
    cache.commit(T);
    return logits!;
  }

  /** Embedding rows for the tokens, [T, dim]. */
  embed(tokens: readonly number[]): Float32Array {
    const info = this.file.requireTensor('token_embd.weight');
    const d = this.config.dim;
    const out = new Float32Array(tokens.length * d);
    tokens.forEach((t, i) => out.set(dequantizeRows(this.file, info, t, 1), i * d));
    return out;
  }
}

/**
 * The model produced NaN or ±∞ in a step. Generation stops here instead of sampling from garbage
 * (a NaN row samples as token 0, `!`); the cache is unchanged. `layer` is the first layer whose
 * new keys/values are non-finite (its input, the output of layer − 1, already was), or −1 when
 * only the logits are (the last layers or the output head).
 */
export class NonFiniteError extends Error {
  override readonly name = 'NonFiniteError';
  constructor(
    readonly position: number,
    readonly tokens: number,
    readonly layer: number,
    readonly plan: KVPlan,
  ) {
    const where =
      layer < 0
        ? 'in the logits (the last layer or the output head)'
        : layer === 0
          ? 'already in the keys/values of layer 0 (the embeddings or the first norm)'
          : `first in the keys/values of layer ${layer}, so in the output of layer ${layer - 1}`;
    super(
      `the model produced NaN/infinite values for positions ${position}–${position + tokens - 1} (a step of ${tokens} tokens), ${where}; ` +
        `KV cache: ${describePlan(plan)}, ${planDtype(plan)}. Nothing was added to the cache. ` +
        'Try the full cache (--kv full / podlens.kv.cache "full") or f32 storage (--kv-dtype f32), and please report it with these numbers.',
    );
  }
}

/** No NaN or ±∞ (f16 data as raw bits: exponent all ones). */
function allFinite(a: Float32Array | Uint16Array): boolean {
  if (a instanceof Uint16Array) {
    for (let i = 0; i < a.length; i++) if ((a[i]! & 0x7c00) === 0x7c00) return false;
    return true;
  }
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

/** The weights of a GGUF file as the graph builder takes them: packed matmul weights, float vectors. */
export function weightSource(f: GGUFFile): WeightSource {
  return {
    weight: (name) => {
      const info = f.requireTensor(name);
      return tensorRows(info, (start, length) => f.readTensorBytes(info, start, length));
    },
    vector: (name) => {
      const info = f.tensor(name);
      if (!info) return undefined;
      return dequantize(info.type, f.readTensorBytes(info), info.nElements);
    },
  };
}

/** Every tensor the graph needs exists, has the right shape and a type we can pack. */
function checkTensors(f: GGUFFile, c: ModelConfig): void {
  const need: [string, number[]][] = [
    ['token_embd.weight', [c.dim, c.vocabSize]],
    ['output_norm.weight', [c.dim]],
  ];
  if (!c.tiedEmbeddings) need.push(['output.weight', [c.dim, c.vocabSize]]);
  const qd = c.nHeads * c.headDim,
    kvd = c.nKVHeads * c.headDim;
  for (let l = 0; l < c.nLayers; l++) {
    const n = layerTensorNames(l);
    need.push(
      [n.attnNorm, [c.dim]],
      [n.ffnNorm, [c.dim]],
      [n.q, [c.dim, qd]],
      [n.k, [c.dim, kvd]],
      [n.v, [c.dim, kvd]],
      [n.o, [qd, c.dim]],
      [n.gate, [c.dim, c.ffnDim]],
      [n.up, [c.dim, c.ffnDim]],
      [n.down, [c.ffnDim, c.dim]],
    );
    if (c.qkvBias) need.push([n.qBias, [qd]], [n.kBias, [kvd]], [n.vBias, [kvd]]);
  }
  for (const [name, dims] of need) {
    const t = f.requireTensor(name);
    if (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
      throw new ModelFileError(
        'bad-shape',
        f.path,
        `shape [${t.dims.join(', ')}], expected [${dims.join(', ')}]`,
        name,
      );
    }
    if (!PACKABLE_TYPES.includes(t.type)) {
      throw new ModelFileError(
        'unsupported-type',
        f.path,
        `type ${typeName(t.type)} cannot be run; supported: ${PACKABLE_TYPES.map(typeName).join(', ')}`,
        name,
      );
    }
  }
}

/**
 * Split layers into segments whose packed weights stay under SEGMENT_BYTES. With PoD, a segment
 * may only start at a layer where every KV head starts a block (the anchors' logits and keys
 * stay inside one graph).
 */
function planSegments(f: GGUFFile, c: ModelConfig, kv: KVPlan, maxBytes: number): [number, number][] {
  // No unit at or above l reads an anchor below l (local units read none).
  const canBreak = (l: number): boolean =>
    kv.kind !== 'pod' || kv.anchors.slice(l).every((row) => row.every((a) => a === LOCAL || a >= l));
  const sizeOf = (name: string): number => {
    const t = f.requireTensor(name);
    return t.dims.length === 2 ? packedBytes(t.type, t.dims[0]!, t.dims[1]!) : t.nElements * 4;
  };
  const head = sizeOf(c.tiedEmbeddings ? 'token_embd.weight' : 'output.weight');
  const plan: [number, number][] = [];
  let first = 0,
    acc = 0;
  for (let l = 0; l < c.nLayers; l++) {
    const n = layerTensorNames(l);
    const bytes = [n.q, n.k, n.v, n.o, n.gate, n.up, n.down].reduce((s, x) => s + sizeOf(x), 0);
    const extra = l === c.nLayers - 1 ? head : 0;
    if (l > first && acc + bytes + extra > maxBytes && canBreak(l)) {
      plan.push([first, l]);
      first = l;
      acc = 0;
    }
    acc += bytes + extra;
  }
  plan.push([first, c.nLayers]);
  return plan;
}
