// GGUF weight → MatMulNBits packing (src/engine/onnx/pack.ts) and packing by rows
// (src/engine/onnx/weights.ts): for every packable type, the packed weight dequantizes to ggml's
// values, and any range of output rows — of one tensor, or across the tensors of a fused Q/K/V or
// gate/up weight — packs to exactly the matching rows of the whole packed weight, which is what
// lets the graph build stream a weight to the converted-model file a few rows at a time.
//
// Tolerance: row-range packing is bit-exact (the same arithmetic on the same bytes). Unpacked
// weights vs ggml's dequantizer: within 2⁻²⁰ of the tensor's largest |w|, because the packing
// rewrites ggml's d·sc·q − dmin·m as scale·(u − z) + correction, a different f32 rounding order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGMLType, TensorInfo, typeName } from '../src/engine/gguf/types';
import { dequantize } from '../src/engine/gguf/quants';
import { quantize } from '../src/engine/gguf/quantize';
import {
  PACKABLE_TYPES,
  packLayout,
  packWeight,
  packedBytes,
  PackedWeight,
  unpackWeight,
} from '../src/engine/onnx/pack';
import { concatRows, tensorRows, WeightRows } from '../src/engine/onnx/weights';

const K = 256;

/** A deterministic pseudo-random tensor of N rows quantized to `type`. */
function tensor(type: GGMLType, name: string, N: number, seed: number): { info: TensorInfo; raw: Uint8Array } {
  let s = seed;
  const data = Float32Array.from({ length: K * N }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s / 2 ** 31 - 0.5) * (1 + (s % 7));
  });
  const raw = quantize(type, data);
  const info: TensorInfo = { name, dims: [K, N], type, offset: 0, fileOffset: 0, nElements: K * N, nBytes: raw.length };
  return { info, raw };
}

const rowsOf = (t: { info: TensorInfo; raw: Uint8Array }): WeightRows =>
  tensorRows(t.info, (start, length) => t.raw.subarray(start, start + length));

/** Output rows [from, to) of a whole packed weight, in the packed layout. */
function slice(p: PackedWeight, from: number, to: number): PackedWeight {
  const n = to - from;
  if (p.kind === 'float') {
    const data = new Float32Array(p.K * n);
    for (let k = 0; k < p.K; k++) data.set(p.data.subarray(k * p.N + from, k * p.N + to), k * n);
    return { ...p, N: n, data };
  }
  const nb = p.K / p.blockSize;
  const rowCodes = (nb * p.blockSize * p.bits) / 8;
  let correction: Float32Array | undefined;
  if (p.correction) {
    correction = new Float32Array((p.K / 32) * n);
    for (let k = 0; k < p.K / 32; k++) correction.set(p.correction.subarray(k * p.N + from, k * p.N + to), k * n);
  }
  return {
    ...p,
    N: n,
    codes: p.codes.slice(from * rowCodes, to * rowCodes),
    scales: p.scales.slice(from * nb, to * nb),
    correction,
  };
}

/** Two packed weights stacked along N. */
function stack(a: PackedWeight, b: PackedWeight): PackedWeight {
  const N = a.N + b.N;
  if (a.kind === 'float' && b.kind === 'float') {
    const data = new Float32Array(K * N);
    for (let k = 0; k < K; k++) {
      data.set(a.data.subarray(k * a.N, (k + 1) * a.N), k * N);
      data.set(b.data.subarray(k * b.N, (k + 1) * b.N), k * N + a.N);
    }
    return { ...a, N, data };
  }
  assert.ok(a.kind === 'nbits' && b.kind === 'nbits');
  let correction: Float32Array | undefined;
  if (a.correction && b.correction) {
    correction = new Float32Array((K / 32) * N);
    for (let k = 0; k < K / 32; k++) {
      correction.set(a.correction.subarray(k * a.N, (k + 1) * a.N), k * N);
      correction.set(b.correction.subarray(k * b.N, (k + 1) * b.N), k * N + a.N);
    }
  }
  const codes = new Uint8Array(a.codes.length + b.codes.length);
  codes.set(a.codes);
  codes.set(b.codes, a.codes.length);
  const scales = new Float32Array(a.scales.length + b.scales.length);
  scales.set(a.scales);
  scales.set(b.scales, a.scales.length);
  return { ...a, N, codes, scales, correction };
}

for (const type of PACKABLE_TYPES) {
  test(`${typeName(type)}: packed weights dequantize to ggml's values; its layout and byte count agree`, () => {
    const t = tensor(type, 'w', 9, 7 + type);
    const p = packWeight(t.info, t.raw);
    const want = dequantize(type, t.raw, K * 9);
    const got = unpackWeight(p);
    const max = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < want.length; i++)
      assert.ok(Math.abs(got[i]! - want[i]!) <= max * 2 ** -20, `element ${i}: ${got[i]} vs ${want[i]}`);
    const l = packLayout(type);
    assert.equal(p.kind, l.kind);
    const bytes =
      p.kind === 'float'
        ? p.data.byteLength
        : p.codes.byteLength + p.scales.byteLength + (p.correction?.byteLength ?? 0);
    assert.equal(bytes, packedBytes(type, K, 9));
    if (p.kind === 'nbits' && l.kind === 'nbits') {
      assert.equal(p.bits, l.bits);
      assert.equal(p.blockSize, l.blockSize);
      assert.equal(p.correction !== undefined, l.correction);
    }
  });

  test(`${typeName(type)}: any range of rows packs exactly as those rows of the whole weight, across fused tensors too`, () => {
    const a = tensor(type, 'a', 5, 11 + type);
    const b = tensor(type, 'b', 7, 23 + type);
    const wa = rowsOf(a);
    const whole = packWeight(a.info, a.raw);
    for (const [from, to] of [
      [0, 5],
      [0, 1],
      [1, 4],
      [4, 5],
    ] as const)
      assert.deepEqual(wa.rows(from, to), slice(whole, from, to), `rows ${from}–${to} of one tensor`);
    const fused = concatRows([wa, rowsOf(b)]);
    assert.ok(fused, 'tensors of one type fuse');
    assert.equal(fused.N, 12);
    const both = stack(whole, packWeight(b.info, b.raw));
    for (const [from, to] of [
      [0, 12],
      [3, 9],
      [5, 6],
      [0, 5],
      [11, 12],
    ] as const)
      assert.deepEqual(fused.rows(from, to), slice(both, from, to), `rows ${from}–${to} of the fused weight`);
  });
}

test('weights of different packings do not fuse', () => {
  const a = rowsOf(tensor(GGMLType.Q4_K, 'a', 2, 1));
  const b = rowsOf(tensor(GGMLType.Q6_K, 'b', 2, 2));
  assert.equal(concatRows([a, b]), undefined);
  assert.equal(concatRows([a, rowsOf(tensor(GGMLType.Q4_K, 'c', 3, 3))])?.N, 5);
});
