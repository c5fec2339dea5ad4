// The PoD distant store of one layer: values [n, nV, D] for the layer's nV non-local KV heads
// and keys [n, nA, D] for its nA anchor heads, in position order, grown geometrically. This file:
// the interface, the row sizes every byte count uses, and the plain store (the cache's storage
// type, f16 or f32, fed to the graph as is). distant-quant.ts: int8 and int4 stores.
import { halfTable } from '../gguf/half';
import { HostTensor } from '../onnx/runtime';
import { DistantInput } from './contract';
import { allocKV, bytesPerElement, KVArray, KVDtype, kvTensor } from './dtype';
import { DistantQuant } from './plan';

/** The layer's distant inputs in the contract (kv/contract.ts): keys of anchor heads, values of non-local heads. */
export interface DistantInputs {
  readonly kd?: DistantInput;
  readonly vd?: DistantInput;
}

/** The input named by `d` (which the contract declares exactly when the store has those heads). */
export function named(d: DistantInput | undefined, what: string): DistantInput {
  if (!d) throw new Error(`the KV cache contract declares no ${what} input for a layer whose distant store has them`);
  return d;
}

export interface DistantStore {
  /** Tokens stored. */
  readonly length: number;
  /** Make room for n tokens in total. */
  reserve(n: number): void;
  /** Append one evicted token: its key row (all heads, [Hkv·D]) and value row. */
  push(k: KVArray, v: KVArray): void;
  /** Graph inputs (at least one row: an empty store is one zero row the masks hide); none for a layer without distant heads. */
  inputs(io: DistantInputs): Record<string, HostTensor>;
  /** Drop everything. */
  clear(): void;
  /** Allocated bytes (scales included) of the key and value parts. */
  allocated(): { k: number; v: number };
  /** Bytes the stored tokens occupy (keys of anchor heads, values of non-local heads, scales included). */
  used(): { k: number; v: number };
  /** Decoded copy of the stored rows (tests, inspection): keys [n, nA, D], values [n, nV, D]. */
  decoded(): { keys: Float32Array; values: Float32Array };
  /** Copies of the live key and value rows in the cache's dtype (persistence, checkpoints); quantized stores decode theirs. */
  exportRows(): { k: KVArray; v: KVArray };
  /** Replace the contents with n rows exported by exportRows. */
  importRows(k: KVArray, v: KVArray, n: number): void;
  /** Elements exportRows returns for n rows: keys, values. */
  rowElements(n: number): { k: number; v: number };
}

/** Bytes one stored (token, head) row of D elements occupies, scale included (the one formula: stores, memory.ts). */
export function distantRowBytes(quant: DistantQuant | undefined, D: number, dtype: KVDtype): number {
  return quant === 'int8' ? D + 4 : quant === 'int4' ? D / 2 + 4 : D * bytesPerElement(dtype);
}

export function toFloat(dtype: KVDtype, a: KVArray, i: number): number {
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
  constructor(
    private readonly dtype: KVDtype,
    private readonly D: number,
    private readonly heads: readonly number[],
    private readonly vHeads: readonly number[],
    private readonly maxRows: number,
  ) {
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
    const D = this.D,
      nA = this.heads.length;
    this.vHeads.forEach((h, i) => this.v.set(v.subarray(h * D, (h + 1) * D), (this.length * this.H + i) * D));
    this.heads.forEach((h, i) => this.k.set(k.subarray(h * D, (h + 1) * D), (this.length * nA + i) * D));
    this.length++;
  }

  inputs(io: DistantInputs): Record<string, HostTensor> {
    const rows = Math.max(this.length, 1);
    this.reserve(rows);
    const out: Record<string, HostTensor> = {};
    if (this.H > 0)
      out[named(io.vd, 'distant value').data.name] = kvTensor(this.dtype, this.v.subarray(0, rows * this.H * this.D), [
        rows,
        this.H,
        this.D,
      ]);
    if (this.heads.length > 0)
      out[named(io.kd, 'distant key').data.name] = kvTensor(
        this.dtype,
        this.k.subarray(0, rows * this.heads.length * this.D),
        [rows, this.heads.length, this.D],
      );
    return out;
  }

  clear(): void {
    this.length = 0;
  }

  allocated(): { k: number; v: number } {
    return { k: this.k.byteLength, v: this.v.byteLength };
  }

  used(): { k: number; v: number } {
    const b = distantRowBytes(undefined, this.D, this.dtype) * this.length;
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
    const nk = this.length * this.heads.length * this.D,
      nv = this.length * this.H * this.D;
    return {
      keys: Float32Array.from({ length: nk }, (_, i) => toFloat(this.dtype, this.k, i)),
      values: Float32Array.from({ length: nv }, (_, i) => toFloat(this.dtype, this.v, i)),
    };
  }
}
