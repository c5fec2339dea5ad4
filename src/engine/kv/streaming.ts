// The StreamingLLM baseline cache: sinks + a ring of recent tokens (ring.ts), and tokens pushed
// out of the ring are dropped. Same window as PoD, so "PoD vs streaming" isolates what keeping
// the distant tokens (PoD's point) is worth.
import { ModelConfig } from '../model/config';
import { HostTensor } from '../onnx/runtime';
import { KVPlan, planDtype } from './plan';
import { contractFor, LayerOf, StepOf } from './contract';
import { bytesPerElement, KVArray, KVDtype, kvTensor } from './dtype';
import { ProximalRing } from './ring';
import { CacheSnapshot, evenHeads, KVCache } from './types';
import { checkState, KVState, restoreRing, ringInts } from './state';

type StreamingPlan = Extract<KVPlan, { kind: 'streaming' }>;

export class StreamingKVCache implements KVCache {
  readonly kind = 'streaming';
  private readonly ring: ProximalRing;
  private dropped = 0;
  private pendingEvictions = 0;
  private readonly dtype: KVDtype;
  private readonly step: StepOf<'streaming'>;
  private readonly io: LayerOf<'streaming'>[];

  constructor(
    private readonly c: ModelConfig,
    readonly plan: StreamingPlan,
    readonly maxTokens: number,
  ) {
    this.dtype = planDtype(plan);
    this.ring = new ProximalRing(c, plan.sinks, plan.recent, this.dtype);
    ({ step: this.step, layers: this.io } = contractFor(plan, 'streaming', c));
  }

  get length(): number {
    return this.ring.len;
  }

  stepInputs(T: number): Record<string, HostTensor> {
    if (this.length + T > this.maxTokens)
      throw new RangeError(`context full: ${this.length} + ${T} tokens exceeds the context size ${this.maxTokens}`);
    this.pendingEvictions = this.ring.evictions(T);
    const prox = this.ring.proxMask(T);
    return {
      [this.step.maskProxA.name]: { type: 'float32', data: prox, dims: [this.ring.G * T, this.ring.P1 + T] },
      [this.step.splitA.name]: {
        type: 'int64',
        data: BigInt64Array.from([BigInt(this.ring.P1), BigInt(T)]),
        dims: [2],
      },
    };
  }

  layerInputs(layer: number, _T: number): Record<string, HostTensor> {
    const n = this.io[layer]!;
    const dims = [this.ring.P1, this.c.nKVHeads, this.c.headDim];
    return {
      [n.kp.name]: kvTensor(this.dtype, this.ring.kp[layer]!, dims),
      [n.vp.name]: kvTensor(this.dtype, this.ring.vp[layer]!, dims),
    };
  }

  append(layer: number, k: KVArray, v: KVArray, T: number): void {
    this.ring.write(layer, T, k, v);
  }

  commit(T: number): void {
    this.dropped += this.pendingEvictions;
    this.ring.commit(T);
  }

  truncate(n: number): void {
    if (n === this.length) return;
    if (n !== 0 && this.dropped > 0)
      throw new RangeError('a streaming cache cannot rewind after dropping tokens; rebuild from the start');
    if (n < 0 || n > this.length) throw new RangeError(`cannot truncate ${this.length} tokens to ${n}`);
    for (let s = 0; s < this.ring.P1; s++) if (this.ring.slotPos[s]! >= n) this.ring.slotPos[s] = -1;
    this.ring.len = n;
    if (n === 0) this.dropped = 0;
  }

  /** ints [length, dropped, ...slot positions]; buffers: ring K, then ring V, per layer. */
  exportState(): KVState {
    return {
      kind: this.kind,
      dtype: this.dtype,
      length: this.length,
      ints: ringInts(this.ring, this.dropped),
      buffers: [...this.ring.kp, ...this.ring.vp].map((a) => a.slice()),
    };
  }

  importState(s: KVState): void {
    const len = s.ints[0] ?? -1,
      dropped = s.ints[1] ?? -1;
    if (len !== s.length || len < 0 || len > this.maxTokens || dropped < 0 || dropped > len)
      throw new RangeError(`KV state: ${len} tokens, ${dropped} dropped do not fit this streaming cache`);
    checkState(
      s,
      this.kind,
      this.dtype,
      2 + this.ring.P1,
      new Array<number>(2 * this.c.nLayers).fill(this.ring.P1 * this.ring.row),
    );
    restoreRing(this.ring, s.ints, s.buffers);
    this.dropped = dropped;
  }

  byteSize(): number {
    return this.ring.kp.reduce((s, a) => s + a.byteLength, 0) + this.ring.vp.reduce((s, a) => s + a.byteLength, 0);
  }

  snapshot(): CacheSnapshot {
    const { nLayers, nKVHeads: H, headDim: D } = this.c;
    const b = bytesPerElement(this.dtype);
    const per = this.ring.P1 * H * D * b;
    const { sinks, recent } = this.ring.counts();
    const layerUsed = 2 * (sinks + recent) * H * D * b,
      layerFull = 2 * this.length * H * D * b;
    const used = nLayers * layerUsed,
      full = nLayers * layerFull;
    return {
      kind: this.kind,
      tokens: this.length,
      capacityTokens: this.ring.P1,
      nLayers,
      nKVHeads: H,
      headDim: D,
      bytesPerElement: b,
      allocatedBytes: this.byteSize(),
      usedBytes: used,
      fullCacheBytes: full,
      perLayer: Array.from({ length: nLayers }, (_, layer) => ({
        layer,
        kBytes: per,
        vBytes: per,
        usedBytes: layerUsed,
        fullBytes: layerFull,
      })),
      perHead: evenHeads(nLayers, H, layerUsed),
      pod: {
        sinks: this.plan.sinks,
        recent: this.plan.recent,
        mode: 'streaming',
        anchors: [],
        tokens: { sinks, recent, distant: 0 },
        savedFraction: full > 0 ? 1 - used / full : 0,
      },
    };
  }
}
