// The host ⇄ webview and host ⇄ worker protocols: well-formed frames pass validation unchanged,
// malformed ones (wrong kinds, unknown methods/topics, bad params, extra keys, oversized text,
// non-finite numbers) are rejected with a path to the bad field. Also the CacheView built from a
// full-cache snapshot and from a PoD-shaped one (optional fields present).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TEXT, parseHostMessage, parseWebviewMessage } from '../src/shared/protocol';
import { buildCacheView, SnapshotWire, snapshotWireSchema } from '../src/shared/cache-view';
import { parseFromWorker, parseToWorker } from '../src/worker/protocol';
import { array, number, object, optional, string, tagged, literal } from '../src/shared/validate';

test('validators: objects reject unknown keys, optional keys may be absent, errors name the path', () => {
  const s = object({ a: number({ integer: true }), b: optional(string()), c: array(object({ d: literal('x') })) });
  assert.deepEqual(s.check({ a: 1, c: [{ d: 'x' }] }), { ok: true, value: { a: 1, c: [{ d: 'x' }] } });
  const bad = s.check({ a: 1, c: [{ d: 'y' }] });
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.error, /^c\[0\]\.d: expected "x"/);
  assert.match((s.check({ a: 1, c: [], z: 0 }) as { error: string }).error, /z: unexpected key/);
  assert.match((s.check({ a: 1.5, c: [] }) as { error: string }).error, /a: expected an integer/);
  assert.match((s.check({ a: Number.NaN, c: [] }) as { error: string }).error, /a: expected finite number/);
  const t = tagged('k', { a: object({ k: literal('a') }) });
  assert.match((t.check({ k: '__proto__' }) as { error: string }).error, /k: unknown "__proto__"/);
  assert.match((t.check({ k: 'toString' }) as { error: string }).error, /unknown "toString"/);
});

test('webview → host: well-formed frames pass', () => {
  const frames = [
    { kind: 'ready', view: 'chat' },
    { kind: 'ready', view: 'visualizer' },
    { kind: 'request', id: 1, method: 'chat/send', params: { text: 'hello' } },
    { kind: 'request', id: 2, method: 'chat/stop', params: {} },
    { kind: 'request', id: 3, method: 'chat/clear', params: {} },
    { kind: 'abort', id: 1 },
  ];
  for (const f of frames) assert.deepEqual(parseWebviewMessage(f), { ok: true, value: f }, JSON.stringify(f));
});

test('webview → host: malformed frames are rejected', () => {
  const bad: [unknown, RegExp][] = [
    [null, /expected object/],
    ['ready', /expected object/],
    [[{ kind: 'ready', view: 'chat' }], /expected object/],
    [{}, /kind: unknown/],
    [{ kind: 'hello' }, /kind: unknown "hello"/],
    [{ kind: 'ready' }, /view: expected one of chat, visualizer/],
    [{ kind: 'ready', view: 'chat', extra: 1 }, /extra: unexpected key/],
    [{ kind: 'request', id: 1, method: 'fs/read', params: {} }, /method: expected one of/],
    [{ kind: 'request', id: -1, method: 'chat/stop', params: {} }, /id: -1 is below 0/],
    [{ kind: 'request', id: 1.5, method: 'chat/stop', params: {} }, /id: expected an integer/],
    [{ kind: 'request', id: '1', method: 'chat/stop', params: {} }, /id: expected finite number/],
    [{ kind: 'request', id: 1, method: 'chat/send', params: { text: 5 } }, /params\.text: expected string/],
    [{ kind: 'request', id: 1, method: 'chat/send', params: {} }, /params\.text: expected string, got undefined/],
    [
      { kind: 'request', id: 1, method: 'chat/send', params: { text: 'x', command: 'rm' } },
      /params\.command: unexpected key/,
    ],
    [{ kind: 'request', id: 1, method: 'chat/send', params: { text: 'x'.repeat(MAX_TEXT + 1) } }, /longer than/],
    [{ kind: 'request', id: 1, method: 'chat/stop', params: null }, /params: expected object/],
    [{ kind: 'abort' }, /id: expected finite number/],
  ];
  for (const [f, why] of bad) {
    const r = parseWebviewMessage(f);
    assert.equal(r.ok, false, JSON.stringify(f)?.slice(0, 80));
    assert.match(r.ok ? '' : r.error, why, JSON.stringify(f)?.slice(0, 80));
  }
});

const stats = {
  finishReason: 'eos',
  promptTokens: 10,
  reusedTokens: 0,
  generatedTokens: 5,
  ttftMs: 12.5,
  decodeTokensPerSecond: 30,
  prefillTokensPerSecond: 200,
  totalMs: 300,
  contextTokens: 14,
  contextSize: 4096,
};

test('host → webview: events and responses are checked against their topic and method', () => {
  const good = [
    { kind: 'event', topic: 'chat/delta', data: { turnId: 2, text: 'hi' } },
    { kind: 'event', topic: 'model/status', data: { state: 'ready', model: 'm.gguf', contextSize: 4096 } },
    {
      kind: 'event',
      topic: 'model/status',
      data: {
        state: 'ready',
        model: 'm.gguf',
        contextSize: 18432,
        choice: {
          cache: 'full cache — auto: no PoD profile for this model',
          context: '18432 tokens — auto: the largest that fits the 1.5 GB memory budget',
          budgetBytes: 1610612736,
          estimateBytes: 1600000000,
        },
      },
    },
    { kind: 'event', topic: 'chat/finish', data: { turnId: 2, status: 'done', stats } },
    { kind: 'event', topic: 'cache/view', data: { view: null, updatedAt: 0 } },
    { kind: 'response', id: 4, ok: true, method: 'chat/send', result: { turnId: 2, status: 'done', stats } },
    { kind: 'response', id: 5, ok: false, method: 'chat/send', error: 'busy' },
  ];
  for (const f of good) assert.deepEqual(parseHostMessage(f), { ok: true, value: f }, JSON.stringify(f));
  const bad: [unknown, RegExp][] = [
    [{ kind: 'event', topic: 'chat/delta', data: { turnId: 'x', text: 'hi' } }, /data\.turnId/],
    [{ kind: 'event', topic: 'eval', data: 'alert(1)' }, /topic: expected one of/],
    [{ kind: 'event', topic: 'model/status', data: { state: 'pwned' } }, /data\.state/],
    [
      {
        kind: 'event',
        topic: 'model/status',
        data: { state: 'ready', choice: { cache: 'full', context: 'x', budgetBytes: -1 } },
      },
      /data\.choice\.budgetBytes/,
    ],
    [
      { kind: 'event', topic: 'model/status', data: { state: 'ready', choice: { cache: 'full' } } },
      /data\.choice\.context/,
    ],
    [
      {
        kind: 'event',
        topic: 'chat/finish',
        data: { turnId: 1, status: 'done', stats: { ...stats, ttftMs: Infinity } },
      },
      /ttftMs/,
    ],
    [{ kind: 'response', id: 1, ok: true, method: 'chat/stop', result: { stopped: 'yes' } }, /result\.stopped/],
    [{ kind: 'response', id: 1, ok: false, method: 'chat/stop' }, /needs an error string/],
    [{ kind: 'response', id: 1, ok: true, method: 'chat/stop', result: { stopped: true }, error: 'x' }, /has no error/],
  ];
  for (const [f, why] of bad) {
    const r = parseHostMessage(f);
    assert.equal(r.ok, false, JSON.stringify(f));
    assert.match(r.ok ? '' : r.error, why);
  }
});

test('host ⇄ worker: messages are validated in both directions', () => {
  const sampler = { temperature: 0, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1, seed: 0 };
  const gen = {
    type: 'generate',
    id: 1,
    session: 'chat',
    messages: [{ role: 'user', content: 'hi' }],
    maxTokens: 8,
    sampler,
    stop: [],
    trimToFit: true,
    snapshotEveryMs: 0,
  };
  assert.equal(parseToWorker(gen).ok, true);
  assert.equal(parseToWorker({ ...gen, messages: [{ role: 'tool', content: 'x' }] }).ok, false);
  assert.equal(parseToWorker({ ...gen, maxTokens: 0 }).ok, false);
  assert.equal(parseToWorker({ type: 'load', id: 1, path: '/m.gguf', threads: 0 }).ok, false);
  assert.equal(
    parseToWorker({ type: 'load', id: 1, path: '/m.gguf', contextSize: 0 }).ok,
    true,
    'contextSize 0: automatic',
  );
  assert.equal(parseToWorker({ type: 'load', id: 1, path: '/m.gguf', contextSize: -1 }).ok, false);
  assert.equal(parseToWorker({ type: 'eval', id: 1 }).ok, false);
  assert.equal(parseFromWorker({ type: 'delta', id: 1, text: 'x' }).ok, true);
  assert.equal(parseFromWorker({ type: 'error', id: null, name: 'E', message: 'm' }).ok, true);
  assert.equal(parseFromWorker({ type: 'counts', id: 1, counts: [1, -2] }).ok, false);
  // The persisted workspace prefix: where (checked field by field), the worker's log lines, what was restored.
  const persist = { workspace: '/ws', dir: '/cache/kv', capBytes: 2 ** 31 };
  assert.equal(parseToWorker({ ...gen, persist }).ok, true);
  for (const bad of [
    { ...persist, capBytes: -1 },
    { ...persist, capBytes: 1.5 },
    { workspace: '/ws', capBytes: 1 },
    { ...persist, extra: 1 },
    { ...persist, dir: 'x'.repeat(5000) },
  ]) {
    assert.equal(parseToWorker({ ...gen, persist: bad }).ok, false, JSON.stringify(bad).slice(0, 80));
  }
  assert.equal(parseFromWorker({ type: 'log', message: 'workspace KV state saved: 3 tokens' }).ok, true);
  assert.equal(parseFromWorker({ type: 'log', message: 'x'.repeat(9000) }).ok, false);
  const stats = {
    promptTokens: 1,
    reusedTokens: 2,
    generatedTokens: 1,
    ttftMs: 1,
    prefillMs: 1,
    prefillTokensPerSecond: 1,
    decodeMs: 1,
    decodeTokensPerSecond: 1,
    totalMs: 2,
    kvBytes: 8,
    contextTokens: 4,
  };
  const done = { type: 'done', id: 1, reason: 'eos', text: 'x', stats, droppedMessages: 0, contextSize: 16 };
  assert.equal(parseFromWorker(done).ok, true);
  assert.equal(parseFromWorker({ ...done, restoredTokens: 2 }).ok, true);
  assert.equal(parseFromWorker({ ...done, restoredTokens: -2 }).ok, false);
});

const full: SnapshotWire = {
  kind: 'full',
  tokens: 100,
  capacityTokens: 256,
  nLayers: 2,
  nKVHeads: 3,
  headDim: 64,
  bytesPerElement: 4,
  allocatedBytes: 2 * 2 * 256 * 3 * 64 * 4,
  usedBytes: 2 * 2 * 100 * 3 * 64 * 4,
  fullCacheBytes: 2 * 2 * 100 * 3 * 64 * 4,
  perLayer: [0, 1].map((layer) => ({
    layer,
    kBytes: 256 * 3 * 64 * 4,
    vBytes: 256 * 3 * 64 * 4,
    usedBytes: 2 * 100 * 3 * 64 * 4,
    fullBytes: 2 * 100 * 3 * 64 * 4,
  })),
};

test('CacheView of a full cache: no blocks, live bytes per layer, nothing saved', () => {
  assert.equal(snapshotWireSchema.check(full).ok, true);
  const v = buildCacheView(full);
  assert.equal(v.grid.length, 6);
  assert.equal(v.blocks, 0);
  assert.ok(v.grid.every((c) => c.block === null && !c.anchor));
  const perLayerLive = 2 * 100 * 3 * 64 * 4; // K+V of 100 tokens for one layer
  for (const l of v.layers) {
    assert.equal(l.bytes, perLayerLive);
    assert.equal(l.fullBytes, perLayerLive);
    assert.equal(l.allocatedBytes, 2 * 256 * 3 * 64 * 4);
  }
  assert.equal(v.savedPercent, 0);
  assert.equal(v.sinkTokens, null);
});

test('CacheView of a PoD-shaped snapshot: blocks, anchors, similarity and token ranges flow through', () => {
  // A hand-written snapshot in the shape the PoD cache is expected to report (optional fields).
  const pod: SnapshotWire = {
    ...full,
    kind: 'pod',
    usedBytes: full.usedBytes / 2,
    sinkTokens: 4,
    recentTokens: 32,
    distantTokens: 64,
    shareMode: 'scores',
    heads: [0, 1].flatMap((layer) =>
      [0, 1, 2].map((kvHead) => ({
        layer,
        kvHead,
        block: 0,
        anchor: layer === 0,
        ...(layer ? { similarity: 0.9 } : {}),
      })),
    ),
  };
  assert.equal(snapshotWireSchema.check(pod).ok, true);
  const v = buildCacheView(pod);
  assert.equal(v.blocks, 3); // one per KV head: (anchor layer 0, head h)
  assert.equal(v.shareMode, 'scores');
  assert.deepEqual(
    v.grid.filter((c) => c.anchor).map((c) => c.layer),
    [0, 0, 0],
  );
  assert.equal(v.grid[3]!.similarity, 0.9);
  assert.equal(v.savedPercent, 50);
  assert.deepEqual([v.sinkTokens, v.recentTokens, v.distantTokens], [4, 32, 64]);
  assert.equal(
    snapshotWireSchema.check({ ...pod, heads: [{ layer: 0, kvHead: 0, block: 0, anchor: 'yes' }] }).ok,
    false,
  );
});
