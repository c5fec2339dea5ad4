// KVCache.exportState/importState (src/engine/kv/state.ts) for the full, PoD and streaming caches
// on stories260K: a cache restored from an exported state continues with bit-identical logits
// (same buffers, same graph: exact), PoD with tokens already in its distant store; a state that
// does not fit (other kind, dtype, sizes) throws before anything is changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine';
import { KVSpec } from '../src/engine/kv/plan';
import { KVState } from '../src/engine/kv/state';
import { modelPath } from './helpers';

const IDS = [
  1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419,
  292, 411, 322, 265, 282, 295, 433, 426, 385,
];

for (const [name, kv] of [
  ['full', { kind: 'full', dtype: 'f32' }],
  ['full f16', { kind: 'full', dtype: 'f16' }],
  ['pod', { kind: 'pod', sinks: 2, recent: 8, groupSize: 2, dtype: 'f32' }],
  ['pod f16', { kind: 'pod', sinks: 2, recent: 8, groupSize: 2, dtype: 'f16' }],
  ['streaming', { kind: 'streaming', sinks: 2, recent: 8 }],
] as [string, KVSpec][]) {
  test(`${name}: export → import into a fresh cache continues with identical logits`, async () => {
    const e = await Engine.load(modelPath('stories260K-f32.gguf'), { threads: 1, contextSize: 64, kv });
    try {
      const a = e.createCache();
      await e.decoder.step(IDS.slice(0, 20), a, [19]);
      await e.decoder.step(IDS.slice(20, 25), a, [4]);
      const s = a.exportState();
      assert.equal(s.length, 25);
      if (kv.kind === 'pod') assert.ok((a.snapshot().pod?.tokens.distant ?? 0) > 0, 'the distant store is in use');
      const b = e.createCache();
      b.importState(s);
      assert.equal(b.length, 25);
      assert.deepEqual(b.snapshot(), {
        ...a.snapshot(),
        allocatedBytes: b.snapshot().allocatedBytes,
        capacityTokens: b.snapshot().capacityTokens,
        perLayer: b.snapshot().perLayer,
      });
      const la = await e.decoder.step(IDS.slice(25, 30), a, [4]);
      const lb = await e.decoder.step(IDS.slice(25, 30), b, [4]);
      assert.deepEqual(lb, la); // exact: same stored K/V, same graph
      // Exported states are copies: the source moved on, the state did not.
      assert.equal(s.length, 25);
      const c = e.createCache();
      c.importState(s);
      assert.deepEqual(await e.decoder.step(IDS.slice(25, 30), c, [4]), la);
    } finally {
      await e.dispose();
    }
  });
}

test('importState rejects a state that does not fit and leaves the cache unchanged', async () => {
  const full = await Engine.load(modelPath('stories260K-f32.gguf'), {
    threads: 1,
    contextSize: 64,
    kv: { kind: 'full', dtype: 'f32' },
  });
  const pod = await Engine.load(modelPath('stories260K-f32.gguf'), {
    threads: 1,
    contextSize: 64,
    kv: { kind: 'pod', sinks: 2, recent: 8, groupSize: 2 },
  });
  try {
    const a = full.createCache();
    await full.decoder.step(IDS.slice(0, 12), a, [11]);
    const s = a.exportState();
    const p = pod.createCache();
    assert.throws(() => p.importState(s), /^RangeError: KV state/); // a full state in a PoD cache
    const b = full.createCache();
    await full.decoder.step(IDS.slice(0, 3), b, [2]);
    const bad = (o: Partial<KVState>): KVState => ({ ...s, ...o });
    assert.throws(() => b.importState(bad({ dtype: 'f16' })), /stores f16/);
    assert.throws(() => b.importState(bad({ buffers: s.buffers.slice(1) })), /buffers, expected/);
    assert.throws(() => b.importState(bad({ buffers: s.buffers.map((x) => x.slice(1)) })), /elements, expected/);
    assert.throws(() => b.importState(bad({ length: 13 })), /does not fit/);
    assert.equal(b.length, 3);
  } finally {
    await full.dispose();
    await pod.dispose();
  }
});
