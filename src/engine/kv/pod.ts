// The PoD KV cache (pod-method.md §4): every (layer, KV head) unit keeps keys and values for the
// proximal tokens (S sinks + ring of R recent, ring.ts); tokens pushed out of the ring keep their
// values in every unit but their keys only in anchor units. Per layer the distant store
// (distant.ts: plain or int8) holds values [n, Hkv, D] and keys [n, nA, D] for that layer's nA
// anchor heads, in position order. Step masks and split sizes for attention-pod.ts come from here.
// This object owns all of it and describes itself (byteSize, snapshot) for the visualizer.
import { ModelConfig } from '../model/config';
import { HostTensor } from '../onnx/runtime';
import { anchorHeads, KVPlan, planDtype, valueHeads } from './plan';
import { contractFor, LayerOf, StepOf } from './contract';
import { bytesPerElement, KVArray, KVDtype, kvTensor } from './dtype';
import { DistantStore, PlainDistant } from './distant';
import { QuantDistant } from './distant-quant';
import { checkState, KVState, restoreRing, ringInts } from './state';
import { ProximalRing, tile } from './ring';
import { CacheSnapshot, KVCache } from './types';

type PodPlan = Extract<KVPlan, { kind: 'pod' }>;
/** Mask value of the D part: finite, so a query with no distant token gets finite (gated-out) probabilities. */
const NEG = -1e30;

export class PodKVCache implements KVCache {
  readonly kind = 'pod';
  private readonly ring: ProximalRing;
  private readonly anc: number[][]; // anchor heads per layer
  private readonly vh: number[][]; // non-local heads per layer (they keep distant values)
  private readonly dist: DistantStore[];
  private readonly dtype: KVDtype;
  private readonly bpe: number;
  private readonly step: StepOf<'pod'>;
  private readonly io: LayerOf<'pod'>[];
  private nd = 0;
  private pendingEvictions = 0;

  constructor(
    private readonly c: ModelConfig,
    readonly plan: PodPlan,
    readonly maxTokens: number,
  ) {
    this.dtype = planDtype(plan);
    this.bpe = bytesPerElement(this.dtype);
    this.ring = new ProximalRing(c, plan.sinks, plan.recent, this.dtype);
    this.anc = Array.from({ length: c.nLayers }, (_, l) => anchorHeads(plan, l));
    this.vh = Array.from({ length: c.nLayers }, (_, l) => valueHeads(plan, l));
    ({ step: this.step, layers: this.io } = contractFor(plan, 'pod', c));
    const rows = Math.max(1, maxTokens - this.ring.P1);
    this.dist = this.anc.map((heads, l) =>
      plan.distantQuant
        ? new QuantDistant(plan.distantQuant, this.dtype, c.headDim, heads, this.vh[l]!, rows)
        : new PlainDistant(this.dtype, c.headDim, heads, this.vh[l]!, rows),
    );
  }

  get length(): number {
    return this.ring.len;
  }

  /** Tokens in the distant store. */
  get distantTokens(): number {
    return this.nd;
  }

  stepInputs(T: number): Record<string, HostTensor> {
    if (this.length + T > this.maxTokens)
      throw new RangeError(`context full: ${this.length} + ${T} tokens exceeds the context size ${this.maxTokens}`);
    this.pendingEvictions = this.ring.evictions(T);
    const { S, R, P1, G } = this.ring;
    const NDf = Math.max(this.nd, 1); // an empty distant store is fed as one masked dummy slot
    const XB = P1 + NDf + T;
    const prox = this.ring.proxMask(T);
    const fullB = new Float32Array(T * XB); // anchor heads: everything stored, causal new tokens
    // Member heads' distant part D(i): only a plan with members declares it.
    const distB = this.step.maskDistB ? new Float32Array(T * XB) : undefined;
    for (let t = 0; t < T; t++) {
      const i = this.length + t;
      const o = t * XB;
      for (let s = 0; s < P1; s++) {
        const p = this.ring.slotPos[s]!;
        fullB[o + s] = p >= 0 ? 0 : NEG;
        if (distB) distB[o + s] = s >= S && p >= 0 && p <= i - R ? 0 : NEG;
      }
      fullB.fill(this.nd > 0 ? 0 : NEG, o + P1, o + P1 + NDf);
      distB?.fill(this.nd > 0 ? 0 : NEG, o + P1, o + P1 + NDf);
      for (let j = 0; j < T; j++) {
        fullB[o + P1 + NDf + j] = j <= t ? 0 : NEG;
        if (distB) distB[o + P1 + NDf + j] = j <= t - R && this.length + j >= S ? 0 : NEG;
      }
    }
    const XA = P1 + T;
    const i64 = (...v: number[]): HostTensor => ({
      type: 'int64',
      data: BigInt64Array.from(v.map(BigInt)),
      dims: [v.length],
    });
    const f32 = (data: Float32Array, X: number): HostTensor => ({ type: 'float32', data, dims: [G * T, X] });
    return {
      [this.step.maskProxA.name]: f32(prox, XA),
      [this.step.maskFullB.name]: f32(tile(fullB, T * XB, G), XB),
      ...(distB ? { [this.step.maskDistB!.name]: f32(tile(distB, T * XB, G), XB) } : {}),
      [this.step.splitA.name]: i64(P1, T),
      [this.step.splitB.name]: i64(P1, NDf, T),
    };
  }

  layerInputs(layer: number, _T: number): Record<string, HostTensor> {
    const { nKVHeads: H, headDim: D } = this.c;
    const n = this.io[layer]!;
    const P1 = this.ring.P1;
    return {
      [n.kp.name]: kvTensor(this.dtype, this.ring.kp[layer]!, [P1, H, D]),
      [n.vp.name]: kvTensor(this.dtype, this.ring.vp[layer]!, [P1, H, D]),
      ...this.dist[layer]!.inputs(n),
    };
  }

  append(layer: number, k: KVArray, v: KVArray, T: number): void {
    const store = this.dist[layer]!;
    store.reserve(this.nd + this.pendingEvictions);
    this.ring.write(layer, T, k, v, (ek, ev) => store.push(ek, ev));
  }

  commit(T: number): void {
    this.nd += this.pendingEvictions;
    this.ring.commit(T);
    this.pendingEvictions = 0;
  }

  /**
   * Rewind to n tokens. Exact only while nothing older than n has left the ring (or n = 0, or
   * n = length): a non-anchor unit no longer has the keys of evicted tokens.
   */
  truncate(n: number): void {
    if (n === this.length) return;
    if (n < 0 || n > this.length) throw new RangeError(`cannot truncate ${this.length} tokens to ${n}`);
    if (n !== 0 && this.nd > 0) {
      throw new RangeError(
        `a PoD cache cannot rewind to token ${n}: non-anchor layers no longer hold keys for the ${this.nd} distant tokens; rebuild from the start`,
      );
    }
    for (let s = 0; s < this.ring.P1; s++) if (this.ring.slotPos[s]! >= n) this.ring.slotPos[s] = -1;
    this.ring.len = n;
    if (n === 0) {
      this.nd = 0;
      for (const d of this.dist) d.clear();
    }
  }

  /** The distant store of one layer, decoded (tests, inspection): keys [nd, nA, D] of `heads`, values [nd, nV, D] of `valueHeads`. */
  distant(layer: number): {
    heads: readonly number[];
    valueHeads: readonly number[];
    keys: Float32Array;
    values: Float32Array;
    firstPosition: number;
  } {
    return {
      heads: this.anc[layer]!,
      valueHeads: this.vh[layer]!,
      ...this.dist[layer]!.decoded(),
      firstPosition: this.plan.sinks,
    };
  }

  /** ints [length, distant, ...slot positions]; buffers: ring K per layer, ring V per layer, then distant K and V per layer. */
  exportState(): KVState {
    const rows: KVArray[] = this.dist.flatMap((d) => {
      const r = d.exportRows();
      return [r.k, r.v];
    });
    const ring: KVArray[] = [...this.ring.kp, ...this.ring.vp].map((a) => a.slice());
    return {
      kind: this.kind,
      dtype: this.dtype,
      length: this.length,
      ints: ringInts(this.ring, this.nd),
      buffers: [...ring, ...rows],
    };
  }

  importState(s: KVState): void {
    const len = s.ints[0] ?? -1,
      nd = s.ints[1] ?? -1;
    if (len !== s.length || len < 0 || len > this.maxTokens || nd < 0 || nd > len)
      throw new RangeError(`KV state: ${len} tokens, ${nd} distant do not fit this PoD cache`);
    const L = this.c.nLayers,
      ringLen = this.ring.P1 * this.ring.row;
    const lengths = [
      ...new Array<number>(2 * L).fill(ringLen),
      ...this.dist.flatMap((d) => {
        const e = d.rowElements(nd);
        return [e.k, e.v];
      }),
    ];
    checkState(s, this.kind, this.dtype, 2 + this.ring.P1, lengths);
    restoreRing(this.ring, s.ints, s.buffers);
    this.dist.forEach((d, l) => d.importRows(s.buffers[2 * L + 2 * l]!, s.buffers[2 * L + 2 * l + 1]!, nd));
    this.nd = nd;
  }

  byteSize(): number {
    let b = 0;
    for (let l = 0; l < this.c.nLayers; l++) {
      const a = this.dist[l]!.allocated();
      b += this.ring.kp[l]!.byteLength + this.ring.vp[l]!.byteLength + a.k + a.v;
    }
    return b;
  }

  snapshot(): CacheSnapshot {
    const { nLayers, nKVHeads: H, headDim: D } = this.c;
    const unit = D * this.bpe; // bytes per token per unit, K or V
    const { sinks, recent } = this.ring.counts();
    const prox = this.ring.P1 * H * unit; // allocated proximal bytes per layer, K or V
    const layerFull = 2 * this.length * H * unit;
    // Per unit: K and V of its proximal tokens, then its share of the layer's distant store (the
    // store counts its bytes; every anchor head holds the same key rows, every non-local head the
    // same value rows).
    const perHead = Array.from({ length: nLayers }, (_, layer) => {
      const u = this.dist[layer]!.used();
      const anc = this.anc[layer]!,
        vh = this.vh[layer]!;
      return Array.from({ length: H }, (_, kvHead) => {
        const distant = (anc.includes(kvHead) ? u.k / anc.length : 0) + (vh.includes(kvHead) ? u.v / vh.length : 0);
        return { layer, kvHead, usedBytes: (sinks + recent) * unit * 2 + distant };
      });
    }).flat();
    const perLayer = Array.from({ length: nLayers }, (_, l) => {
      const a = this.dist[l]!.allocated();
      return {
        layer: l,
        kBytes: prox + a.k,
        vBytes: prox + a.v,
        usedBytes: perHead.slice(l * H, (l + 1) * H).reduce((s, h) => s + h.usedBytes, 0),
        fullBytes: layerFull,
      };
    });
    const used = perLayer.reduce((s, l) => s + l.usedBytes, 0);
    const full = nLayers * layerFull;
    return {
      kind: this.kind,
      tokens: this.length,
      capacityTokens: this.ring.P1 + this.nd,
      nLayers,
      nKVHeads: H,
      headDim: D,
      bytesPerElement: this.bpe,
      allocatedBytes: this.byteSize(),
      usedBytes: used,
      fullCacheBytes: full,
      perLayer,
      perHead,
      pod: {
        sinks: this.plan.sinks,
        recent: this.plan.recent,
        mode: this.plan.mode,
        anchors: this.plan.anchors.map((r) => [...r]),
        tokens: { sinks, recent, distant: this.nd },
        savedFraction: full > 0 ? 1 - used / full : 0,
      },
    };
  }
}
