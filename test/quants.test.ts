// Dequantizers and quantizers against oracles outside this codebase (test/fixtures/quant-vectors.json,
// made by scripts/make-quant-vectors.py from gguf-py and ggml's C), plus round-trip error bounds,
// row reads from real files and a dequantization throughput report.
//
// Tolerance: bit-exact everywhere. Dequantization is exact in float64 (f16 scale × small integer,
// plus an f16 offset, all multiples of 2^-24 below 2^26) so the single rounding on the Float32Array
// store equals ggml's float32 result; quantization reproduces each float32 op with Math.fround.
// A last-bit difference would therefore be a real bug, not noise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GGMLType, TYPE_TRAITS } from '../src/engine/gguf/types';
import { bytesFor, dequantize, dequantizeInto } from '../src/engine/gguf/quants';
import { quantize } from '../src/engine/gguf/quantize';
import { dequantizeRows, dequantizeTensor } from '../src/engine/gguf/tensor-data';
import { GGUFFile } from '../src/engine/gguf/file';
import { modelPath, ROOT, SMOLLM2 } from './helpers';

interface Vectors {
  dequantize: { type: string; n: number; bytes: string; values: string }[];
  quantize: { type: string; oracle: string; input: string; bytes: string }[];
  realFile: { file: string; tensor: string; type: string; firstRow: number; nRows: number; sha256: string }[];
}
const V = JSON.parse(fs.readFileSync(path.join(ROOT, 'test/fixtures/quant-vectors.json'), 'utf8')) as Vectors;

const typeOf = (name: string): GGMLType => {
  const t = GGMLType[name as keyof typeof GGMLType];
  assert.ok(t !== undefined, name);
  return t;
};
const bytes = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));
const floats = (b64: string): Float32Array => {
  const b = bytes(b64);
  return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
};
const bits = (f: Float32Array): Uint32Array => new Uint32Array(f.buffer, f.byteOffset, f.length);

function firstBitDiff(a: Float32Array, b: Float32Array): number {
  const x = bits(a),
    y = bits(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return -1;
}

const QUANTS = ['Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q4_K', 'Q6_K'];

test('dequantizers reproduce gguf-py bit for bit on random blocks (incl. zero, subnormal, ±65504 scales)', () => {
  assert.deepEqual(V.dequantize.map((v) => v.type).sort(), [...QUANTS].sort());
  for (const v of V.dequantize) {
    const want = floats(v.values);
    const got = dequantize(typeOf(v.type), bytes(v.bytes), v.n);
    const at = firstBitDiff(got, want);
    assert.equal(at, -1, `${v.type} element ${at}: got ${got[at]}, gguf-py ${want[at]}`);
  }
});

test('quantizers reproduce gguf-py and ggml quantize_row_*_ref byte for byte', () => {
  const covered = new Set(V.quantize.map((v) => v.type));
  for (const t of ['F16', 'BF16', ...QUANTS]) assert.ok(covered.has(t), `fixture lacks quantize vectors for ${t}`);
  for (const v of V.quantize) {
    const type = typeOf(v.type);
    const want = bytes(v.bytes);
    const got = quantize(type, floats(v.input));
    assert.equal(got.length, want.length, v.type);
    const at = got.findIndex((x, i) => x !== want[i]);
    if (at >= 0) {
      const bs = TYPE_TRAITS.get(type)!.typeSize;
      assert.fail(
        `${v.type} vs ${v.oracle}: first byte difference at ${at} (block ${Math.floor(at / bs)}, byte ${at % bs})`,
      );
    }
  }
});

/** Deterministic standard normals (mulberry32 + Box–Muller). */
function gaussian(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const u = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u())),
      a = 2 * Math.PI * u();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

// RMS error / RMS signal on N(0, 1) data: about the expected uniform-rounding error over each
// block's range, plus ~20 % headroom (the data is seeded, so the measured values are fixed;
// they are printed as diagnostics).
const RMS_BOUND: Record<string, number> = {
  F32: 0,
  F16: 2.5e-4,
  BF16: 2e-3,
  Q8_0: 0.0065,
  Q6_K: 0.022,
  Q5_1: 0.046,
  Q5_0: 0.052,
  Q4_K: 0.085,
  Q4_1: 0.095,
  Q4_0: 0.105,
};

test('dequantize(quantize(x)) error is within the expected bound for every type', (t) => {
  const x = gaussian(256 * 64, 7);
  const signal = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
  const measured: [string, number][] = [];
  for (const [name, bound] of Object.entries(RMS_BOUND)) {
    const type = typeOf(name);
    const q = quantize(type, x);
    assert.equal(q.length, bytesFor(type, x.length));
    const y = dequantize(type, q, x.length);
    let e = 0;
    for (let i = 0; i < x.length; i++) e += (y[i]! - x[i]!) ** 2;
    const rel = Math.sqrt(e / x.length) / signal;
    measured.push([name, rel]);
    assert.ok(rel <= bound, `${name}: relative RMS error ${rel} exceeds ${bound}`);
  }
  t.diagnostic(`relative RMS error: ${measured.map(([n, e]) => `${n} ${e.toExponential(2)}`).join(', ')}`);
  // More bits, or K-quants' finer scales at similar size, must give strictly smaller error.
  const order = ['F32', 'F16', 'BF16', 'Q8_0', 'Q6_K', 'Q5_1', 'Q5_0', 'Q4_K', 'Q4_1', 'Q4_0'];
  const err = new Map(measured);
  order.slice(1).forEach((name, i) => assert.ok(err.get(order[i]!)! < err.get(name)!, `${order[i]} < ${name}`));
  // All-zero input round-trips to exact zeros in every format (the d = 0 branches).
  for (const name of Object.keys(RMS_BOUND)) {
    const type = typeOf(name);
    const z = dequantize(type, quantize(type, new Float32Array(256)), 256);
    assert.ok(
      z.every((v) => v === 0),
      `${name} zero block`,
    );
  }
});

test("dequantization does not depend on the byte view's alignment or the output offset", () => {
  const x = gaussian(512, 11);
  for (const type of TYPE_TRAITS.keys()) {
    const q = quantize(type, x);
    const shifted = new Uint8Array(q.length + 3);
    shifted.set(q, 3);
    const want = dequantize(type, q, 512);
    const out = new Float32Array(512 + 5);
    dequantizeInto(type, shifted.subarray(3), 512, out, 5);
    assert.equal(firstBitDiff(out.subarray(5), want), -1, GGMLType[type]);
  }
});

test('quantize rejects bad lengths and non-finite input for block types', () => {
  assert.throws(() => quantize(GGMLType.Q4_K, new Float32Array(32)), /multiple of the Q4_K block size 256/);
  assert.throws(() => quantize(GGMLType.Q8_0, Float32Array.of(...new Array<number>(31).fill(0), NaN)), /non-finite/);
  assert.throws(() => quantize(GGMLType.IQ2_XXS, new Float32Array(256)), /cannot quantize to IQ2_XXS/);
  assert.throws(() => dequantize(GGMLType.Q4_0, new Uint8Array(17), 32), /need 18 bytes/);
});

test('real file: dequantized SmolLM2 tensors match gguf-py digests; row reads equal whole-tensor slices', () => {
  const f = GGUFFile.open(modelPath(SMOLLM2));
  try {
    assert.ok(V.realFile.length >= 3, 'fixture has real-file digests');
    for (const r of V.realFile) {
      const info = f.requireTensor(r.tensor);
      assert.equal(GGMLType[info.type], r.type);
      const rows = dequantizeRows(f, info, r.firstRow, r.nRows);
      const digest = crypto
        .createHash('sha256')
        .update(Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength))
        .digest('hex');
      assert.equal(digest, r.sha256, `${r.tensor} rows ${r.firstRow}+${r.nRows}`);
    }
    const q = f.requireTensor('blk.3.attn_k.weight');
    const whole = dequantizeTensor(f, q);
    const row0 = q.dims[0]!;
    assert.deepEqual(dequantizeRows(f, q, 17, 3), whole.subarray(17 * row0, 20 * row0));
    assert.equal(dequantizeRows(f, q, 0, 0).length, 0);
    assert.throws(() => dequantizeRows(f, q, q.nElements / row0 - 1, 2), RangeError);
  } finally {
    f.close();
  }
});

test('real file: F32 rows of stories260K equal the raw little-endian floats', () => {
  const f = GGUFFile.open(modelPath('stories260K-f32.gguf'));
  try {
    const e = f.requireTensor('token_embd.weight');
    const raw = f.readTensorBytes(e, 5 * 64 * 4, 2 * 64 * 4);
    const want = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    assert.deepEqual(dequantizeRows(f, e, 5, 2), want);
  } finally {
    f.close();
  }
});

test('throughput: Q4_1 and Q8_0 on SmolLM2 (reported, loosely bounded)', (t) => {
  const f = GGUFFile.open(modelPath(SMOLLM2));
  try {
    for (const [type, names] of [
      [GGMLType.Q4_1, ['blk.0.ffn_up.weight', 'blk.0.ffn_gate.weight', 'blk.0.ffn_down.weight']],
      [GGMLType.Q8_0, ['token_embd.weight']],
    ] as const) {
      const infos = names.map((n) => f.requireTensor(n));
      const raws = infos.map((i) => f.readTensorBytes(i));
      const outs = infos.map((i) => new Float32Array(i.nElements));
      let bytesIn = 0;
      const start = process.hrtime.bigint();
      let elapsed = 0;
      do {
        infos.forEach((info, k) => {
          assert.equal(info.type, type);
          // dequantize into a preallocated buffer: measures the kernel, not allocation
          dequantizeInto(info.type, raws[k]!, info.nElements, outs[k]!, 0);
          bytesIn += raws[k]!.length;
        });
        elapsed = Number(process.hrtime.bigint() - start) / 1e9;
      } while (elapsed < 0.4);
      const mbs = bytesIn / 1e6 / elapsed;
      const outMbs = ((bytesIn / bytesFor(type, 32)) * 32 * 4) / 1e6 / elapsed;
      t.diagnostic(
        `${GGMLType[type]}: ${mbs.toFixed(0)} MB/s of GGUF bytes in, ${outMbs.toFixed(0)} MB/s of float32 out`,
      );
      assert.ok(mbs > 20, `${GGMLType[type]} dequantization at ${mbs.toFixed(1)} MB/s is far too slow`);
    }
  } finally {
    f.close();
  }
});
