// The PoD cache and attention (pod-method.md §2–§5) against their oracles:
//  - the reference forward pass computing §5 literally (all keys kept, distant logits taken from
//    the anchor layer) — ONNX PoD logits must match it at every position (f32 weights: 1e-4
//    relative, as for the full cache);
//  - the same with a calibrated distant bias (a per-(layer, query head) offset of the shared
//    distant logits; the reference adds it to each distant logit, the graph to the distant LSE);
//  - the full cache, in the two limits where PoD must equal it: every block one layer, or a recent
//    window covering the whole context (1e-5);
//  - itself, fed as one prefill, in chunks and token by token (1e-5);
//  - with K/V stored as f16 (11-bit mantissa, relative rounding 4.9e-4): 3e-3 against the f32
//    reference and across chunkings (measured ≤ 1.6e-3: a token's K/V are rounded once stored,
//    ONNX Runtime may skip the rounding while the token is still new in its own step);
//  - the distant-key store holds exactly the anchors' keys (bit-equal to the rows the graph
//    produced), every non-local unit's values, and its byte counts follow §4 and docs/pod-qwen.md §2;
//  - local units (docs/pod-qwen.md §2: no distant keys or values) against the reference dropping their distant
//    tokens, including a block that spans a local unit and a layer where every unit is local.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGUFFile } from '../src/engine/gguf/file';
import { readModelConfig } from '../src/engine/model/config';
import { OnnxDecoder } from '../src/engine/decoder';
import { KVPlan, LOCAL, uniformAnchors } from '../src/engine/kv/plan';
import { PodKVCache } from '../src/engine/kv/pod';
import { KVArray } from '../src/engine/kv/dtype';
import { ReferenceModel } from '../src/engine/reference/forward';
import { maxRelDiff, modelPath, stepLogits } from './helpers';
import { createCache } from '../src/engine/kv/create';
import { kvBytesAt } from '../src/engine/memory';
import { buildCacheView } from '../src/shared/cache-view';
import { toSnapshotWire } from '../src/worker/snapshot';

const TOKENS = [
  1,
  ...'403 407 261 378 432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337 410 408 419 292 411 322 265 282 295 433 426 385'
    .split(' ')
    .map(Number),
];
const STORIES = 'stories260K-f32.gguf';

async function decoder(file: string, kv: KVPlan, contextSize = 128): Promise<OnnxDecoder> {
  const f = GGUFFile.open(modelPath(file));
  return OnnxDecoder.load(f, readModelConfig(f), { threads: 1, contextSize, kv });
}

function referenceLogits(kv: KVPlan): Float32Array[] {
  const f = GGUFFile.open(modelPath(STORIES));
  const m = ReferenceModel.load(f);
  f.close();
  m.kvPlan = kv;
  return m.forwardAll(TOKENS);
}

// stories260K: 5 layers, 4 KV heads. Blocks per KV head, deliberately uneven.
const PER_HEAD = [
  [0, 0, 0, 0],
  [0, 1, 0, 1],
  [0, 1, 2, 1],
  [3, 1, 2, 3],
  [3, 4, 2, 3],
];
/**
 * Share of distant-token K+V bytes a plan keeps out of memory (docs/pod-qwen.md §2), the oracle for
 * the cache's own account: a shared-key unit saves its keys (½), a local unit keys and values (1).
 */
const distantSaving = (anchors: readonly (readonly number[])[]): number => {
  const all = anchors.flatMap((row, l) => row.map((a): number => (a === LOCAL ? 1 : a === l ? 0 : 0.5)));
  return all.reduce((s, x) => s + x, 0) / all.length;
};

/** With local units (docs/pod-qwen.md §2): layer 0 head 1, a block of head 0 spanning a local unit (layers 0–3), a layer of only local units. */
const X = LOCAL;
const PER_HEAD_LOCAL = [
  [0, X, 0, 0],
  [0, 1, X, 1],
  [X, 1, 2, 1],
  [0, X, 2, 3],
  [X, X, X, X],
];
/** Distant logit offsets [layer][query head] (8 query heads), uneven, both signs; anchors ignore theirs. */
const BIAS = Array.from({ length: 5 }, (_, l) =>
  Array.from({ length: 8 }, (_, hq) => (((l * 7 + hq * 3) % 5) - 2) * 0.7),
);
const PLANS: [string, KVPlan][] = [
  ['uniform g=2 scores', { kind: 'pod', sinks: 2, recent: 5, anchors: uniformAnchors(5, 4, 2), mode: 'scores' }],
  ['uniform g=5 scores', { kind: 'pod', sinks: 4, recent: 3, anchors: uniformAnchors(5, 4, 5), mode: 'scores' }],
  ['per-head blocks scores', { kind: 'pod', sinks: 2, recent: 5, anchors: PER_HEAD, mode: 'scores' }],
  ['per-head blocks keys', { kind: 'pod', sinks: 2, recent: 5, anchors: PER_HEAD, mode: 'keys' }],
  ['uniform g=3 keys, no sinks', { kind: 'pod', sinks: 0, recent: 4, anchors: uniformAnchors(5, 4, 3), mode: 'keys' }],
  [
    'per-head blocks scores + distant bias',
    { kind: 'pod', sinks: 2, recent: 5, anchors: PER_HEAD, mode: 'scores', distantBias: BIAS },
  ],
  [
    'uniform g=3 keys + distant bias',
    { kind: 'pod', sinks: 1, recent: 4, anchors: uniformAnchors(5, 4, 3), mode: 'keys', distantBias: BIAS },
  ],
  [
    'per-head blocks + local units, scores',
    { kind: 'pod', sinks: 2, recent: 5, anchors: PER_HEAD_LOCAL, mode: 'scores' },
  ],
  [
    'per-head blocks + local units, keys + distant bias',
    { kind: 'pod', sinks: 1, recent: 4, anchors: PER_HEAD_LOCAL, mode: 'keys', distantBias: BIAS },
  ],
  ['streaming', { kind: 'streaming', sinks: 2, recent: 5 }],
];

test('local units change the reference logits (so the oracle tests below can catch a graph that ignores them)', () => {
  const d = maxRelDiff(
    referenceLogits({ kind: 'pod', sinks: 2, recent: 5, anchors: PER_HEAD, mode: 'scores' }),
    referenceLogits({ kind: 'pod', sinks: 2, recent: 5, anchors: PER_HEAD_LOCAL, mode: 'scores' }),
  );
  assert.ok(d > 1e-2, `local units moved the logits by only ${d}`);
});

test('the calibrated distant bias changes the reference logits (so the oracle tests above can catch a graph that ignores it)', () => {
  const plan: KVPlan = { kind: 'pod', sinks: 2, recent: 5, anchors: PER_HEAD, mode: 'scores' };
  const d = maxRelDiff(referenceLogits(plan), referenceLogits({ ...plan, distantBias: BIAS }));
  assert.ok(d > 1e-2, `bias moved the logits by only ${d}`);
});

for (const [name, plan] of PLANS) {
  test(`stories260K PoD ${name}, f16 storage: close to the f32 reference, chunk-invariant`, async () => {
    const ref = referenceLogits(plan);
    const dec = await decoder(STORIES, { ...plan, dtype: 'f16' });
    const whole = await stepLogits(dec, TOKENS, TOKENS.length);
    assert.ok(maxRelDiff(whole, ref) < 3e-3, `one prefill vs reference: ${maxRelDiff(whole, ref)}`);
    for (const chunk of [1, 3, 7]) {
      const dc = maxRelDiff(await stepLogits(dec, TOKENS, chunk), whole);
      assert.ok(dc < 3e-3, `chunk ${chunk} vs one prefill: ${dc}`);
    }
    await dec.dispose();
  });
  test(`stories260K PoD ${name}: ONNX matches the reference §5 attention, in any chunking`, async () => {
    const ref = referenceLogits(plan);
    const dec = await decoder(STORIES, plan);
    const whole = await stepLogits(dec, TOKENS, TOKENS.length);
    const d = maxRelDiff(whole, ref);
    assert.ok(d < 1e-4, `one prefill vs reference: ${d}`);
    for (const chunk of [1, 3, 7]) {
      const dc = maxRelDiff(await stepLogits(dec, TOKENS, chunk), whole);
      assert.ok(dc < 1e-5, `chunk ${chunk} vs one prefill: ${dc}`);
    }
    await dec.dispose();
  });
}

test('PoD equals the full cache with blocks of one layer, and with a window covering the context', async () => {
  const full = await decoder(STORIES, { kind: 'full' });
  const expect = await stepLogits(full, TOKENS, 4);
  await full.dispose();
  const limits: KVPlan[] = [
    { kind: 'pod', sinks: 1, recent: 3, anchors: uniformAnchors(5, 4, 1), mode: 'scores' },
    { kind: 'pod', sinks: 0, recent: TOKENS.length, anchors: uniformAnchors(5, 4, 5), mode: 'scores' },
    { kind: 'pod', sinks: 4, recent: TOKENS.length - 4, anchors: PER_HEAD, mode: 'keys' },
  ];
  for (const plan of limits) {
    const dec = await decoder(STORIES, plan);
    for (const chunk of [1, 5, TOKENS.length]) {
      const d = maxRelDiff(await stepLogits(dec, TOKENS, chunk), expect);
      assert.ok(d < 1e-5, `${JSON.stringify(plan).slice(0, 60)} chunk ${chunk}: ${d}`);
    }
    await dec.dispose();
  }
});

for (const [name, anchors] of [
  ['per-head blocks', PER_HEAD],
  ['with local units', PER_HEAD_LOCAL],
] as const)
  test(`${name}: the distant store holds exactly the anchors' keys, every non-local unit's values, and the bytes add up`, async () => {
    const plan: Extract<KVPlan, { kind: 'pod' }> = { kind: 'pod', sinks: 2, recent: 5, anchors, mode: 'scores' };
    const dec = await decoder(STORIES, plan);
    const c = dec.config;
    const pod = new PodKVCache(c, plan, 128);
    // Record every key/value row the graph hands to the cache, by layer and position.
    const seen: { k: KVArray; v: KVArray }[][] = Array.from({ length: c.nLayers }, () => []);
    const append = pod.append.bind(pod);
    pod.append = (l, k, v, T) => {
      const row = c.nKVHeads * c.headDim;
      for (let t = 0; t < T; t++)
        seen[l]!.push({ k: k.slice(t * row, (t + 1) * row), v: v.slice(t * row, (t + 1) * row) });
      append(l, k, v, T);
    };
    for (let i = 0; i < TOKENS.length; i += 6) {
      const part = TOKENS.slice(i, i + 6);
      await dec.step(part, pod, [0]);
    }
    const nd = TOKENS.length - plan.sinks - plan.recent;
    assert.equal(pod.distantTokens, nd);
    const D = c.headDim;
    for (let l = 0; l < c.nLayers; l++) {
      const dist = pod.distant(l);
      assert.deepEqual(
        [...dist.heads],
        anchors[l]!.flatMap((a, h) => (a === l ? [h] : [])),
      );
      assert.deepEqual(
        [...dist.valueHeads],
        anchors[l]!.flatMap((a, h) => (a === LOCAL ? [] : [h])),
      );
      const nV = dist.valueHeads.length;
      assert.equal(dist.keys.length, nd * dist.heads.length * D, `layer ${l}: key floats`);
      assert.equal(dist.values.length, nd * nV * D, `layer ${l}: value floats`);
      for (let t = 0; t < nd; t++) {
        const { k, v } = seen[l]![plan.sinks + t]!; // distant tokens are stored in position order from S on
        dist.heads.forEach((h, i) =>
          assert.deepEqual(
            dist.keys.subarray((t * dist.heads.length + i) * D, (t * dist.heads.length + i + 1) * D),
            k.subarray(h * D, (h + 1) * D),
            `layer ${l} token ${plan.sinks + t} head ${h}`,
          ),
        );
        dist.valueHeads.forEach((h, i) =>
          assert.deepEqual(
            dist.values.subarray((t * nV + i) * D, (t * nV + i + 1) * D),
            v.subarray(h * D, (h + 1) * D),
            `layer ${l} token ${plan.sinks + t} head ${h} values`,
          ),
        );
      }
    }

    // Accounting: allocated bytes are the typed arrays; used bytes follow pod-method.md §4, docs/pod-qwen.md §2.
    const snap = pod.snapshot();
    assert.equal(snap.allocatedBytes, pod.byteSize());
    assert.equal(
      snap.allocatedBytes,
      snap.perLayer.reduce((s, x) => s + x.kBytes + x.vBytes, 0),
    );
    const T = TOKENS.length,
      W = plan.sinks + plan.recent;
    const expectedSaved = (distantSaving(plan.anchors) * (T - W)) / T;
    assert.ok(
      Math.abs(snap.pod!.savedFraction - expectedSaved) < 1e-12,
      `saved ${snap.pod!.savedFraction} vs §4 ${expectedSaved}`,
    );
    assert.deepEqual(snap.pod!.tokens, { sinks: 2, recent: 5, distant: nd });
    await dec.dispose();
  });

test('int8 distant store: bytes ≈ a quarter of f32, logits close to the f32 store, exact round trip of scales', async () => {
  const base: Extract<KVPlan, { kind: 'pod' }> = {
    kind: 'pod',
    sinks: 2,
    recent: 5,
    anchors: PER_HEAD,
    mode: 'scores',
  };
  const plain = await decoder(STORIES, base);
  const q8 = await decoder(STORIES, { ...base, distantQuant: 'int8' });
  const a = await stepLogits(plain, TOKENS, 4);
  const b = await stepLogits(q8, TOKENS, 4);
  // Per-(token, head) int8 rounding of distant K/V: relative error ≤ 1/254 per element.
  const d = maxRelDiff(b, a);
  assert.ok(d < 2e-2, `int8 vs f32 distant store: ${d}`);
  assert.ok(d > 0, 'int8 must actually quantize');
  const c = plain.config;
  const p8 = new PodKVCache(c, { ...base, distantQuant: 'int8' }, 128);
  const pf = new PodKVCache(c, base, 128);
  for (let i = 0; i < TOKENS.length; i += 8) {
    await q8.step(TOKENS.slice(i, i + 8), p8, [0]);
    await plain.step(TOKENS.slice(i, i + 8), pf, [0]);
  }
  const nd = TOKENS.length - base.sinks - base.recent;
  // Layer 0 sees identical inputs in both runs, so its rows differ only by int8 rounding:
  // at most half a step, absmax/254, per (token, head) row.
  const x = p8.distant(0),
    y = pf.distant(0);
  assert.equal(x.values.length, nd * c.nKVHeads * c.headDim);
  const D = c.headDim;
  for (const [got, want] of [
    [x.values, y.values],
    [x.keys, y.keys],
  ] as const) {
    for (let r = 0; r < want.length / D; r++) {
      let amax = 0;
      for (let i = 0; i < D; i++) amax = Math.max(amax, Math.abs(want[r * D + i]!));
      for (let i = 0; i < D; i++)
        assert.ok(Math.abs(got[r * D + i]! - want[r * D + i]!) <= amax / 254 + 1e-6, `row ${r}`);
    }
  }
  // §4 bytes with int8 rows + one f32 scale per (token, head): D + 4 bytes instead of 4·D.
  const s8 = p8.snapshot(),
    sf = pf.snapshot();
  const rowsF =
    (sf.usedBytes - 2 * c.nLayers * (base.sinks + base.recent) * c.nKVHeads * c.headDim * 4) / (c.headDim * 4);
  const rows8 =
    (s8.usedBytes - 2 * c.nLayers * (base.sinks + base.recent) * c.nKVHeads * c.headDim * 4) / (c.headDim + 4);
  assert.equal(rows8, rowsF, 'same distant rows, int8 encoded');
  assert.ok(s8.usedBytes < sf.usedBytes);
  await plain.dispose();
  await q8.dispose();
});

test('kvBytesAt (the memory estimate) equals the bytes a cache really uses, for every plan', async () => {
  const f = GGUFFile.open(modelPath(STORIES));
  const c = readModelConfig(f);
  f.close();
  const plans: KVPlan[] = [
    { kind: 'full', dtype: 'f16' },
    { kind: 'streaming', sinks: 2, recent: 5, dtype: 'f32' },
    { kind: 'pod', sinks: 2, recent: 5, anchors: PER_HEAD, mode: 'scores', dtype: 'f16' },
    { kind: 'pod', sinks: 2, recent: 5, anchors: PER_HEAD, mode: 'scores', dtype: 'f16', distantQuant: 'int8' },
    { kind: 'pod', sinks: 2, recent: 5, anchors: PER_HEAD_LOCAL, mode: 'keys', dtype: 'f16' },
    { kind: 'pod', sinks: 2, recent: 5, anchors: PER_HEAD_LOCAL, mode: 'scores', dtype: 'f32', distantQuant: 'int8' },
  ];
  for (const plan of plans) {
    const dec = await decoder(STORIES, plan);
    const cache = createCache(c, plan, 128);
    for (let i = 0; i < TOKENS.length; i += 9) await dec.step(TOKENS.slice(i, i + 9), cache, [0]);
    const snap = cache.snapshot(),
      what = JSON.stringify(plan).slice(0, 80);
    assert.equal(kvBytesAt(c, plan, TOKENS.length), snap.usedBytes, what);
    // Per layer: the visualizer draws the cache's own per-layer account (int8 distant rows included).
    assert.equal(
      snap.perLayer.reduce((a, l) => a + l.usedBytes, 0),
      snap.usedBytes,
      what,
    );
    assert.equal(
      snap.perLayer.reduce((a, l) => a + l.fullBytes, 0),
      snap.fullCacheBytes,
      what,
    );
    assert.deepEqual(
      buildCacheView(toSnapshotWire(snap)).layers.map((l) => l.bytes),
      snap.perLayer.map((l) => l.usedBytes),
      what,
    );
    // Per (layer, KV head): every unit once, row-major; they sum to each layer's and to the cache's
    // total (exact: integer byte counts), and reach the visualizer's grid cell by cell.
    assert.deepEqual(
      snap.perHead.map((h) => [h.layer, h.kvHead]),
      Array.from({ length: c.nLayers * c.nKVHeads }, (_, i) => [Math.floor(i / c.nKVHeads), i % c.nKVHeads]),
      what,
    );
    assert.equal(
      snap.perHead.reduce((a, h) => a + h.usedBytes, 0),
      snap.usedBytes,
      what,
    );
    for (const l of snap.perLayer)
      assert.equal(
        snap.perHead.filter((h) => h.layer === l.layer).reduce((a, h) => a + h.usedBytes, 0),
        l.usedBytes,
        `${what} layer ${l.layer}`,
      );
    assert.deepEqual(
      buildCacheView(toSnapshotWire(snap)).grid.map((g) => g.bytes),
      snap.perHead.map((h) => h.usedBytes),
      what,
    );
    if (plan.kind === 'pod') {
      // A unit holds its proximal tokens' K and V, distant keys if it is an anchor, distant values unless local.
      const dtypeBytes = plan.dtype === 'f32' ? 4 : 2;
      const prox = 2 * (snap.pod!.tokens.sinks + snap.pod!.tokens.recent) * c.headDim * dtypeBytes;
      const row = (plan.distantQuant === 'int8' ? c.headDim + 4 : c.headDim * dtypeBytes) * snap.pod!.tokens.distant;
      assert.ok(snap.pod!.tokens.distant > 0, 'tokens left the window');
      for (const h of snap.perHead) {
        const anchor: number = plan.anchors[h.layer]![h.kvHead]!;
        const expected: number = prox + (anchor === h.layer ? row : 0) + (anchor !== LOCAL ? row : 0);
        assert.equal(h.usedBytes, expected, `${what} unit ${h.layer}.${h.kvHead} (anchor ${anchor})`);
      }
      // A layer keeps distant keys for its anchor heads and values for its non-local heads.
      const anchorsIn = (l: number): number =>
        plan.anchors[l]!.filter((a) => a === l).length + plan.anchors[l]!.filter((a) => a !== LOCAL).length;
      for (let l = 1; l < c.nLayers; l++) {
        const d = Math.sign(anchorsIn(l) - anchorsIn(l - 1));
        assert.equal(
          Math.sign(snap.perLayer[l]!.usedBytes - snap.perLayer[l - 1]!.usedBytes),
          d,
          `${what} layers ${l - 1}, ${l}`,
        );
      }
    }
    await dec.dispose();
  }
});

test('the distant store stops growing at the context size: a full PoD cache never allocates more than a full cache', async () => {
  const plan: Extract<KVPlan, { kind: 'pod' }> = {
    kind: 'pod',
    sinks: 2,
    recent: 5,
    anchors: PER_HEAD,
    mode: 'scores',
    dtype: 'f32',
  };
  const ctx = TOKENS.length; // fill the context exactly
  const dec = await decoder(STORIES, plan, ctx);
  const full = await decoder(STORIES, { kind: 'full', dtype: 'f32' }, ctx);
  const pod = createCache(dec.config, plan, ctx);
  const ref = createCache(full.config, full.plan, ctx);
  for (let i = 0; i < TOKENS.length; i += 3) {
    await dec.step(TOKENS.slice(i, i + 3), pod, [0]);
    await full.step(TOKENS.slice(i, i + 3), ref, [0]);
  }
  assert.equal(pod.length, ctx);
  assert.ok(pod.byteSize() < ref.byteSize(), `PoD allocated ${pod.byteSize()} vs full ${ref.byteSize()}`);
  assert.equal(pod.byteSize(), kvBytesAt(dec.config, plan, ctx), 'allocation = exact need at a full context');
  await dec.dispose();
  await full.dispose();
});
