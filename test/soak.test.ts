// Soak through the engine worker (EngineClient), issue 7 item 6: 100 start/stop cycles of
// generation and 100 of prefill leave no stuck state (the same greedy answer afterwards, token
// counts still served) and no growth of resident memory; a long session (hundreds of turns,
// tens of thousands of tokens, a 256-token context) keeps memory bounded by the configured context.
// RSS is the whole test process: the worker is a thread of it, and ONNX Runtime's native memory
// lives there too. Bound: growth after warm-up < 10% + 32 MB. Why that catches leaks: ONNX
// Runtime's arena and V8 grow to their peak during warm-up and then stay (not a leak); what is
// left is allocator noise of a few MB. A leaked KV cache would cost 23.6 MB per cycle for SmolLM2
// at 1024 tokens (2.4 GB over 100 cycles); leaked prefill activations several MB per cycle —
// anything above ~0.5 MB per cycle fails. Cycle times are printed (information only).
// `npm test` runs the bounded version (prefill cycles on stories260K, ~30 s in all);
// `npm run soak` (PODLENS_SOAK=full) runs prefill cycles on SmolLM2 and a 5x longer session.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { EngineClient } from '../src/host/engine-client';
import { modelPath, ROOT, SMOLLM2 } from './helpers';

const WORKER = path.join(ROOT, 'out/src/worker/main.js');
const STORIES = 'stories260K-f32.gguf';
const FULL = process.env.PODLENS_SOAK === 'full';
const CYCLES = 100;
const GREEDY = { temperature: 0, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1, seed: 0 };
const MB = 2 ** 20;
const rss = (): number => process.memoryUsage().rss;
const clients: EngineClient[] = [];
after(async () => {
  for (const c of clients) await c.dispose();
});

function bounded(label: string, before: number, afterwards: number): void {
  const growth = afterwards - before;
  console.log(
    `# ${label}: RSS ${(before / MB).toFixed(0)} MB after warm-up → ${(afterwards / MB).toFixed(0)} MB (${growth >= 0 ? '+' : ''}${(growth / MB).toFixed(1)} MB)`,
  );
  assert.ok(
    growth < 0.1 * before + 32 * MB,
    `${label}: RSS grew ${(growth / MB).toFixed(1)} MB from ${(before / MB).toFixed(0)} MB`,
  );
}

async function client(model: string, contextSize: number): Promise<EngineClient> {
  const c = new EngineClient({ workerPath: WORKER });
  clients.push(c);
  await c.load(modelPath(model), { contextSize });
  return c;
}

/** Start a generation and stop it after `afterDeltas` streamed pieces (0: right after starting, i.e. during prefill). */
async function startStop(c: EngineClient, session: string, content: string, afterDeltas: number): Promise<string> {
  let n = 0;
  const run = c.generate(
    { session, messages: [{ role: 'user', content }], maxTokens: 200, sampler: GREEDY, trimToFit: false },
    {
      onDelta: () => {
        if (++n === afterDeltas) run.abort();
      },
    },
  );
  if (afterDeltas === 0) run.abort();
  const done = await run.done;
  return done.reason;
}

async function answer(c: EngineClient, session: string, content: string): Promise<string> {
  return (await c.generate({ session, messages: [{ role: 'user', content }], maxTokens: 16, sampler: GREEDY }).done)
    .text;
}

test(`${CYCLES} start/stop cycles of generation (SmolLM2): no stuck state, no RSS growth`, async () => {
  const c = await client(SMOLLM2, 1024);
  const q = 'What is the capital of France?';
  const reference = await answer(c, 'ref', q);
  for (let i = 0; i < 10; i++) await startStop(c, 'chat', q, 1 + (i % 3)); // warm-up
  const before = rss();
  const t0 = performance.now();
  const reasons = new Map<string, number>();
  for (let i = 0; i < CYCLES; i++) {
    const r = await startStop(c, 'chat', i % 2 ? q : `${q} Answer in one word.`, 1 + (i % 3));
    reasons.set(r, (reasons.get(r) ?? 0) + 1);
  }
  console.log(
    `# ${CYCLES} generation cycles in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${JSON.stringify(Object.fromEntries(reasons))}`,
  );
  assert.equal(reasons.get('abort'), CYCLES, 'every cycle stopped by its abort');
  bounded('generation cycles', before, rss());
  assert.equal(await answer(c, 'ref2', q), reference, 'the same greedy answer after the cycles');
  assert.ok((await c.count(['still serving']))[0]! > 0);
});

test(`${CYCLES} start/stop cycles of prefill (${FULL ? 'SmolLM2' : 'stories260K'}): cut at a chunk boundary, no RSS growth`, async () => {
  const model = FULL ? SMOLLM2 : STORIES;
  const c = await client(model, FULL ? 1024 : 512);
  // > 256 tokens (two prefill chunks) and a different start each cycle, so no prefix is reused.
  const long = (i: number): string =>
    `Note ${i}. ${'The quick brown fox jumps over the lazy dog. '.repeat(FULL ? 40 : 9)}`;
  const reference = await answer(c, 'ref', 'Once upon a time');
  for (let i = 0; i < 5; i++) await startStop(c, 'prefill', long(i), 0);
  const before = rss();
  const t0 = performance.now();
  let contextTokens = 0,
    inPrefill = 0;
  for (let i = 0; i < CYCLES; i++) {
    const run = c.generate({
      session: 'prefill',
      messages: [{ role: 'user', content: long(1000 + i) }],
      maxTokens: 8,
      sampler: GREEDY,
      trimToFit: false,
    });
    run.abort();
    const done = await run.done;
    assert.equal(done.reason, 'abort');
    // The abort is seen between model steps: normally after the first prefill chunk; when the
    // worker thread was descheduled, after the step that was running (at most one token).
    assert.ok(done.stats.generatedTokens <= 1, `${done.stats.generatedTokens} tokens generated after an abort`);
    if (
      done.stats.generatedTokens === 0 &&
      done.stats.contextTokens < done.stats.promptTokens + done.stats.reusedTokens
    )
      inPrefill++;
    contextTokens = done.stats.contextTokens;
  }
  assert.ok(inPrefill >= CYCLES / 2, `${inPrefill} of ${CYCLES} cycles stopped inside the prefill`);
  console.log(
    `# ${CYCLES} prefill cycles in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${inPrefill} stopped inside the prefill (last: ${contextTokens} tokens in the cache)`,
  );
  bounded('prefill cycles', before, rss());
  assert.equal(await answer(c, 'ref2', 'Once upon a time'), reference);
});

test('a long session (stories260K, 256-token context) stays bounded by its context', async () => {
  const ctx = 256;
  const c = await client(STORIES, ctx);
  const info = c.info!;
  let kvAllocated = 0;
  c.onSnapshot((_s, w) => {
    kvAllocated = Math.max(kvAllocated, w.allocatedBytes);
  });
  const history: { role: 'user' | 'assistant'; content: string }[] = [];
  const turns = FULL ? 1000 : 200;
  let tokens = 0,
    dropped = 0,
    before = 0;
  const t0 = performance.now();
  for (let turn = 0; turn < turns; turn++) {
    if (turn === 30) before = rss();
    history.push({ role: 'user', content: `Tell me story ${turn}.` });
    // The last 40 messages are sent (far more than fit): the worker trims them to the context.
    const done = await c.generate({
      session: 'long',
      messages: history.slice(-40),
      maxTokens: 48,
      sampler: { ...GREEDY, temperature: 0.8, seed: turn },
      trimToFit: true,
    }).done;
    history.push({ role: 'assistant', content: done.text });
    tokens += done.stats.promptTokens + done.stats.generatedTokens;
    dropped = Math.max(dropped, done.droppedMessages);
    assert.ok(
      done.stats.contextTokens <= ctx,
      `turn ${turn}: ${done.stats.contextTokens} tokens in a ${ctx}-token cache`,
    );
  }
  console.log(
    `# long session: ${turns} turns, ${tokens} tokens computed in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
      `up to ${dropped} oldest messages left out per turn; KV allocated ≤ ${kvAllocated} bytes (capacity ${info.kvBytes})`,
  );
  assert.ok(tokens >= 20_000, `${tokens} tokens`);
  assert.ok(dropped > 0, 'the history outgrew the context and was trimmed');
  assert.ok(kvAllocated > 0 && kvAllocated <= info.kvBytes, 'the KV cache never exceeds the configured context');
  bounded('long session', before, rss());
});
