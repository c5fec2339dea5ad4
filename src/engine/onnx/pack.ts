// GGUF weight tensor → ONNX Runtime initializers, without expanding quantized weights to fp32.
// Every block-quantized type becomes com.microsoft MatMulNBits data (uint8 codes + f32 scales,
// symmetric around the default zero point), exactly reproducing ggml's dequantized values:
//   Q4_0  → 4-bit, block 32, u = q               w = d·(u−8)
//   Q4_1  → 4-bit, block 32, u = q               w = d·(u−8) + (m + 8d)          (+ correction)
//   Q4_K  → 4-bit, block 32 (sub-blocks), u = q  w = d·sc·(u−8) + (8·d·sc − dmin·mn) (+ correction)
//   Q8_0  → 8-bit, block 32, u = q + 128         w = d·(u−128)
//   Q5_0  → 8-bit, block 32, u = q + 112         w = d·(u−128)      (= d·(q−16))
//   Q5_1  → 8-bit, block 32, u = q + 112         w = d·(u−128) + (m + 16d)        (+ correction)
//   Q6_K  → 8-bit, block 16, u = q + 96          w = d·sc·(u−128)   (= d·sc·(q−32))
// "Correction" types carry a per-block constant c that MatMulNBits cannot express quickly (float
// zero points are 20–40× slower on this CPU, measured): the graph adds BlockSum(A)·Cᵀ, where
// BlockSum(A) sums the activations of each 32-wide block (one small MatMul, shared by every
// weight that reads the same activations). Float types become a transposed f32 [K, N] matrix.
import { GGMLType, TensorInfo, typeName } from '../gguf/types';
import { halfTable } from '../gguf/half';
import { dequantize } from '../gguf/quants';

export interface PackedNBits {
  kind: 'nbits';
  K: number;
  N: number;
  bits: 4 | 8;
  blockSize: number;
  /** [N, K/blockSize, blockSize·bits/8] */
  codes: Uint8Array;
  /** [N · K/blockSize] */
  scales: Float32Array;
  /** Per-32-block additive constants, stored transposed as [K/32, N] for MatMul; undefined when exact without. */
  correction: Float32Array | undefined;
}

export interface PackedFloat {
  kind: 'float';
  K: number;
  N: number;
  /** [K, N] row-major (already transposed from GGUF's [N][K]). */
  data: Float32Array;
}

export type PackedWeight = PackedNBits | PackedFloat;

export const PACKABLE_TYPES: readonly GGMLType[] = [
  GGMLType.F32,
  GGMLType.F16,
  GGMLType.BF16,
  GGMLType.Q4_0,
  GGMLType.Q4_1,
  GGMLType.Q4_K,
  GGMLType.Q8_0,
  GGMLType.Q5_0,
  GGMLType.Q5_1,
  GGMLType.Q6_K,
];

/**
 * How a GGUF type is packed (the table above): a float [K, N] matrix, or MatMulNBits codes of `bits`
 * per weight in blocks of `blockSize` with an f32 scale each and, for types with minimums, an f32
 * correction per 32 weights. The same for every row range of a tensor (weights.ts packs by rows).
 * Types outside PACKABLE_TYPES report float (what a memory estimate should assume); packWeight
 * refuses them.
 */
export type PackLayout = { kind: 'float' } | { kind: 'nbits'; bits: 4 | 8; blockSize: number; correction: boolean };

export function packLayout(type: GGMLType): PackLayout {
  switch (type) {
    case GGMLType.Q4_0:
      return { kind: 'nbits', bits: 4, blockSize: 32, correction: false };
    case GGMLType.Q4_1:
    case GGMLType.Q4_K:
      return { kind: 'nbits', bits: 4, blockSize: 32, correction: true };
    case GGMLType.Q8_0:
    case GGMLType.Q5_0:
      return { kind: 'nbits', bits: 8, blockSize: 32, correction: false };
    case GGMLType.Q5_1:
      return { kind: 'nbits', bits: 8, blockSize: 32, correction: true };
    case GGMLType.Q6_K:
      return { kind: 'nbits', bits: 8, blockSize: 16, correction: false };
    default:
      return { kind: 'float' };
  }
}

/** Bytes the packed form will occupy (for memory estimates before loading). */
export function packedBytes(type: GGMLType, K: number, N: number): number {
  const n = K * N;
  const l = packLayout(type);
  if (l.kind === 'float') return n * 4;
  return (n * l.bits) / 8 + (n / l.blockSize) * 4 + (l.correction ? (n / 32) * 4 : 0);
}

/** Pack one 2-D GGUF weight ([ne0 = K in, ne1 = N out]) given its raw bytes. */
export function packWeight(info: TensorInfo, raw: Uint8Array): PackedWeight {
  if (info.dims.length !== 2) throw new Error(`${info.name}: expected a 2-D weight, got [${info.dims.join(', ')}]`);
  const K = info.dims[0]!;
  const N = info.dims[1]!;
  if (!PACKABLE_TYPES.includes(info.type))
    throw new Error(`${info.name}: tensor type ${typeName(info.type)} has no ONNX packing`);
  const layout = packLayout(info.type);
  if (layout.kind === 'float') {
    const w = dequantize(info.type, raw, K * N); // [N][K]
    const t = new Float32Array(K * N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = w[n * K + k]!;
    return { kind: 'float', K, N, data: t };
  }
  const p = nbits(K, N, layout);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const h = halfTable();
  switch (info.type) {
    case GGMLType.Q4_0:
    case GGMLType.Q4_1:
      packQ4(p, raw, dv, h);
      break;
    case GGMLType.Q4_K:
      packQ4K(p, raw, dv, h);
      break;
    case GGMLType.Q8_0:
      packQ8(p, raw, dv, h);
      break;
    case GGMLType.Q5_0:
    case GGMLType.Q5_1:
      packQ5(p, raw, dv, h);
      break;
    case GGMLType.Q6_K:
      packQ6K(p, raw, dv, h);
      break;
  }
  return p;
}

function nbits(K: number, N: number, l: Extract<PackLayout, { kind: 'nbits' }>): PackedNBits {
  const { bits, blockSize } = l;
  const nb = K / blockSize;
  return {
    kind: 'nbits',
    K,
    N,
    bits,
    blockSize,
    codes: new Uint8Array((N * nb * blockSize * bits) / 8),
    scales: new Float32Array(N * nb),
    correction: l.correction ? new Float32Array((K / 32) * N) : undefined,
  };
}

// Q4_0 {f16 d; u8 qs[16]} / Q4_1 {f16 d; f16 m; u8 qs[16]}: element j<16 is the low nibble of qs[j], j≥16 the high nibble of qs[j−16].
function packQ4(p: PackedNBits, raw: Uint8Array, dv: DataView, h: Float32Array): void {
  const { K, N } = p;
  const hasMin = p.correction !== undefined;
  const nb = K / 32;
  const bs = hasMin ? 20 : 18;
  const qOff = hasMin ? 4 : 2;
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < nb; b++) {
      const src = (n * nb + b) * bs;
      const d = h[dv.getUint16(src, true)]!;
      p.scales[n * nb + b] = d;
      if (p.correction) p.correction[b * N + n] = h[dv.getUint16(src + 2, true)]! + 8 * d;
      const dst = (n * nb + b) * 16;
      for (let i = 0; i < 16; i++) {
        // output byte i holds elements 2i (low) and 2i+1 (high)
        const e0 = 2 * i,
          e1 = 2 * i + 1;
        const q0 = e0 < 16 ? raw[src + qOff + e0]! & 15 : raw[src + qOff + e0 - 16]! >> 4;
        const q1 = e1 < 16 ? raw[src + qOff + e1]! & 15 : raw[src + qOff + e1 - 16]! >> 4;
        p.codes[dst + i] = q0 | (q1 << 4);
      }
    }
  }
}

// Q8_0 {f16 d; i8 qs[32]}
function packQ8(p: PackedNBits, raw: Uint8Array, dv: DataView, h: Float32Array): void {
  const { K, N } = p;
  const nb = K / 32;
  for (let blk = 0; blk < N * nb; blk++) {
    const src = blk * 34;
    p.scales[blk] = h[dv.getUint16(src, true)]!;
    for (let i = 0; i < 32; i++) p.codes[blk * 32 + i] = (raw[src + 2 + i]! ^ 0x80) & 0xff; // int8 q → q + 128
  }
}

// Q5_0 {f16 d; u8 qh[4]; u8 qs[16]} / Q5_1 {f16 d; f16 m; u8 qh[4]; u8 qs[16]}; 5th bit of element j is bit j of qh.
function packQ5(p: PackedNBits, raw: Uint8Array, dv: DataView, h: Float32Array): void {
  const { K, N } = p;
  const hasMin = p.correction !== undefined;
  const nb = K / 32;
  const bs = hasMin ? 24 : 22;
  const hOff = hasMin ? 4 : 2;
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < nb; b++) {
      const blk = n * nb + b;
      const src = blk * bs;
      const d = h[dv.getUint16(src, true)]!;
      p.scales[blk] = d;
      if (p.correction) p.correction[b * N + n] = h[dv.getUint16(src + 2, true)]! + 16 * d;
      const qh = dv.getUint32(src + hOff, true);
      const qs = src + hOff + 4;
      for (let j = 0; j < 32; j++) {
        const lo = j < 16 ? raw[qs + j]! & 15 : raw[qs + j - 16]! >> 4;
        const q = lo | (((qh >>> j) & 1) << 4);
        p.codes[blk * 32 + j] = q + 112;
      }
    }
  }
}

// Q4_K: {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]} per 256; 8 sub-blocks of 32 with 6-bit scale/min.
function scaleMinK4(j: number, s: Uint8Array, o: number): [number, number] {
  if (j < 4) return [s[o + j]! & 63, s[o + j + 4]! & 63];
  return [(s[o + j + 4]! & 0xf) | ((s[o + j - 4]! >> 6) << 4), (s[o + j + 4]! >> 4) | ((s[o + j]! >> 6) << 4)];
}

function packQ4K(p: PackedNBits, raw: Uint8Array, dv: DataView, h: Float32Array): void {
  const { K, N } = p;
  const nsb = K / 256;
  const nb = K / 32;
  for (let n = 0; n < N; n++) {
    for (let sb = 0; sb < nsb; sb++) {
      const src = (n * nsb + sb) * 144;
      const d = h[dv.getUint16(src, true)]!;
      const dmin = h[dv.getUint16(src + 2, true)]!;
      for (let j = 0; j < 8; j++) {
        const [sc, mn] = scaleMinK4(j, raw, src + 4);
        const b = sb * 8 + j;
        const scale = d * sc;
        p.scales[n * nb + b] = scale;
        p.correction![b * N + n] = 8 * scale - dmin * mn;
        const qs = src + 16 + (j >> 1) * 32;
        const hi = (j & 1) === 1;
        const dst = (n * nb + b) * 16;
        for (let i = 0; i < 16; i++) {
          const a = raw[qs + 2 * i]!,
            c = raw[qs + 2 * i + 1]!;
          const q0 = hi ? a >> 4 : a & 15;
          const q1 = hi ? c >> 4 : c & 15;
          p.codes[dst + i] = q0 | (q1 << 4);
        }
      }
    }
  }
}

// Q6_K: {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d} per 256; 16 sub-blocks of 16.
function packQ6K(p: PackedNBits, raw: Uint8Array, dv: DataView, h: Float32Array): void {
  const { K, N } = p;
  const nsb = K / 256;
  const nb = K / 16;
  const q = new Uint8Array(256);
  for (let n = 0; n < N; n++) {
    for (let sb = 0; sb < nsb; sb++) {
      const src = (n * nsb + sb) * 210;
      const d = h[dv.getUint16(src + 208, true)]!;
      // ggml dequantize_row_q6_K: two halves of 128, each four groups of 32.
      for (let half = 0; half < 2; half++) {
        const ql = src + half * 64;
        const qh = src + 128 + half * 32;
        for (let l = 0; l < 32; l++) {
          const hb = raw[qh + l]!;
          q[half * 128 + l] = (raw[ql + l]! & 15) | ((hb & 3) << 4);
          q[half * 128 + l + 32] = (raw[ql + l + 32]! & 15) | (((hb >> 2) & 3) << 4);
          q[half * 128 + l + 64] = (raw[ql + l]! >> 4) | (((hb >> 4) & 3) << 4);
          q[half * 128 + l + 96] = (raw[ql + l + 32]! >> 4) | (((hb >> 6) & 3) << 4);
        }
      }
      for (let j = 0; j < 16; j++) {
        const sc = (raw[src + 192 + j]! << 24) >> 24; // int8
        const blk = n * nb + sb * 16 + j;
        p.scales[blk] = d * sc;
        for (let i = 0; i < 16; i++) p.codes[blk * 16 + i] = q[j * 16 + i]! + 96;
      }
    }
  }
}

/** Dequantize a packed weight back to [N][K] f32 (tests compare it with the GGUF dequantizer). */
export function unpackWeight(p: PackedWeight): Float32Array {
  const out = new Float32Array(p.K * p.N);
  if (p.kind === 'float') {
    for (let k = 0; k < p.K; k++) for (let n = 0; n < p.N; n++) out[n * p.K + k] = p.data[k * p.N + n]!;
    return out;
  }
  const nb = p.K / p.blockSize;
  const zero = p.bits === 4 ? 8 : 128;
  for (let n = 0; n < p.N; n++) {
    for (let k = 0; k < p.K; k++) {
      const b = Math.floor(k / p.blockSize),
        e = k % p.blockSize;
      const blk = n * nb + b;
      const u =
        p.bits === 4
          ? (p.codes[blk * (p.blockSize / 2) + (e >> 1)]! >> ((e & 1) * 4)) & 15
          : p.codes[blk * p.blockSize + e]!;
      let w = p.scales[blk]! * (u - zero);
      if (p.correction) w += p.correction[Math.floor(k / 32) * p.N + n]!;
      out[n * p.K + k] = w;
    }
  }
  return out;
}
