// The download recommendation (src/host/models/model-fit.ts): the Q4_K_M tensor layout it sizes a
// not-yet-downloaded model with, checked tensor by tensor against the official 0.5B file
// (models/, always fetched) and by file size against the catalog's 1.5B, 3B and 7B sizes; the engine's estimate
// from that layout equal to the estimate from the real files; and which model is recommended at
// several free-memory values, contexts and KV settings, against totals computed by hand below.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readGGUFHeader } from '../src/engine/gguf/reader';
import { GGUFFile } from '../src/engine/gguf/file';
import { typeName } from '../src/engine/gguf/types';
import { tensorByteSize } from '../src/engine/gguf/writer';
import { readModelConfig } from '../src/engine/model/config';
import { estimateForTensors, estimateMemory } from '../src/engine/memory';
import { resolvePlan } from '../src/engine/kv/plan';
import { MODEL_CATALOG } from '../src/host/models/model-catalog';
import { catalogConfig, fitText, recommendModel } from '../src/host/models/model-fit';
import { moreBitsLayers, q4kmTensors, useMoreBits } from '../src/engine/model/qwen-shapes';
import { KVSettings } from '../src/worker/protocol';
import { modelPath } from './helpers';

const entry = (b: string) => MODEL_CATALOG.find((m) => m.id === `qwen2.5-coder-${b}-instruct-q4_k_m`)!;
const GiB = 2 ** 30;
const FULL: KVSettings = { kind: 'full' };
const ggufDataBytes = (ts: readonly { type: number; dims: readonly number[] }[], align: number): number =>
  ts.reduce((s, x) => s + Math.ceil(tensorByteSize(x.type, x.dims) / align) * align, 0);
const rows = (ts: readonly { name: string; dims: readonly number[]; type: number }[]): string[] =>
  ts.map((t) => `${t.name} [${t.dims.join(',')}] ${typeName(t.type)}`).sort();

test("use_more_bits: llama.cpp's rule with integer division, applied to the blocks in name order", () => {
  const on = (n: number): number[] => Array.from({ length: n }, (_, l) => l).filter((l) => useMoreBits(l, n));
  assert.deepEqual(on(24), [0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23]);
  assert.deepEqual(on(28), [0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27]);
  // Name order blk.0, blk.1, blk.10, blk.11, …: the Q6_K layers of the official 0.5B and 1.5B files.
  assert.deepEqual(
    [...moreBitsLayers(24)].sort((a, b) => a - b),
    [0, 1, 3, 6, 7, 8, 9, 10, 13, 16, 19, 21],
  );
  assert.deepEqual(
    [...moreBitsLayers(28)].sort((a, b) => a - b),
    [0, 1, 5, 6, 7, 8, 9, 10, 13, 16, 19, 21, 24, 27],
  );
  assert.equal(moreBitsLayers(36).size, 18);
});

test("0.5B: the Q4_K_M layout is the official file's, tensor for tensor; the engine's estimate from it equals the file's", () => {
  const p = modelPath('qwen2.5-coder-0.5b-instruct.gguf'); // the official Q4_K_M bytes (catalog: verified-here)
  const f = GGUFFile.open(p);
  try {
    const m = entry('0.5b');
    assert.deepEqual(rows(q4kmTensors(m.shape)), rows(f.tensors));
    const { name: _a, ...expected } = readModelConfig(f);
    const { name: _b, ...mine } = catalogConfig(m);
    assert.deepEqual(mine, expected);
    for (const kind of ['full', 'pod'] as const) {
      const plan = resolvePlan({ kind }, catalogConfig(m), 4096);
      assert.deepEqual(
        estimateForTensors(q4kmTensors(m.shape), catalogConfig(m), 4096, plan, GiB),
        estimateMemory(f, readModelConfig(f), 4096, plan, GiB),
      );
    }
    // GGUF bytes of the layout + the real header = the file, exactly.
    const h = readGGUFHeader(p);
    assert.equal(h.dataOffset + ggufDataBytes(q4kmTensors(m.shape), h.alignment), m.size);
  } finally {
    f.close();
  }
});

test('1.5B, 3B and 7B: the catalog sizes are what a Q4_K_M file of their shape with a separate output.weight weighs', () => {
  const h = readGGUFHeader(modelPath('qwen2.5-coder-0.5b-instruct.gguf')); // same tokenizer and metadata keys
  for (const b of ['1.5b', '3b', '7b']) {
    const m = entry(b);
    const predicted = h.dataOffset + ggufDataBytes(q4kmTensors(m.shape), h.alignment);
    // Bound: only the metadata differs (names; 7B's 128 more vocabulary entries): measured 2.7 KB (1.5B),
    // 5.5 KB (3B), 3.0 KB (7B). A tied 3B (no output.weight) would be 255 MB off; another quant mix, tens of MB.
    assert.ok(Math.abs(m.size - predicted) < 16 * 1024, `${b}: ${m.size} vs ${predicted}`);
  }
});

// Hand-computed (f16 KV, engine defaults): packed weight bytes (Q4_K 0.75 B, Q6_K 1.25 B, Q5_0/Q8_0
// 1.125 B per weight, F32 4 B; token_embd left out: read from the file), total = 1.75 × weights
// + KV + 448 MiB (469,762,048). KV at T tokens = 2 · layers · T · KV heads · head dim · 2 B.
//   0.5B: weights   542,918,144; KV@4096  50,331,648 →  1,470,200,448; KV@32768   402,653,184 →  1,822,521,984
//   1.5B: weights 1,374,033,920; KV@4096 117,440,512 →  2,991,761,920; KV@32768   939,524,096 →  3,813,845,504
//   3B:   weights 2,678,439,936; KV@4096 150,994,944 →  5,308,026,880; KV@32768 1,207,959,552 →  6,364,991,488
//   7B:   weights 6,064,658,432; KV@4096 234,881,024 → 11,317,795,328; KV@32768 1,879,048,192 → 12,961,962,496
// (3B: 388,956,160 output + 8,192 norm + 36 × 57,829,376 + 18 × 11,534,336 Q6_K extra;
//  7B: 681,246,720 output + 14,336 norm + 28 × 174,831,616 + 14 × 34,865,152 Q6_K extra.)
const TOTAL_4K = { '0.5b': 1_470_200_448, '1.5b': 2_991_761_920, '3b': 5_308_026_880, '7b': 11_317_795_328 };
const TOTAL_32K = { '0.5b': 1_822_521_984, '1.5b': 3_813_845_504, '3b': 6_364_991_488, '7b': 12_961_962_496 };
const SIZES = ['0.5b', '1.5b', '3b', '7b'] as const;

test('estimates at the default context (4096) and at 32768 equal the hand-computed totals', () => {
  for (const [ctx, totals] of [
    [0, TOTAL_4K],
    [32768, TOTAL_32K],
  ] as const) {
    const r = recommendModel(MODEL_CATALOG, { contextSize: ctx, kv: FULL, freeBytes: 0 });
    assert.deepEqual(
      r.fits.map((f) => f.estimate.totalBytes),
      SIZES.map((b) => totals[b]),
    );
    assert.ok(r.fits.every((f) => f.contextSize === (ctx || 4096) && !f.fits));
    assert.equal(r.recommended, undefined);
  }
});

test('the largest model that fits is recommended (fits means total ≤ free, as Engine.load checks)', () => {
  const pick = (freeBytes: number, contextSize = 0, kv = FULL): string | undefined =>
    recommendModel(MODEL_CATALOG, { contextSize, kv, freeBytes }).recommended?.model.id.replace(
      /^qwen2\.5-coder-(.*)-instruct-q4_k_m$/,
      '$1',
    );
  assert.equal(pick(1 * GiB), undefined);
  assert.equal(pick(TOTAL_4K['0.5b'] - 1), undefined);
  assert.equal(pick(TOTAL_4K['0.5b']), '0.5b');
  assert.equal(pick(2 * GiB), '0.5b');
  assert.equal(pick(4_000_000_000), '1.5b');
  assert.equal(pick(8 * GiB), '3b');
  assert.equal(pick(TOTAL_4K['7b'] - 1), '3b');
  assert.equal(pick(15_000_000_000), '7b');
  assert.equal(pick(64 * GiB), '7b');
  // The configured context counts: 32768 tokens of KV push each one down a size.
  assert.equal(pick(3_500_000_000), '1.5b');
  assert.equal(pick(3_500_000_000, 32768), '0.5b');
  assert.equal(pick(12_000_000_000), '7b');
  assert.equal(pick(12_000_000_000, 32768), '3b');
  // And the KV settings: a streaming window of max(256, 32768/8) = 4096 tokens holds 4096 tokens of KV.
  assert.equal(pick(12_000_000_000, 32768, { kind: 'streaming' }), '7b');
  // A PoD profile is per model: ignored for catalog models (uniform blocks instead), never read.
  assert.equal(pick(15_000_000_000, 0, { kind: 'pod', profile: '/nonexistent/profile.json' }), '7b');
});

test('the quick pick text: size, RAM at the context, why one is recommended and why others do not fit', () => {
  const r = recommendModel(MODEL_CATALOG, { contextSize: 0, kv: FULL, freeBytes: 8 * GiB });
  const [small, , three, seven] = r.fits.map((f) => fitText(f, r));
  assert.deepEqual(three, {
    label: '$(star-full) Qwen2.5-Coder 3B Instruct (Q4_K_M)',
    description: '2.0 GB download · ≈4.9 GB RAM at 4096 tokens',
    detail:
      'Recommended: the largest model that fits in 8.0 GB of free memory (weights 4.4 GB + KV 144 MB (full cache) + runtime 448 MB). ' +
      'better code and explanations, slower; Qwen Research licence (see the model card).',
  });
  assert.equal(small!.label, 'Qwen2.5-Coder 0.5B Instruct (Q4_K_M)');
  assert.match(small!.detail, /^Fits in 8\.0 GB of free memory .*; a larger model fits too\./);
  assert.equal(seven!.label, '$(warning) Qwen2.5-Coder 7B Instruct (Q4_K_M)');
  assert.match(seven!.detail, /^Does not fit: needs ≈10\.5 GB at 4096 tokens, only 8\.0 GB free /);
});
