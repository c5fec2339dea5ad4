// The proximal store shared by the PoD and streaming caches: S sink slots (positions 0…S−1) and a
// ring of R slots for the most recent tokens (position p ≥ S lives in slot S + (p − S) mod R), for
// every layer as [S+R, Hkv, D] keys and values (f32 or f16). A step's new tokens are written in order;
// a token overwritten in the ring is "evicted" (the PoD cache moves it to its distant store, the
// streaming cache drops it). Also builds the step masks over [prox | new] (pod-method.md §2):
// P(i) = sinks ∪ {i−R+1 … i}.
import { ModelConfig } from '../model/config';
import { allocKV, KVArray, KVDtype } from './dtype';

const NEG = -Infinity;

export class ProximalRing {
  readonly S: number;
  readonly R: number;
  readonly P1: number;
  readonly row: number;
  readonly G: number;
  readonly kp: KVArray[];
  readonly vp: KVArray[];
  /** Position held by each slot, −1 if empty. */
  readonly slotPos: Int32Array;
  len = 0;

  constructor(
    readonly c: ModelConfig,
    sinks: number,
    recent: number,
    readonly dtype: KVDtype,
  ) {
    this.S = sinks;
    this.R = recent;
    this.P1 = sinks + recent;
    this.row = c.nKVHeads * c.headDim;
    this.G = c.nHeads / c.nKVHeads;
    this.kp = Array.from({ length: c.nLayers }, () => allocKV(dtype, this.P1 * this.row));
    this.vp = Array.from({ length: c.nLayers }, () => allocKV(dtype, this.P1 * this.row));
    this.slotPos = new Int32Array(this.P1).fill(-1);
  }

  slotOf(p: number): number {
    return p < this.S ? p : this.S + ((p - this.S) % this.R);
  }

  /** How many tokens a step of T new tokens pushes out of the ring (simulated in order). */
  evictions(T: number): number {
    const occ = Int32Array.from(this.slotPos);
    let n = 0;
    for (let t = 0; t < T; t++) {
      const s = this.slotOf(this.len + t);
      if (occ[s]! >= 0) n++;
      occ[s] = this.len + t;
    }
    return n;
  }

  /**
   * Write a layer's new K/V ([T, Hkv, D]) into the slots in token order. A slot's previous
   * occupant (an older token, or one written earlier in this step when T > R) is handed to
   * `evict` first — in increasing position order, since the ring is first-in first-out.
   */
  write(layer: number, T: number, k: KVArray, v: KVArray, evict?: (k: KVArray, v: KVArray, pos: number) => void): void {
    const r = this.row;
    const kp = this.kp[layer]!,
      vp = this.vp[layer]!;
    const occ = Int32Array.from(this.slotPos);
    for (let t = 0; t < T; t++) {
      const p = this.len + t;
      const s = this.slotOf(p);
      if (occ[s]! >= 0 && evict) evict(kp.subarray(s * r, (s + 1) * r), vp.subarray(s * r, (s + 1) * r), occ[s]!);
      kp.set(k.subarray(t * r, (t + 1) * r), s * r);
      vp.set(v.subarray(t * r, (t + 1) * r), s * r);
      occ[s] = p;
    }
  }

  commit(T: number): void {
    for (let t = 0; t < T; t++) this.slotPos[this.slotOf(this.len + t)] = this.len + t;
    this.len += T;
  }

  /** Tokens currently in sink slots and in the ring. */
  counts(): { sinks: number; recent: number } {
    let sinks = 0,
      recent = 0;
    for (let s = 0; s < this.P1; s++)
      if (this.slotPos[s]! >= 0) {
        if (s < this.S) sinks++;
        else recent++;
      }
    return { sinks, recent };
  }

  /**
   * The mask of P(i) over [prox slots | new tokens], rows tiled over the G query heads: sinks, ring
   * slots with position ≥ i−R+1, new tokens within R (a local head's and a PoD member's own part).
   */
  proxMask(T: number): Float32Array {
    const X = this.P1 + T;
    const prox = new Float32Array(this.G * T * X);
    for (let t = 0; t < T; t++) {
      const i = this.len + t;
      const o = t * X;
      for (let s = 0; s < this.P1; s++) {
        const p = this.slotPos[s]!;
        prox[o + s] = p >= 0 && (s < this.S || p >= i - this.R + 1) ? 0 : NEG;
      }
      for (let j = 0; j < T; j++) prox[o + this.P1 + j] = j <= t && (this.len + j < this.S || t - j < this.R) ? 0 : NEG; // sinks stay proximal
    }
    return tile(prox, T * X, this.G);
  }
}

/** Repeat the first n floats of `a` G times (rows (g, t) of a KV head's G query heads). */
export function tile(a: Float32Array, n: number, G: number): Float32Array {
  if (G === 1) return a;
  const out = new Float32Array(n * G);
  for (let g = 0; g < G; g++) out.set(a.subarray(0, n), g * n);
  return out;
}
