// Dequantizers: raw GGUF tensor bytes → float32, one function per supported ggml type.
// Layouts and arithmetic follow ggml-quants.c (dequantize_row_*). Every product/sum below is
// exact in float64 (f16 scales × small integers, all multiples of 2^-24 below 2^26), so the one
// rounding on the Float32Array store equals ggml's float32 result bit for bit (checked against
// gguf-py in test/quants.test.ts). These serve the reference path (TypeScript forward pass,
// embedding lookups); the ONNX path repacks blocks without going through float32.
import { GGMLType, TYPE_TRAITS, typeName } from './types';
import { halfTable } from './half';

/** Dequantize `n` elements starting at `bytes[0]` into `out[outOffset..]`. `n` must be a multiple of the block size. */
export function dequantizeInto(type: GGMLType, bytes: Uint8Array, n: number, out: Float32Array, outOffset = 0): void {
  const traits = TYPE_TRAITS.get(type);
  if (!traits) throw new Error(`cannot dequantize ${typeName(type)}`);
  if (n % traits.blockSize !== 0) throw new Error(`${n} elements is not a multiple of the ${traits.name} block size`);
  const need = (n / traits.blockSize) * traits.typeSize;
  if (bytes.length < need) throw new Error(`${traits.name}: need ${need} bytes for ${n} elements, got ${bytes.length}`);
  if (outOffset < 0 || outOffset + n > out.length)
    throw new RangeError(`output too small: ${n} elements at ${outOffset} into ${out.length}`);
  const f = DEQUANT[type];
  if (!f) throw new Error(`no dequantizer for ${traits.name}`);
  f(bytes, n / traits.blockSize, out, outOffset);
}

export function dequantize(type: GGMLType, bytes: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  dequantizeInto(type, bytes, n, out, 0);
  return out;
}

/** Bytes used by `n` elements of `type`. */
export function bytesFor(type: GGMLType, n: number): number {
  const t = TYPE_TRAITS.get(type);
  if (!t) throw new Error(`unknown type ${typeName(type)}`);
  if (n % t.blockSize !== 0)
    throw new Error(`${n} elements is not a multiple of the ${t.name} block size ${t.blockSize}`);
  return (n / t.blockSize) * t.typeSize;
}

/** `nb` blocks from `b` into `out[o..]`. */
type Dequant = (b: Uint8Array, nb: number, out: Float32Array, o: number) => void;

// Node only runs on little-endian hosts in practice; typed-array views below rely on it.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function deqF32(b: Uint8Array, n: number, out: Float32Array, o: number): void {
  if (LITTLE_ENDIAN && b.byteOffset % 4 === 0) {
    out.set(new Float32Array(b.buffer, b.byteOffset, n), o);
    return;
  }
  const dv = new DataView(b.buffer, b.byteOffset, n * 4);
  for (let i = 0; i < n; i++) out[o + i] = dv.getFloat32(i * 4, true);
}

function deqF16(b: Uint8Array, n: number, out: Float32Array, o: number): void {
  const t = halfTable();
  if (LITTLE_ENDIAN && b.byteOffset % 2 === 0) {
    const h = new Uint16Array(b.buffer, b.byteOffset, n);
    for (let i = 0; i < n; i++) out[o + i] = t[h[i]!]!;
    return;
  }
  for (let i = 0, p = 0; i < n; i++, p += 2) out[o + i] = t[b[p]! | (b[p + 1]! << 8)]!;
}

function deqBF16(b: Uint8Array, n: number, out: Float32Array, o: number): void {
  // bf16 is the top half of an f32: write the bit pattern straight into the output.
  const u = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0, p = 0; i < n; i++, p += 2) u[o + i] = ((b[p]! | (b[p + 1]! << 8)) << 16) >>> 0;
}

function deqQ4_0(b: Uint8Array, nb: number, out: Float32Array, o: number): void {
  const t = halfTable();
  for (let i = 0, p = 0; i < nb; i++, p += 18, o += 32) {
    const d = t[b[p]! | (b[p + 1]! << 8)]!;
    const q = p + 2;
    for (let j = 0; j < 16; j++) {
      const x = b[q + j]!;
      out[o + j] = d * ((x & 15) - 8);
      out[o + j + 16] = d * ((x >> 4) - 8);
    }
  }
}

function deqQ4_1(b: Uint8Array, nb: number, out: Float32Array, o: number): void {
  const t = halfTable();
  for (let i = 0, p = 0; i < nb; i++, p += 20, o += 32) {
    const d = t[b[p]! | (b[p + 1]! << 8)]!;
    const m = t[b[p + 2]! | (b[p + 3]! << 8)]!;
    const q = p + 4;
    for (let j = 0; j < 16; j++) {
      const x = b[q + j]!;
      out[o + j] = d * (x & 15) + m;
      out[o + j + 16] = d * (x >> 4) + m;
    }
  }
}

function deqQ5_0(b: Uint8Array, nb: number, out: Float32Array, o: number): void {
  const t = halfTable();
  for (let i = 0, p = 0; i < nb; i++, p += 22, o += 32) {
    const d = t[b[p]! | (b[p + 1]! << 8)]!;
    const qh = b[p + 2]! | (b[p + 3]! << 8) | (b[p + 4]! << 16) | (b[p + 5]! << 24);
    const q = p + 6;
    for (let j = 0; j < 16; j++) {
      const x = b[q + j]!;
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      out[o + j] = d * (((x & 15) | h0) - 16);
      out[o + j + 16] = d * (((x >> 4) | h1) - 16);
    }
  }
}

function deqQ5_1(b: Uint8Array, nb: number, out: Float32Array, o: number): void {
  const t = halfTable();
  for (let i = 0, p = 0; i < nb; i++, p += 24, o += 32) {
    const d = t[b[p]! | (b[p + 1]! << 8)]!;
    const m = t[b[p + 2]! | (b[p + 3]! << 8)]!;
    const qh = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
    const q = p + 8;
    for (let j = 0; j < 16; j++) {
      const x = b[q + j]!;
      const h0 = ((qh >>> j) << 4) & 0x10;
      const h1 = (qh >>> (j + 12)) & 0x10;
      out[o + j] = d * ((x & 15) | h0) + m;
      out[o + j + 16] = d * ((x >> 4) | h1) + m;
    }
  }
}

function deqQ8_0(b: Uint8Array, nb: number, out: Float32Array, o: number): void {
  const t = halfTable();
  const s = new Int8Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0, p = 0; i < nb; i++, p += 34) {
    const d = t[b[p]! | (b[p + 1]! << 8)]!;
    // unrolled by 4: measurably faster in V8 than the plain 32-step loop
    for (let q = p + 2, end = p + 34; q < end; q += 4, o += 4) {
      out[o] = d * s[q]!;
      out[o + 1] = d * s[q + 1]!;
      out[o + 2] = d * s[q + 2]!;
      out[o + 3] = d * s[q + 3]!;
    }
  }
}

function deqQ4_K(b: Uint8Array, nb: number, out: Float32Array, o: number): void {
  const t = halfTable();
  for (let i = 0, p = 0; i < nb; i++, p += 144) {
    const d = t[b[p]! | (b[p + 1]! << 8)]!;
    const dmin = t[b[p + 2]! | (b[p + 3]! << 8)]!;
    const sc = p + 4; // scales[12]
    let q = p + 16; // qs[128]
    for (let j = 0; j < 8; j += 2, q += 32, o += 64) {
      // get_scale_min_k4 for sub-blocks j and j+1
      let s0: number, m0: number, s1: number, m1: number;
      if (j < 4) {
        s0 = b[sc + j]! & 63;
        m0 = b[sc + j + 4]! & 63;
        s1 = b[sc + j + 1]! & 63;
        m1 = b[sc + j + 5]! & 63;
      } else {
        s0 = (b[sc + j + 4]! & 0xf) | ((b[sc + j - 4]! >> 6) << 4);
        m0 = (b[sc + j + 4]! >> 4) | ((b[sc + j]! >> 6) << 4);
        s1 = (b[sc + j + 5]! & 0xf) | ((b[sc + j - 3]! >> 6) << 4);
        m1 = (b[sc + j + 5]! >> 4) | ((b[sc + j + 1]! >> 6) << 4);
      }
      const d1 = d * s0,
        mm1 = dmin * m0,
        d2 = d * s1,
        mm2 = dmin * m1;
      for (let l = 0; l < 32; l++) {
        const x = b[q + l]!;
        out[o + l] = d1 * (x & 15) - mm1;
        out[o + l + 32] = d2 * (x >> 4) - mm2;
      }
    }
  }
}

function deqQ6_K(b: Uint8Array, nb: number, out: Float32Array, o: number): void {
  const t = halfTable();
  for (let i = 0, p = 0; i < nb; i++, p += 210) {
    const d = t[b[p + 208]! | (b[p + 209]! << 8)]!;
    let ql = p,
      qh = p + 128,
      sc = p + 192;
    for (let n = 0; n < 256; n += 128, ql += 64, qh += 32, sc += 8, o += 128) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = b[qh + l]!;
        const a = b[ql + l]!,
          c = b[ql + l + 32]!;
        const q1 = ((a & 15) | ((h & 3) << 4)) - 32;
        const q2 = ((c & 15) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((a >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((c >> 4) | (((h >> 6) & 3) << 4)) - 32;
        out[o + l] = d * ((b[sc + is]! << 24) >> 24) * q1;
        out[o + l + 32] = d * ((b[sc + is + 2]! << 24) >> 24) * q2;
        out[o + l + 64] = d * ((b[sc + is + 4]! << 24) >> 24) * q3;
        out[o + l + 96] = d * ((b[sc + is + 6]! << 24) >> 24) * q4;
      }
    }
  }
}

const DEQUANT: Partial<Record<GGMLType, Dequant>> = {
  [GGMLType.F32]: deqF32,
  [GGMLType.F16]: deqF16,
  [GGMLType.BF16]: deqBF16,
  [GGMLType.Q4_0]: deqQ4_0,
  [GGMLType.Q4_1]: deqQ4_1,
  [GGMLType.Q5_0]: deqQ5_0,
  [GGMLType.Q5_1]: deqQ5_1,
  [GGMLType.Q8_0]: deqQ8_0,
  [GGMLType.Q4_K]: deqQ4_K,
  [GGMLType.Q6_K]: deqQ6_K,
};
