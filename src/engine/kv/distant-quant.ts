// Low-bit PoD distant stores (beyond the paper; stack with sharing and local units). Each
// (token, head) row of D values gets its own scale (absmax / qmax), so one outlier token or head
// cannot flatten the others:
//  - int8: q = round(x / s), s = absmax/127; fed as int8 + f32 scales.
//  - int4: the row is first rotated by the normalized Walsh–Hadamard matrix H (D a power of two;
//    H = Hᵀ = H⁻¹), which spreads a few large channels over all of them, then q = round(x̃ / s),
//    s = absmax/7, clamped to [−8, 7], stored as q + 8 in nibbles (element 2j low, 2j+1 high);
//    fed as uint8 [n, heads, D/2] + f32 scales. Attention needs no un-rotation of the store:
//    q·k = (qH)·(kH) and Σ p·v = (Σ p·ṽ)H, so the graph rotates the query and the distant output
//    instead (attention-pod.ts), O(D²) per query row, not per stored token.
// Dequantization happens in the graph (attention-pod.ts); decoded() is its TypeScript twin.
import { HostTensor } from '../onnx/runtime';
import { DistantInput } from './contract';
import { floatToHalf } from '../gguf/half';
import { KVArray, KVDtype } from './dtype';
import { DistantInputs, DistantStore, distantRowBytes, named, toFloat } from './distant';
import { DistantQuant } from './plan';

/** In-place fast Walsh–Hadamard transform of x[off, off+D), normalized (x ← H·x, H orthonormal and symmetric). */
export function hadamard(x: Float32Array | Float64Array, off: number, D: number): void {
  for (let len = 1; len < D; len <<= 1) {
    for (let i = off; i < off + D; i += len << 1) {
      for (let j = i; j < i + len; j++) {
        const a = x[j]!,
          b = x[j + len]!;
        x[j] = a + b;
        x[j + len] = a - b;
      }
    }
  }
  const norm = 1 / Math.sqrt(D);
  for (let i = off; i < off + D; i++) x[i]! *= norm;
}

/** The normalized D×D Walsh–Hadamard matrix (row-major), as the graph's rotation initializer. */
export function hadamardMatrix(D: number): Float32Array {
  const m = new Float32Array(D * D);
  const norm = 1 / Math.sqrt(D);
  for (let i = 0; i < D; i++) {
    for (let j = 0; j < D; j++) {
      let bits = i & j,
        parity = 0;
      while (bits) {
        parity ^= bits & 1;
        bits >>= 1;
      }
      m[i * D + j] = parity ? -norm : norm;
    }
  }
  return m;
}

const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

export class QuantDistant implements DistantStore {
  private v = new Uint8Array(0);
  private k = new Uint8Array(0);
  private vs = new Float32Array(0);
  private ks = new Float32Array(0);
  private cap = 0;
  length = 0;
  private readonly H: number;
  /** Bytes of one stored row's data (scale not included). */
  private readonly rowData: number;
  private readonly qmax: number;
  private readonly row: Float32Array;

  /** `heads`: KV heads that keep distant keys; `vHeads`: those that keep distant values. */
  constructor(
    readonly quant: DistantQuant,
    private readonly dtype: KVDtype,
    private readonly D: number,
    private readonly heads: readonly number[],
    private readonly vHeads: readonly number[],
    private readonly maxRows: number,
  ) {
    if (quant === 'int4' && (!isPow2(D) || D < 2))
      throw new RangeError(
        `int4 distant storage rotates rows by a Hadamard matrix and needs a power-of-two head size (got ${D})`,
      );
    this.H = vHeads.length;
    this.rowData = quant === 'int8' ? D : D / 2;
    this.qmax = quant === 'int8' ? 127 : 7;
    this.row = new Float32Array(D);
  }

  reserve(n: number): void {
    if (n <= this.cap) return;
    const cap = Math.max(n, Math.min(Math.max(this.cap * 2, 64), this.maxRows));
    const grow = <T extends Uint8Array | Float32Array>(old: T, make: (n: number) => T, per: number): T => {
      const a = make(cap * per);
      a.set(old.subarray(0, this.length * per));
      return a;
    };
    const nA = this.heads.length;
    this.v = grow(this.v, (n) => new Uint8Array(n), this.H * this.rowData);
    this.k = grow(this.k, (n) => new Uint8Array(n), nA * this.rowData);
    this.vs = grow(this.vs, (n) => new Float32Array(n), this.H);
    this.ks = grow(this.ks, (n) => new Float32Array(n), nA);
    this.cap = cap;
  }

  /** Quantize row [off, off+D) of src into dst at row index `r`; returns the scale. */
  private quantize(src: KVArray, off: number, dst: Uint8Array, r: number): number {
    const { D, row, qmax } = this;
    for (let i = 0; i < D; i++) row[i] = toFloat(this.dtype, src, off + i);
    if (this.quant === 'int4') hadamard(row, 0, D);
    let amax = 0;
    for (let i = 0; i < D; i++) amax = Math.max(amax, Math.abs(row[i]!));
    const scale = amax / qmax;
    const q = (i: number): number =>
      scale === 0 ? 0 : Math.max(-qmax - 1, Math.min(qmax, Math.round(row[i]! / scale)));
    const at = r * this.rowData;
    if (this.quant === 'int8') {
      for (let i = 0; i < D; i++) dst[at + i] = q(i) & 0xff; // two's complement: the int8 the graph reads
    } else {
      for (let j = 0; j < D / 2; j++) dst[at + j] = (q(2 * j) + 8) | ((q(2 * j + 1) + 8) << 4);
    }
    return scale;
  }

  push(k: KVArray, v: KVArray): void {
    this.reserve(this.length + 1);
    const D = this.D,
      nA = this.heads.length,
      t = this.length;
    this.vHeads.forEach((h, i) => {
      this.vs[t * this.H + i] = this.quantize(v, h * D, this.v, t * this.H + i);
    });
    this.heads.forEach((h, i) => {
      this.ks[t * nA + i] = this.quantize(k, h * D, this.k, t * nA + i);
    });
    this.length++;
  }

  inputs(io: DistantInputs): Record<string, HostTensor> {
    const rows = Math.max(this.length, 1);
    this.reserve(rows);
    const out: Record<string, HostTensor> = {};
    const add = (d: DistantInput, data: Uint8Array, scales: Float32Array, heads: number): void => {
      if (!d.scale) throw new Error(`the KV cache contract declares no scale input for an ${this.quant} distant store`);
      const n = rows * heads * this.rowData;
      out[d.data.name] =
        this.quant === 'int8'
          ? { type: 'int8', data: new Int8Array(data.buffer, data.byteOffset, n), dims: [rows, heads, this.D] }
          : { type: 'uint8', data: data.subarray(0, n), dims: [rows, heads, this.D / 2] };
      out[d.scale.name] = { type: 'float32', data: scales.subarray(0, rows * heads), dims: [rows, heads, 1] };
    };
    if (this.H > 0) add(named(io.vd, 'distant value'), this.v, this.vs, this.H);
    if (this.heads.length > 0) add(named(io.kd, 'distant key'), this.k, this.ks, this.heads.length);
    return out;
  }

  clear(): void {
    this.length = 0;
  }

  allocated(): { k: number; v: number } {
    return { k: this.k.byteLength + this.ks.byteLength, v: this.v.byteLength + this.vs.byteLength };
  }

  used(): { k: number; v: number } {
    const per = this.length * distantRowBytes(this.quant, this.D, this.dtype);
    return { k: per * this.heads.length, v: per * this.H };
  }

  /**
   * The rows decoded into the cache's dtype (checkpoints, persistence: one state format for every
   * store). Re-quantizing them gives the same codes (the dtype's rounding stays far below half a
   * step); a scale moves only by that rounding (≤ 2⁻¹¹ relative in f16, ~1e-7 in f32).
   */
  exportRows(): { k: KVArray; v: KVArray } {
    const { keys, values } = this.decoded();
    const enc = (x: Float32Array): KVArray => {
      if (this.dtype === 'f32') return x;
      const h = new Uint16Array(x.length);
      for (let i = 0; i < x.length; i++) h[i] = floatToHalf(x[i]!);
      return h;
    };
    return { k: enc(keys), v: enc(values) };
  }

  /** Replace the contents with n decoded rows (exportRows of this or a plain store of the same dtype), quantized. */
  importRows(k: KVArray, v: KVArray, n: number): void {
    this.length = 0;
    this.reserve(n);
    const D = this.D,
      nA = this.heads.length;
    for (let t = 0; t < n; t++) {
      for (let i = 0; i < this.H; i++)
        this.vs[t * this.H + i] = this.quantize(v, (t * this.H + i) * D, this.v, t * this.H + i);
      for (let i = 0; i < nA; i++) this.ks[t * nA + i] = this.quantize(k, (t * nA + i) * D, this.k, t * nA + i);
    }
    this.length = n;
  }

  rowElements(n: number): { k: number; v: number } {
    return { k: n * this.heads.length * this.D, v: n * this.H * this.D };
  }

  /** The stored rows dequantized and (int4) rotated back: what the graph computes with, in the original space. */
  decoded(): { keys: Float32Array; values: Float32Array } {
    const rowsOf = (data: Uint8Array, scales: Float32Array, heads: number): Float32Array => {
      const D = this.D,
        out = new Float32Array(this.length * heads * D);
      const s8 = new Int8Array(data.buffer, data.byteOffset, data.length);
      for (let r = 0; r < this.length * heads; r++) {
        const s = scales[r]!,
          at = r * this.rowData;
        for (let i = 0; i < D; i++) {
          const q = this.quant === 'int8' ? s8[at + i]! : ((data[at + (i >> 1)]! >> ((i & 1) * 4)) & 15) - 8;
          out[r * D + i] = q * s;
        }
        if (this.quant === 'int4') hadamard(out, r * D, D);
      }
      return out;
    };
    return { keys: rowsOf(this.k, this.ks, this.heads.length), values: rowsOf(this.v, this.vs, this.H) };
  }
}
