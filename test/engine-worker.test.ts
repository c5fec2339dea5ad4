// The engine worker thread with SmolLM2-135M: loading, token streaming, identical greedy output
// to the in-process engine, KV snapshots, prefix reuse across turns, abort, token counts, a
// summarize job (maxTokens, its last step's stats, live snapshots of its cache),
// malformed messages, and crash / out-of-memory handling (a pending call is rejected with advice,
// the next call starts a fresh worker). Also prints the host event loop's delay while the worker
// generates (information only: no timing assertions, see CONTRIBUTING).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { EngineClient, EngineCrashError } from '../src/host/engine-client';
import { Engine } from '../src/engine/engine';
import { SnapshotWire } from '../src/shared/cache-view';
import { modelPath, ROOT, SMOLLM2 } from './helpers';

const WORKER = path.join(ROOT, 'out/src/worker/main.js');
const GREEDY = { temperature: 0, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1, seed: 0 };
const log: string[] = [];
const client = new EngineClient({ workerPath: WORKER, log: (l) => log.push(l) });
const snapshots: SnapshotWire[] = [];
client.onSnapshot((_session, s) => snapshots.push(s));
after(() => client.dispose());

const QUESTION = [{ role: 'user' as const, content: 'What is the capital of France?' }];

test('the worker loads SmolLM2 and streams the same greedy tokens as the in-process engine', async () => {
  const info = await client.load(modelPath(SMOLLM2), { contextSize: 1024 });
  assert.equal(info.nLayers, 30);
  assert.equal(info.nKVHeads, 3);
  assert.equal(info.contextSize, 1024);

  const deltas: string[] = [];
  let prefills = 0;
  const run = client.generate(
    { session: 'chat', messages: QUESTION, maxTokens: 24, sampler: GREEDY },
    {
      onDelta: (t) => deltas.push(t),
      onPrefill: () => prefills++,
    },
  );
  const done = await run.done;
  assert.ok(deltas.length > 1, 'tokens arrive one by one');
  assert.equal(deltas.join(''), done.text);
  assert.ok(prefills >= 1);
  assert.ok(done.stats.generatedTokens > 0 && done.stats.ttftMs > 0);

  // The oracle: the same request through the engine in this thread gives the same tokens.
  const engine = await Engine.load(modelPath(SMOLLM2), { contextSize: 1024 });
  try {
    let text = '';
    for await (const ev of engine.generate(engine.createCache(), {
      prompt: engine.chatPrompt(QUESTION),
      maxTokens: 24,
      sampler: GREEDY,
    })) {
      if (ev.type === 'done') text = ev.text;
    }
    assert.equal(done.text, text);
  } finally {
    await engine.dispose();
  }

  // The final snapshot describes the session's cache after the answer.
  const last = snapshots.at(-1);
  assert.ok(last, 'a snapshot was posted');
  assert.equal(last.kind, 'full');
  assert.equal(last.tokens, done.stats.contextTokens);
  assert.equal(last.nLayers, 30);
  assert.equal(last.usedBytes, 2 * 30 * last.tokens * 3 * 64 * 2); // K and V, f16 (the default KV storage since 139933e)
});

test('a follow-up in the same session reuses the cached prefix', async () => {
  const first = await client.generate({ session: 'chat', messages: QUESTION, maxTokens: 8, sampler: GREEDY }).done;
  const follow = [
    ...QUESTION,
    { role: 'assistant' as const, content: first.text },
    { role: 'user' as const, content: 'And of Italy?' },
  ];
  const second = await client.generate({ session: 'chat', messages: follow, maxTokens: 8, sampler: GREEDY }).done;
  assert.ok(
    second.stats.reusedTokens >= first.stats.promptTokens,
    `reused ${second.stats.reusedTokens} of ${first.stats.promptTokens}+`,
  );
  // A different session starts from nothing.
  const other = await client.generate({ session: 'other', messages: QUESTION, maxTokens: 4, sampler: GREEDY }).done;
  assert.equal(other.stats.reusedTokens, 0);
});

test('abort stops a generation within a step; the event loop stays free meanwhile', async () => {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  let n = 0;
  const run = client.generate(
    {
      session: 'long',
      messages: [{ role: 'user', content: 'Write a long story about a dragon.' }],
      maxTokens: 400,
      sampler: { ...GREEDY, temperature: 0.8 },
    },
    {
      onDelta: () => {
        if (++n === 40) run.abort();
      },
    },
  );
  const done = await run.done;
  h.disable();
  assert.equal(done.reason, 'abort');
  assert.ok(done.stats.generatedTokens < 400 && done.stats.generatedTokens >= 40);
  console.log(
    `# host event-loop delay while the worker generated ${done.stats.generatedTokens} tokens (${done.stats.decodeTokensPerSecond.toFixed(1)} tok/s): ` +
      `p50 ${(h.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms (information only)`,
  );
});

test('token counts for chunking, and malformed messages are rejected by the worker', async () => {
  const [a, b, c] = await client.count(['hello world', '', 'The quick brown fox jumps over the lazy dog.']);
  assert.equal(b, 0);
  assert.ok(a! >= 2 && c! >= 9);
  // Bypass the typed client: a forged message must be rejected (and reported), not crash the worker.
  const w = (client as unknown as { worker: { postMessage(m: unknown): void } }).worker;
  w.postMessage({ type: 'generate', id: 999, session: 'x' });
  w.postMessage({ type: 'eval', code: 'process.exit(1)' });
  const deadline = Date.now() + 10_000; // watchdog only
  while (log.filter((l) => l.includes('malformed message rejected')).length < 2 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  assert.equal(log.filter((l) => l.includes('ProtocolError: malformed message rejected')).length, 2, log.join('\n'));
  assert.equal((await client.count(['still alive']))[0]! > 0, true);
});

test("a summarize job honours maxTokens, streams live snapshots of its cache and reports its last step's stats", async () => {
  const seen: { session: string; tokens: number }[] = [];
  const off = client.onSnapshot((session, s) => seen.push({ session, tokens: s.tokens }));
  const progress: string[] = [];
  const text = Array.from(
    { length: 16 },
    (_, i) => `Line ${i + 1}: the cache keeps token ${i * 3} of layer ${i % 30} in f16.`,
  ).join('\n');
  const r = await client
    .summarize({ docs: [{ path: 'notes.txt', text }], maxTokens: 12, sampler: GREEDY, snapshotEveryMs: 1 }, (m) =>
      progress.push(m),
    )
    .done.finally(off);
  assert.match(r.note, /^Covered all of notes\.txt \(lines 1–16, \d+ tokens\) in 1 part\.$/);
  assert.ok(
    progress.some((m) => /^summarizing part 1 of 1/.test(m)),
    progress.join(' | '),
  );
  // Stats of the step that wrote the summary, bounded by maxTokens (podlens.summarize.maxTokens).
  assert.ok(r.last, "the summary carries its last generation's stats");
  assert.ok(
    r.last.stats.generatedTokens > 0 && r.last.stats.generatedTokens <= 12,
    `generated ${r.last.stats.generatedTokens}`,
  );
  assert.ok(r.last.stats.promptTokens > 16 && r.last.stats.ttftMs > 0);
  assert.equal(r.last.contextSize, 1024);
  // Snapshots of the summary's cache under its own session: while it runs, and its final state.
  const mine = seen.filter((x) => x.session === 'summarize');
  assert.deepEqual(
    seen.filter((x) => x.session !== 'summarize'),
    [],
    'only the summary generated',
  );
  assert.ok(mine.length >= 2, `${mine.length} snapshots`);
  assert.ok(
    mine.some((x) => x.tokens < r.last!.stats.contextTokens),
    'a snapshot arrived before the step finished',
  );
  assert.equal(mine.at(-1)!.tokens, r.last.stats.contextTokens);
});

test('a PoD cache loaded through the worker reports its blocks and token partition', async () => {
  const pod = new EngineClient({ workerPath: WORKER });
  const snaps: SnapshotWire[] = [];
  pod.onSnapshot((_s, w) => snaps.push(w));
  try {
    const info = await pod.load(modelPath(SMOLLM2), {
      contextSize: 512,
      kv: { kind: 'pod', sinks: 4, recent: 12, groupSize: 5, mode: 'keys' },
    });
    assert.match(info.kv, /PoD keys \(sinks 4, recent 12/);
    const done = await pod.generate({ session: 's', messages: QUESTION, maxTokens: 8, sampler: GREEDY }).done;
    const s = snaps.at(-1)!;
    assert.equal(s.kind, 'pod');
    assert.equal(s.shareMode, 'keys');
    assert.equal(s.tokens, done.stats.contextTokens);
    assert.equal(s.sinkTokens! + s.recentTokens! + s.distantTokens!, s.tokens);
    assert.equal(s.heads!.length, 30 * 3);
    assert.deepEqual(
      s.heads!.filter((h) => h.anchor).map((h) => h.layer),
      [0, 0, 0, 5, 5, 5, 10, 10, 10, 15, 15, 15, 20, 20, 20, 25, 25, 25],
    );
    assert.ok(s.usedBytes < s.fullCacheBytes);
    // A follow-up whose history differs from what was generated, after tokens went distant: the PoD cache cannot rewind, so
    // the session reads the prompt again from the start instead of failing (found by the e2e chat).
    const follow = [
      ...QUESTION,
      { role: 'assistant' as const, content: 'Lyon, I think.' },
      { role: 'user' as const, content: 'And of Spain?' },
    ];
    const again = await pod.generate({ session: 's', messages: follow, maxTokens: 4, sampler: GREEDY }).done;
    assert.equal(again.reason === 'length' || again.reason === 'stop', true, again.reason);
    assert.equal(again.stats.reusedTokens, 0);
    assert.ok(again.stats.generatedTokens > 0);
  } finally {
    await pod.dispose();
  }
});

test('engine errors come back typed (missing model file)', async () => {
  const other = new EngineClient({ workerPath: WORKER });
  try {
    await assert.rejects(
      other.load('/nonexistent/model.gguf'),
      (e: Error) => e.name === 'ModelFileError' && /nonexistent/.test(e.message),
    );
  } finally {
    await other.dispose();
  }
});

function script(body: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-worker-'));
  const f = path.join(dir, 'w.js');
  fs.writeFileSync(f, body);
  return f;
}

test('a crashing worker rejects pending calls with advice, and the next call starts a new worker', async () => {
  // Crashes on the first message it receives.
  const crashing = new EngineClient({
    workerPath: script("require('node:worker_threads').parentPort.on('message', () => { throw new Error('boom'); });"),
  });
  const crashes: EngineCrashError[] = [];
  crashing.onCrash((e) => crashes.push(e));
  try {
    await assert.rejects(
      crashing.count(['x']),
      (e: Error) => e instanceof EngineCrashError && /boom.*next request restarts it/.test(e.message),
    );
    assert.equal(crashes.length, 1);
    await assert.rejects(crashing.count(['x']), EngineCrashError); // a fresh worker (which crashes again)
    assert.equal(crashes.length, 2);
  } finally {
    await crashing.dispose();
  }
});

test('a worker that exhausts its heap cap is stopped and reported as out of memory', async () => {
  const hog = new EngineClient({
    workerPath: script(
      "const a = []; require('node:worker_threads').parentPort.on('message', () => { for (;;) a.push(new Array(1e5).fill(Math.random())); });",
    ),
    maxHeapMb: 32,
  });
  try {
    await assert.rejects(
      hog.count(['x']),
      (e: Error) => e instanceof EngineCrashError && /ran out of memory.*contextSize/.test(e.message),
    );
  } finally {
    await hog.dispose();
  }
});
