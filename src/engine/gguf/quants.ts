// Dequantizers: raw GGUF tensor bytes → float32, one function per supported ggml type.
// Layouts follow ggml-quants.c (dequantize_row_*). These are the reference path (the slow
// TypeScript forward pass, embedding lookups); the ONNX path repacks blocks without going
// through float32 (see onnx/pack.ts).
import { GGMLType, TYPE_TRAITS, typeName } from './types';
import { bf16ToFloat, halfTable } from './half';

/** Dequantize `n` elements starting at `bytes[0]` into `out[outOffset..]`. `n` must be a multiple of the block size. */
export function dequantizeInto(type: GGMLType, bytes: Uint8Array, n: number, out: Float32Array, outOffset = 0): void {
  const traits = TYPE_TRAITS.get(type);
  if (!traits) throw new Error(`cannot dequantize ${typeName(type)}`);
  if (n % traits.blockSize !== 0) throw new Error(`${n} elements is not a multiple of the ${traits.name} block size`);
  const need = (n / traits.blockSize) * traits.typeSize;
  if (bytes.length < need) throw new Error(`${traits.name}: need ${need} bytes for ${n} elements, got ${bytes.length}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, need);
  const f = DEQUANT[type];
  if (!f) throw new Error(`no dequantizer for ${traits.name}`);
  f(bytes, dv, n, out, outOffset);
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
  return (n / t.blockSize) * t.typeSize;
}

type Dequant = (b: Uint8Array, dv: DataView, n: number, out: Float32Array, o: number) => void;

const DEQUANT: Partial<Record<GGMLType, Dequant>> = {
  [GGMLType.F32]: (_b, dv, n, out, o) => {
    for (let i = 0; i < n; i++) out[o + i] = dv.getFloat32(i * 4, true);
  },
  [GGMLType.F16]: (_b, dv, n, out, o) => {
    const t = halfTable();
    for (let i = 0; i < n; i++) out[o + i] = t[dv.getUint16(i * 2, true)]!;
  },
  [GGMLType.BF16]: (_b, dv, n, out, o) => {
    for (let i = 0; i < n; i++) out[o + i] = bf16ToFloat(dv.getUint16(i * 2, true));
  },
  // Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q6_K: see below.
};

