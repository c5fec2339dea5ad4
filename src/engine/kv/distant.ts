// The PoD distant store of one layer: values [n, nV, D] for the layer's nV non-local KV heads
// and keys [n, nA, D] for its nA anchor heads, in position order, grown geometrically. Two encodings:
//  - plain: the cache's storage type (f16 or f32), fed to the graph as is;
//  - int8 (beyond the paper, stacks with PoD): each (token, head) row of D values is rounded to
//    int8 with its own scale absmax/127 (per-token, per-head), fed as int8 + f32 scales and
//    dequantized in the graph (attention-pod.ts).
import { halfTable } from '../gguf/half';
import { HostTensor } from '../onnx/runtime';
import { allocKV, bytesPerElement, KVArray, KVDtype, kvTensor } from './dtype';

export interface DistantStore {
  /** Tokens stored. */
  readonly length: number;
  /** Make room for n tokens in total. */
  reserve(n: number): void;
  /** Append one evicted token: its key row (all heads, [Hkv·D]) and value row. */
  push(k: KVArray, v: KVArray): void;
  /** Graph inputs (at least one row: an empty store is one zero row the masks hide); none for a layer without distant heads. */
  inputs(names: { kd: string; vd: string; kdScale: string; vdScale: string }): Record<string, HostTensor>;
  /** Drop everything. */
  clear(): void;
  /** Allocated bytes (scales included) of the key and value parts. */
  allocated(): { k: number; v: number };
  /** Bytes the stored tokens occupy (keys of anchor heads, values of non-local heads, scales included). */
  used(): { k: number; v: number };
  /** Decoded copy of the stored rows (tests, inspection): keys [n, nA, D], values [n, nV, D]. */
  decoded(): { keys: Float32Array; values: Float32Array };
  /** Copies of the live key and value rows in the storage type (persistence); int8 stores refuse. */
  exportRows(): { k: KVArray; v: KVArray };
  /** Replace the contents with n rows exported by exportRows. */
  importRows(k: KVArray, v: KVArray, n: number): void;
  /** Elements exportRows returns for n rows: keys, values. */
  rowElements(n: number): { k: number; v: number };
}

function toFloat(dtype: KVDtype, a: KVArray, i: number): number {
  return dtype === 'f32' ? a[i]! : halfTable()[a[i]!]!;
}

export class PlainDistant implements DistantStore {
  private v: KVArray;
  private k: KVArray;
  private cap = 0;
  length = 0;

  /** `maxRows`: the most distant tokens the context can produce (context size − window); growth stops there. */
  private readonly H: number;

  /** `heads`: KV heads that keep distant keys; `vHeads`: those that keep distant values. */
  constructor(private readonly dtype: KVDtype, private readonly D: number, private readonly heads: readonly number[], private readonly vHeads: readonly number[], private readonly maxRows: number) {
    this.H = vHeads.length;
    this.v = allocKV(dtype, 0);
    this.k = allocKV(dtype, 0);
  }

  reserve(n: number): void {
    if (n <= this.cap) return;
    const cap = Math.max(n, Math.min(Math.max(this.cap * 2, 64), this.maxRows));
    const v = allocKV(this.dtype, cap * this.H * this.D);
    const k = allocKV(this.dtype, cap * this.heads.length * this.D);
    v.set(this.v.subarray(0, this.length * this.H * this.D));
    k.set(this.k.subarray(0, this.length * this.heads.length * this.D));
    this.v = v;
    this.k = k;
    this.cap = cap;
  }

  push(k: KVArray, v: KVArray): void {
    this.reserve(this.length + 1);
    const D = this.D, nA = this.heads.length;
    this.vHeads.forEach((h, i) => this.v.set(v.subarray(h * D, (h + 1) * D), (this.length * this.H + i) * D));
    this.heads.forEach((h, i) => this.k.set(k.subarray(h * D, (h + 1) * D), (this.length * nA + i) * D));
    this.length++;
  }

  inputs(n: { kd: string; vd: string }): Record<string, HostTensor> {
    const rows = Math.max(this.length, 1);
    this.reserve(rows);
    const out: Record<string, HostTensor> = {};
    if (this.H > 0) out[n.vd] = kvTensor(this.dtype, this.v.subarray(0, rows * this.H * this.D), [rows, this.H, this.D]);
    if (this.heads.length > 0) out[n.kd] = kvTensor(this.dtype, this.k.subarray(0, rows * this.heads.length * this.D), [rows, this.heads.length, this.D]);
    return out;
  }

  clear(): void {
    this.length = 0;
  }

  allocated(): { k: number; v: number } {
    return { k: this.k.byteLength, v: this.v.byteLength };
  }

  used(): { k: number; v: number } {
    const b = bytesPerElement(this.dtype) * this.D * this.length;
    return { k: b * this.heads.length, v: b * this.H };
  }

  exportRows(): { k: KVArray; v: KVArray } {
    const e = this.rowElements(this.length);
    return { k: this.k.slice(0, e.k), v: this.v.slice(0, e.v) };
  }

  importRows(k: KVArray, v: KVArray, n: number): void {
    this.length = 0;
    this.reserve(n);
    this.k.set(k);
    this.v.set(v);
    this.length = n;
  }

  rowElements(n: number): { k: number; v: number } {
    return { k: n * this.heads.length * this.D, v: n * this.H * this.D };
  }

  decoded(): { keys: Float32Array; values: Float32Array } {
    const nk = this.length * this.heads.length * this.D, nv = this.length * this.H * this.D;
    return {
      keys: Float32Array.from({ length: nk }, (_, i) => toFloat(this.dtype, this.k, i)),
      values: Float32Array.from({ length: nv }, (_, i) => toFloat(this.dtype, this.v, i)),
    };
  }
}

export class Int8Distant implements DistantStore {
  private v = new Int8Array(0);
  private k = new Int8Array(0);
  private vs = new Float32Array(0);
  private ks = new Float32Array(0);
  private cap = 0;
  length = 0;

  private readonly H: number;

  /** `heads`: KV heads that keep distant keys; `vHeads`: those that keep distant values. */
  constructor(private readonly dtype: KVDtype, private readonly D: number, private readonly heads: readonly number[], private readonly vHeads: readonly number[], private readonly maxRows: number) {
    this.H = vHeads.length;
  }

  reserve(n: number): void {
    if (n <= this.cap) return;
    const cap = Math.max(n, Math.min(Math.max(this.cap * 2, 64), this.maxRows));
    const grow = <T extends Int8Array | Float32Array>(old: T, make: (n: number) => T, per: number): T => {
      const a = make(cap * per);
      a.set(old.subarray(0, this.length * per));
      return a;
    };
    const nA = this.heads.length;
    this.v = grow(this.v, (n) => new Int8Array(n), this.H * this.D);
    this.k = grow(this.k, (n) => new Int8Array(n), nA * this.D);
    this.vs = grow(this.vs, (n) => new Float32Array(n), this.H);
    this.ks = grow(this.ks, (n) => new Float32Array(n), nA);
    this.cap = cap;
  }

  /** Quantize row [off, off+D) of src into dst at dOff; returns the scale. */
  private quantize(src: KVArray, off: number, dst: Int8Array, dOff: number): number {
    let amax = 0;
    for (let i = 0; i < this.D; i++) amax = Math.max(amax, Math.abs(toFloat(this.dtype, src, off + i)));
    const scale = amax / 127;
    for (let i = 0; i < this.D; i++) dst[dOff + i] = scale === 0 ? 0 : Math.round(toFloat(this.dtype, src, off + i) / scale);
    return scale;
  }

  push(k: KVArray, v: KVArray): void {
    this.reserve(this.length + 1);
    const D = this.D, nA = this.heads.length, t = this.length;
    this.vHeads.forEach((h, i) => { this.vs[t * this.H + i] = this.quantize(v, h * D, this.v, (t * this.H + i) * D); });
    this.heads.forEach((h, i) => { this.ks[t * nA + i] = this.quantize(k, h * D, this.k, (t * nA + i) * D); });
    this.length++;
  }

  inputs(n: { kd: string; vd: string; kdScale: string; vdScale: string }): Record<string, HostTensor> {
    const rows = Math.max(this.length, 1);
    this.reserve(rows);
    const nA = this.heads.length, D = this.D;
    const out: Record<string, HostTensor> = {};
    if (this.H > 0) {
      out[n.vd] = { type: 'int8', data: this.v.subarray(0, rows * this.H * D), dims: [rows, this.H, D] };
      out[n.vdScale] = { type: 'float32', data: this.vs.subarray(0, rows * this.H), dims: [rows, this.H, 1] };
    }
    if (nA > 0) {
      out[n.kd] = { type: 'int8', data: this.k.subarray(0, rows * nA * D), dims: [rows, nA, D] };
      out[n.kdScale] = { type: 'float32', data: this.ks.subarray(0, rows * nA), dims: [rows, nA, 1] };
    }
    return out;
  }

  clear(): void {
    this.length = 0;
  }

  allocated(): { k: number; v: number } {
    return { k: this.k.byteLength + this.ks.byteLength, v: this.v.byteLength + this.vs.byteLength };
  }

  used(): { k: number; v: number } {
    const per = this.length * (this.D + 4); // int8 row + f32 scale
    return { k: per * this.heads.length, v: per * this.H };
  }

  exportRows(): { k: KVArray; v: KVArray } {
    throw new RangeError('saving a PoD cache with an int8 distant store is not supported yet');
  }

  importRows(): void {
    throw new RangeError('loading a PoD cache with an int8 distant store is not supported yet');
  }

  rowElements(n: number): { k: number; v: number } {
    return { k: n * this.heads.length * this.D, v: n * this.H * this.D };
  }

  decoded(): { keys: Float32Array; values: Float32Array } {
    const D = this.D, nA = this.heads.length;
    return {
      keys: Float32Array.from({ length: this.length * nA * D }, (_, i) => this.k[i]! * this.ks[Math.floor(i / D)]!),
      values: Float32Array.from({ length: this.length * this.H * D }, (_, i) => this.v[i]! * this.vs[Math.floor(i / D)]!),
    };
  }
}
