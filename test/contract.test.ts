// The declared contract between a KV plan's graph and its cache (src/engine/kv/contract.ts):
//  - for every plan kind (full f32/f16, streaming, PoD in scores and keys mode, with local units
//    and a layer whose units are all local, PoD with int8 distant storage) the built graph's
//    inputs are exactly the contract's names, and the cache's feeds match the contract in name,
//    element type and rank (fixed dimensions equal), before and after tokens reach the distant store;
//  - a graph built for another plan is refused at load, and a cache of another plan of the same
//    kind is refused before the run, each with an error naming the missing and undeclared inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGUFFile } from '../src/engine/gguf/file';
import { readModelConfig } from '../src/engine/model/config';
import { OnnxDecoder } from '../src/engine/decoder';
import { KVPlan, LOCAL, uniformAnchors } from '../src/engine/kv/plan';
import { createCache } from '../src/engine/kv/create';
import {
  CacheContractError,
  checkInputNames,
  layerContract,
  segmentInputNames,
  specsOf,
  stepContract,
} from '../src/engine/kv/contract';
import { OrtSession, HostTensor } from '../src/engine/onnx/runtime';
import { modelPath, storiesPod as pod, wholeModelGraph } from './helpers';

const STORIES = 'stories260K-f32.gguf'; // 5 layers, 4 KV heads
const file = GGUFFile.open(modelPath(STORIES));
const config = readModelConfig(file);
file.close();

// Every unit local or its own anchor: no unit reads another layer's distant part.
const NO_MEMBERS = [
  [0, LOCAL, 0, 0],
  [LOCAL, 1, 1, LOCAL],
  [LOCAL, LOCAL, LOCAL, LOCAL],
  [3, 3, LOCAL, 3],
  [4, 4, 4, 4],
];
const PLANS: [string, KVPlan][] = [
  ['full f32', { kind: 'full', dtype: 'f32' }],
  ['full f16', { kind: 'full', dtype: 'f16' }],
  ['streaming', { kind: 'streaming', sinks: 2, recent: 6, dtype: 'f16' }],
  ['pod scores, local units', pod()],
  ['pod keys, f32', pod({ mode: 'keys', dtype: 'f32' })],
  ['pod int8 distant', pod({ distantQuant: 'int8' })],
  ['pod uniform blocks', pod({ anchors: uniformAnchors(config.nLayers, config.nKVHeads, 2) })],
  ['pod without members (anchor and local units, as the shipped profiles)', pod({ anchors: NO_MEMBERS })],
];

async function load(plan: KVPlan): Promise<OnnxDecoder> {
  return OnnxDecoder.load(GGUFFile.open(modelPath(STORIES)), config, { threads: 1, contextSize: 64, kv: plan });
}

/** Feeds against specs: same names, element types, ranks, and the fixed dimensions. */
function assertMatches(feeds: Record<string, HostTensor>, specs: ReturnType<typeof specsOf>, what: string): void {
  assert.deepEqual(Object.keys(feeds).sort(), specs.map((s) => s.name).sort(), what);
  for (const s of specs) {
    const t = feeds[s.name]!;
    assert.equal(t.type, s.type, `${what}: ${s.name} type`);
    assert.equal(t.dims.length, s.dims.length, `${what}: ${s.name} rank`);
    s.dims.forEach((d, i) => {
      if (typeof d === 'number') assert.equal(t.dims[i], d, `${what}: ${s.name} dim ${i}`);
    });
  }
}

for (const [name, plan] of PLANS) {
  test(`${name}: the graph's inputs and the cache's feeds are the contract's`, async () => {
    const dec = await load(plan); // checks every session's inputNames against the contract
    try {
      const cache = createCache(config, dec.plan, 64);
      for (const T of [5, 4, 1, 3]) {
        // 13 tokens: past sinks + recent, so distant stores fill
        assertMatches(cache.stepInputs(T), specsOf(stepContract(plan)), `${name} step inputs at ${cache.length}`);
        for (let l = 0; l < config.nLayers; l++) {
          assertMatches(
            cache.layerInputs(l, T),
            specsOf(layerContract(plan, l, config.nKVHeads, config.headDim)),
            `${name} layer ${l} at ${cache.length}`,
          );
        }
        await dec.step(
          Array.from({ length: T }, (_, i) => 300 + i + cache.length),
          cache,
          [T - 1],
        );
      }
      assert.equal(cache.length, 13);
    } finally {
      await dec.dispose();
    }
  });
}

test('the contract of a PoD layer declares distant keys only for anchor heads and values only for non-local heads', () => {
  const names = (l: number): string[] =>
    specsOf(layerContract(pod({ distantQuant: 'int8' }), l, config.nKVHeads, config.headDim)).map(
      (s) => `${s.name}:${s.type}:${s.dims.join('x')}`,
    );
  const D = config.headDim;
  assert.deepEqual(names(2), [`prox_k_2:float16:P1x4x${D}`, `prox_v_2:float16:P1x4x${D}`]);
  assert.deepEqual(names(3), [
    `prox_k_3:float16:P1x4x${D}`,
    `prox_v_3:float16:P1x4x${D}`,
    `dist_k_3:int8:NDx2x${D}`,
    'dist_k_scale_3:float32:NDx2x1',
    `dist_v_3:int8:NDx3x${D}`,
    'dist_v_scale_3:float32:NDx3x1',
  ]);
});

test('the D(i) mask of member units is declared only by plans that have members', () => {
  const steps = (p: KVPlan): string[] => specsOf(stepContract(p)).map((s) => s.name);
  assert.deepEqual(steps(pod()), ['mask_prox_a', 'split_a', 'mask_full_b', 'mask_dist_b', 'split_b']);
  assert.deepEqual(steps(pod({ anchors: NO_MEMBERS })), ['mask_prox_a', 'split_a', 'mask_full_b', 'split_b']);
});

test('a graph built for another plan is refused at load, naming the inputs', async () => {
  const f = GGUFFile.open(modelPath(STORIES));
  const built = wholeModelGraph(f, config, pod());
  f.close();
  const session = await OrtSession.create(built, { threads: 1 });
  try {
    checkInputNames(
      'the graph',
      session.inputNames,
      segmentInputNames(pod(), 0, config.nLayers, config.nLayers, config.nKVHeads, config.headDim),
    );
    const other = pod({ anchors: uniformAnchors(config.nLayers, config.nKVHeads, 5) });
    assert.throws(
      () =>
        checkInputNames(
          'the graph',
          session.inputNames,
          segmentInputNames(other, 0, config.nLayers, config.nLayers, config.nKVHeads, config.headDim),
        ),
      (e: unknown) =>
        e instanceof CacheContractError &&
        /the graph does not match the KV cache contract/.test(e.message) &&
        /missing: dist_v_2;/.test(e.message) &&
        /not declared: dist_k_1, dist_k_3, dist_k_4\./.test(e.message),
    );
    const full: KVPlan = { kind: 'full', dtype: 'f16' };
    assert.throws(
      () =>
        checkInputNames(
          'the graph',
          session.inputNames,
          segmentInputNames(full, 0, config.nLayers, config.nLayers, config.nKVHeads, config.headDim),
        ),
      (e: unknown) =>
        e instanceof CacheContractError &&
        /missing: mask_past, mask_new, split_sizes, past_k_0, .* … \(13\)/.test(e.message) &&
        /not declared: .*mask_full_b.* … \(23\)/.test(e.message),
    );
  } finally {
    await session.release();
  }
});

test('a cache of another PoD plan is refused before the run, and left as it was', async () => {
  const dec = await load(pod());
  try {
    const cache = createCache(config, pod({ anchors: uniformAnchors(config.nLayers, config.nKVHeads, 5) }), 64);
    await assert.rejects(
      dec.step([1, 300, 301], cache, [2]),
      (e: unknown) =>
        e instanceof CacheContractError &&
        /feeds of a pod cache step for layers 0–4 does not match/.test(e.message) &&
        /missing: dist_k_1, dist_k_3, dist_k_4;/.test(e.message) &&
        /not declared: dist_v_2\./.test(e.message),
    );
    assert.equal(cache.length, 0);
  } finally {
    await dec.dispose();
  }
});
