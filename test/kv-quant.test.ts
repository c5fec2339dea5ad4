// Low-bit PoD distant storage (src/engine/kv/distant-quant.ts) against its oracles:
//  - the fast Walsh–Hadamard transform equals the product with the matrix built from its
//    definition (H[i][j] = (−1)^popcount(i∧j) / √D), and H·H = I (1e-6);
//  - int4 rows decode within the rounding bound: in the rotated space each element is off by at
//    most half a step (absmax/14), so by orthonormality a row's L2 error is at most √D·absmax/14;
//    int8 rows within absmax/254 per element (no rotation);
//  - the graph (unpack, scales, rotated query and output) computes what the TypeScript decoding
//    says: a plain f32 PoD cache holding the int4 cache's decoded rows gives the same logits on the
//    next tokens (1e-4 relative);
//  - export (decoded rows) → import (quantized again) gives the same codes; scales move only by the
//    float rounding of the decoded rows, so the rows decode within 1e-5 of their largest element
//    (f32) — states of quantized caches can be checkpointed and saved, and loaded into a plain cache;
//  - bytes: D/2 + 4 per (token, head) row for int4, D + 4 for int8; the memory estimate agrees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGUFFile } from '../src/engine/gguf/file';
import { readModelConfig } from '../src/engine/model/config';
import { OnnxDecoder } from '../src/engine/decoder';
import { KVPlan } from '../src/engine/kv/plan';
import { PodKVCache } from '../src/engine/kv/pod';
import { hadamard, hadamardMatrix, QuantDistant } from '../src/engine/kv/distant-quant';
import { distantRowBytes } from '../src/engine/kv/distant';
import { kvBytesAt } from '../src/engine/memory';
import { maxRelDiff, modelPath } from './helpers';

const STORIES = 'stories260K-f32.gguf'; // 5 layers, 4 KV heads, head size 8
const TOKENS = [
  1,
  ...'403 407 261 378 432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337 410 408 419 292'
    .split(' ')
    .map(Number),
];
const PER_HEAD = [
  [0, 0, 0, 0],
  [0, 1, 0, 1],
  [0, 1, 2, 1],
  [3, 1, 2, 3],
  [3, 4, 2, 3],
];

/** A deterministic pseudo-random row with one outlier channel (what the rotation is for). */
function row(D: number, seed: number): Float32Array {
  let s = (seed * 2654435761) % 2 ** 32;
  const r = new Float32Array(D);
  for (let i = 0; i < D; i++) {
    s = (s * 1664525 + 1013904223) % 2 ** 32;
    r[i] = (s / 2 ** 32 - 0.5) * 2;
  }
  r[seed % D] = 25;
  return r;
}

test('Walsh–Hadamard: the fast transform equals the matrix from its definition, and H·H = I', () => {
  for (const D of [2, 8, 64, 128]) {
    const H = hadamardMatrix(D);
    const x = row(D, D),
      y = Float32Array.from(x);
    hadamard(y, 0, D);
    for (let i = 0; i < D; i++) {
      let want = 0,
        popOnes = 0;
      for (let j = 0; j < D; j++) {
        let bits = i & j,
          parity = 0;
        while (bits) {
          parity ^= bits & 1;
          bits >>= 1;
        }
        want += ((parity ? -1 : 1) * x[j]!) / Math.sqrt(D);
        assert.equal(H[i * D + j], Math.fround((parity ? -1 : 1) / Math.sqrt(D)));
        popOnes += H[i * D + j]! * H[j * D + i]!;
      }
      assert.ok(Math.abs(y[i]! - want) < 1e-4, `D ${D} row ${i}`);
      assert.ok(Math.abs(popOnes - 1) < 1e-6, 'H·H diagonal is 1');
    }
    hadamard(y, 0, D);
    for (let i = 0; i < D; i++) assert.ok(Math.abs(y[i]! - x[i]!) < 1e-5, 'H is its own inverse');
  }
});

test('int4 and int8 rows decode within their rounding bounds; int4 packs D/2 + 4 bytes per row', () => {
  const D = 64,
    n = 40;
  for (const quant of ['int4', 'int8'] as const) {
    const s = new QuantDistant(quant, 'f32', D, [0], [0], 1000);
    const rows = Array.from({ length: n }, (_, t) => row(D, t + 1));
    for (const r of rows) s.push(r, r);
    const { keys, values } = s.decoded();
    rows.forEach((r, t) => {
      const rot = Float32Array.from(r);
      if (quant === 'int4') hadamard(rot, 0, D);
      const amax = rot.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      let l2 = 0;
      for (let i = 0; i < D; i++) {
        const e = keys[t * D + i]! - r[i]!;
        l2 += e * e;
        assert.equal(keys[t * D + i], values[t * D + i]);
        if (quant === 'int8') assert.ok(Math.abs(e) <= amax / 254 + 1e-6, `int8 row ${t} element ${i}`);
      }
      assert.ok(
        Math.sqrt(l2) <= (Math.sqrt(D) * amax) / (quant === 'int4' ? 14 : 254) + 1e-5,
        `${quant} row ${t}: L2 error ${Math.sqrt(l2)}`,
      );
    });
    assert.deepEqual(s.used(), { k: n * distantRowBytes(quant, D, 'f32'), v: n * distantRowBytes(quant, D, 'f32') });
    assert.equal(distantRowBytes(quant, D, 'f32'), quant === 'int4' ? 36 : 68);
  }
  // The outlier: without the rotation one channel of 25 would set a step of 25/7 for all 64.
  const plainStep = 25 / 7,
    s4 = new QuantDistant('int4', 'f32', D, [0], [], 10);
  const r = row(D, 3);
  s4.push(r, r);
  const err = Math.sqrt(s4.decoded().keys.reduce((a, x, i) => a + (x - r[i]!) ** 2, 0));
  assert.ok(err < (Math.sqrt(D) * plainStep) / 4 / 2, `the rotation spreads the outlier: L2 error ${err}`);
  assert.throws(() => new QuantDistant('int4', 'f32', 48, [0], [0], 10), /power-of-two head size/);
});

async function decoder(kv: KVPlan): Promise<OnnxDecoder> {
  const f = GGUFFile.open(modelPath(STORIES));
  return OnnxDecoder.load(f, readModelConfig(f), { threads: 1, contextSize: 128, kv });
}

for (const quant of ['int4', 'int8'] as const) {
  test(`${quant}: the graph computes with what the store decodes to; states round-trip with the same codes`, async () => {
    const base: Extract<KVPlan, { kind: 'pod' }> = {
      kind: 'pod',
      sinks: 2,
      recent: 5,
      anchors: PER_HEAD,
      mode: 'scores',
      dtype: 'f32',
    };
    const q = await decoder({ ...base, distantQuant: quant });
    const plain = await decoder(base);
    try {
      const c = q.config;
      const cq = new PodKVCache(c, { ...base, distantQuant: quant }, 128);
      for (let i = 0; i < 16; i += 4) await q.step(TOKENS.slice(i, i + 4), cq, [0]);
      const state = cq.exportState();
      // A plain f32 cache holding the decoded rows: the same numbers, no quantization in its graph.
      const cp = new PodKVCache(c, base, 128);
      cp.importState(state);
      const rest = TOKENS.slice(16);
      const a = await q.step(
        rest,
        cq,
        rest.map((_, i) => i),
      );
      const b = await plain.step(
        rest,
        cp,
        rest.map((_, i) => i),
      );
      const d = maxRelDiff([a], [b]);
      assert.ok(d < 1e-4, `${quant} graph vs plain graph on the decoded rows: ${d}`);
      // Export → import into a fresh quantized cache: the same codes, scales up to float rounding.
      const again = new PodKVCache(c, { ...base, distantQuant: quant }, 128);
      again.importState(cq.exportState());
      for (let l = 0; l < c.nLayers; l++) {
        const x = cq.distant(l),
          y = again.distant(l);
        for (const [got, want, what] of [
          [y.keys, x.keys, 'keys'],
          [y.values, x.values, 'values'],
        ] as const) {
          assert.equal(got.length, want.length);
          const amax = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          const err = got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i]!)), 0);
          assert.ok(err <= 1e-5 * amax, `layer ${l} ${what}: ${err} of ${amax}`);
        }
      }
      // The cache's account equals the memory estimate.
      assert.equal(cq.snapshot().usedBytes, kvBytesAt(c, { ...base, distantQuant: quant }, cq.length));
    } finally {
      await q.dispose();
      await plain.dispose();
    }
  });
}
