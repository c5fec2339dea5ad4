// The full KV cache: every layer keeps keys and values (f32 or f16) for every token, in engine-owned
// buffers laid out [capacity, Hkv, D] per layer so that the first P tokens are one contiguous
// prefix. layerInputs() hands out subarray views of that prefix — no copy per step. Capacity
// grows geometrically up to the context size (amortised O(1) copying per token).
import { ModelConfig } from '../model/config';
import { KVPlan } from './plan';
import { contractFor, LayerOf, StepOf } from './contract';
import { allocKV, bytesPerElement, KVArray, KVDtype, kvTensor } from './dtype';
import { HostTensor } from '../onnx/runtime';
import { CacheSnapshot, evenHeads, KVCache } from './types';
import { checkState, KVState } from './state';

const MIN_CAPACITY = 256;

export class FullKVCache implements KVCache {
  readonly kind = 'full';
  readonly plan: KVPlan;
  private zeros: Float32Array | undefined;
  private readonly masks = new Map<number, Float32Array>();
  private k: KVArray[];
  private v: KVArray[];
  private readonly bpe: number;
  private cap = 0;
  private len = 0;
  private readonly row: number; // floats per token per layer (Hkv·D)
  private readonly step: StepOf<'full'>;
  private readonly io: LayerOf<'full'>[];

  constructor(
    private readonly c: ModelConfig,
    readonly maxTokens: number,
    readonly dtype: KVDtype = 'f32',
  ) {
    this.plan = { kind: 'full', dtype };
    this.bpe = bytesPerElement(dtype);
    this.row = c.nKVHeads * c.headDim;
    ({ step: this.step, layers: this.io } = contractFor(this.plan, 'full', c));
    this.k = [];
    this.v = [];
    this.grow(Math.min(MIN_CAPACITY, maxTokens));
  }

  get length(): number {
    return this.len;
  }

  private grow(cap: number): void {
    const k: KVArray[] = [];
    const v: KVArray[] = [];
    for (let l = 0; l < this.c.nLayers; l++) {
      const nk = allocKV(this.dtype, cap * this.row);
      const nv = allocKV(this.dtype, cap * this.row);
      if (this.len > 0) {
        nk.set(this.k[l]!.subarray(0, this.len * this.row));
        nv.set(this.v[l]!.subarray(0, this.len * this.row));
      }
      k.push(nk);
      v.push(nv);
    }
    this.k = k;
    this.v = v;
    this.cap = cap;
  }

  /** mask_past [1, P], mask_new [G·T, T] (causal), split_sizes [P, T]; an empty past is one masked dummy slot. */
  stepInputs(newTokens: number): Record<string, HostTensor> {
    if (this.len + newTokens > this.maxTokens) {
      throw new RangeError(
        `context full: ${this.len} + ${newTokens} tokens exceeds the context size ${this.maxTokens}`,
      );
    }
    const P = Math.max(this.len, 1);
    let maskPast: Float32Array;
    if (this.len === 0) maskPast = new Float32Array([-Infinity]);
    else {
      if (!this.zeros || this.zeros.length < P)
        this.zeros = new Float32Array(Math.max(P, 2 * (this.zeros?.length ?? 0)));
      maskPast = this.zeros.subarray(0, P);
    }
    const G = this.c.nHeads / this.c.nKVHeads;
    const T = newTokens;
    return {
      [this.step.maskPast.name]: { type: 'float32', data: maskPast, dims: [1, P] },
      [this.step.maskNew.name]: { type: 'float32', data: this.causalMask(T), dims: [G * T, T] },
      [this.step.split.name]: { type: 'int64', data: new BigInt64Array([BigInt(P), BigInt(T)]), dims: [2] },
    };
  }

  /** Additive causal mask over the new block, rows (g, t) for each of the G query heads per KV head. */
  private causalMask(T: number): Float32Array {
    let m = this.masks.get(T);
    if (m) return m;
    const G = this.c.nHeads / this.c.nKVHeads;
    m = new Float32Array(G * T * T);
    for (let g = 0; g < G; g++)
      for (let t = 0; t < T; t++) for (let j = t + 1; j < T; j++) m[(g * T + t) * T + j] = -Infinity;
    if (this.masks.size > 8) this.masks.clear();
    this.masks.set(T, m);
    return m;
  }

  layerInputs(layer: number, _newTokens: number): Record<string, HostTensor> {
    const n = this.io[layer]!;
    if (this.len === 0) {
      const zero = allocKV(this.dtype, this.row);
      const d = [1, this.c.nKVHeads, this.c.headDim];
      return { [n.k.name]: kvTensor(this.dtype, zero, d), [n.v.name]: kvTensor(this.dtype, zero, d) };
    }
    const dims = [this.len, this.c.nKVHeads, this.c.headDim];
    const end = this.len * this.row;
    return {
      [n.k.name]: kvTensor(this.dtype, this.k[layer]!.subarray(0, end), dims),
      [n.v.name]: kvTensor(this.dtype, this.v[layer]!.subarray(0, end), dims),
    };
  }

  append(layer: number, k: KVArray, v: KVArray, newTokens: number): void {
    const need = this.len + newTokens;
    if (need > this.cap) this.grow(Math.min(this.maxTokens, Math.max(need, this.cap * 2)));
    const n = newTokens * this.row;
    if (k.length !== n || v.length !== n)
      throw new Error(`layer ${layer}: expected ${n} floats of new K/V, got ${k.length}/${v.length}`);
    this.k[layer]!.set(k, this.len * this.row);
    this.v[layer]!.set(v, this.len * this.row);
  }

  commit(newTokens: number): void {
    this.len += newTokens;
  }

  truncate(n: number): void {
    if (n < 0 || n > this.len) throw new RangeError(`cannot truncate ${this.len} tokens to ${n}`);
    this.len = n;
  }

  /** Keys and values of one layer for the stored tokens, [tokens, Hkv, D] each (tests, inspection). */
  layer(l: number): { keys: KVArray; values: KVArray } {
    return { keys: this.k[l]!.subarray(0, this.len * this.row), values: this.v[l]!.subarray(0, this.len * this.row) };
  }

  /** ints [length]; buffers: K of every layer, then V of every layer, [length, Hkv, D] each. */
  exportState(): KVState {
    const n = this.len * this.row;
    return {
      kind: this.kind,
      dtype: this.dtype,
      length: this.len,
      ints: Int32Array.of(this.len),
      buffers: [...this.k, ...this.v].map((a) => a.slice(0, n)),
    };
  }

  importState(s: KVState): void {
    const len = s.ints[0] ?? -1;
    if (len !== s.length || len < 0 || len > this.maxTokens)
      throw new RangeError(`KV state length ${len} does not fit a cache of ${this.maxTokens} tokens`);
    checkState(s, this.kind, this.dtype, 1, new Array<number>(2 * this.c.nLayers).fill(len * this.row));
    if (len > this.cap) this.grow(Math.min(this.maxTokens, Math.max(len, this.cap * 2)));
    const L = this.c.nLayers;
    for (let l = 0; l < L; l++) {
      this.k[l]!.set(s.buffers[l]!);
      this.v[l]!.set(s.buffers[L + l]!);
    }
    this.len = len;
  }

  byteSize(): number {
    return 2 * this.c.nLayers * this.cap * this.row * this.bpe;
  }

  snapshot(): CacheSnapshot {
    const perLayerBytes = this.cap * this.row * this.bpe;
    const layerUsed = 2 * this.len * this.row * this.bpe;
    const used = this.c.nLayers * layerUsed;
    return {
      kind: this.kind,
      tokens: this.len,
      capacityTokens: this.cap,
      nLayers: this.c.nLayers,
      nKVHeads: this.c.nKVHeads,
      headDim: this.c.headDim,
      bytesPerElement: this.bpe,
      allocatedBytes: this.byteSize(),
      usedBytes: used,
      fullCacheBytes: used,
      perLayer: Array.from({ length: this.c.nLayers }, (_, layer) => ({
        layer,
        kBytes: perLayerBytes,
        vBytes: perLayerBytes,
        usedBytes: layerUsed,
        fullBytes: layerUsed,
      })),
      perHead: evenHeads(this.c.nLayers, this.c.nKVHeads, layerUsed),
    };
  }
}
