// The generation loop on stories260K: greedy text, max tokens, EOS, stop strings (not shown,
// never split across token events), cancellation within one step, and the stats it reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine';
import { GenerateEvent, PromptTooLongError } from '../src/engine/generate';
import { StopMatcher } from '../src/engine/stop';
import { modelPath } from './helpers';

const GOLDEN =
  '403 407 261 378 432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337 410 408 419 292 411 322 265 282 295 433 426 385'
    .split(' ')
    .map(Number);

async function collect(stream: AsyncGenerator<GenerateEvent>): Promise<GenerateEvent[]> {
  const out: GenerateEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}
const done = (evs: GenerateEvent[]) => evs.at(-1) as Extract<GenerateEvent, { type: 'done' }>;
const streamed = (evs: GenerateEvent[]) =>
  evs.map((e) => (e.type === 'token' || e.type === 'text' ? e.text : '')).join('');

test('greedy generation: golden ids, streamed text equals the final text, stats filled', async () => {
  const engine = await Engine.load(modelPath('stories260K-f32.gguf'), { threads: 1, contextSize: 256 });
  const evs = await collect(
    engine.generate(engine.createCache(), { prompt: [1], maxTokens: 32, sampler: { temperature: 0 } }),
  );
  const d = done(evs);
  assert.deepEqual(d.tokens, GOLDEN);
  assert.equal(d.reason, 'length');
  assert.equal(streamed(evs), d.text);
  assert.equal(d.text, engine.tokenizer.decode(GOLDEN, { skipSpecial: true }));
  assert.ok(d.text.startsWith('Once upon a time'));
  const s = d.stats;
  assert.equal(s.promptTokens, 1);
  assert.equal(s.generatedTokens, 32);
  assert.equal(s.contextTokens, 1 + 31); // the last sampled token is not fed back
  assert.ok(s.ttftMs > 0 && s.prefillTokensPerSecond > 0 && s.decodeTokensPerSecond > 0 && s.kvBytes > 0);
  await engine.dispose();
});

test('stop strings end generation and are not emitted; same seed, same sample', async () => {
  const engine = await Engine.load(modelPath('stories260K-f32.gguf'), { threads: 1, contextSize: 256 });
  const evs = await collect(
    engine.generate(engine.createCache(), { prompt: [1], maxTokens: 64, sampler: { temperature: 0 }, stop: ['Lily'] }),
  );
  const d = done(evs);
  assert.equal(d.reason, 'stop');
  assert.equal(d.text, 'Once upon a time, there was a little girl named ');
  assert.equal(streamed(evs), d.text);
  const a = done(
    await collect(
      engine.generate(engine.createCache(), { prompt: [1], maxTokens: 24, sampler: { temperature: 1, seed: 7 } }),
    ),
  );
  const b = done(
    await collect(
      engine.generate(engine.createCache(), { prompt: [1], maxTokens: 24, sampler: { temperature: 1, seed: 7 } }),
    ),
  );
  const c = done(
    await collect(
      engine.generate(engine.createCache(), { prompt: [1], maxTokens: 24, sampler: { temperature: 1, seed: 8 } }),
    ),
  );
  assert.deepEqual(a.tokens, b.tokens);
  assert.notDeepEqual(a.tokens, c.tokens);
  await engine.dispose();
});

test('abort is honoured within one step and leaves a consistent cache', async () => {
  const engine = await Engine.load(modelPath('stories260K-f32.gguf'), { threads: 1, contextSize: 256 });
  const ac = new AbortController();
  const cache = engine.createCache();
  const evs: GenerateEvent[] = [];
  for await (const e of engine.generate(cache, {
    prompt: [1],
    maxTokens: 100,
    sampler: { temperature: 0 },
    signal: ac.signal,
  })) {
    evs.push(e);
    if (e.type === 'token' && evs.filter((x) => x.type === 'token').length === 5) ac.abort();
  }
  const d = done(evs);
  assert.equal(d.reason, 'abort');
  assert.equal(d.tokens.length, 5); // no step ran after the abort
  assert.deepEqual(d.tokens, GOLDEN.slice(0, 5));
  assert.equal(cache.length, 1 + 4);
  // The cache can be continued: the next token is the one greedy decoding would have produced.
  const more = done(
    await collect(engine.generate(cache, { prompt: [GOLDEN[4]!], maxTokens: 3, sampler: { temperature: 0 } })),
  );
  assert.deepEqual(more.tokens, GOLDEN.slice(5, 8));
  assert.equal(more.stats.reusedTokens, 5);
  // An abort before the first step ends at once.
  const pre = new AbortController();
  pre.abort();
  const d2 = done(
    await collect(engine.generate(engine.createCache(), { prompt: [1, 403, 407], maxTokens: 10, signal: pre.signal })),
  );
  assert.equal(d2.reason, 'abort');
  assert.equal(d2.tokens.length, 0);
  await engine.dispose();
});

test('end of generation, context limits and prompt errors', async () => {
  const engine = await Engine.load(modelPath('stories260K-f32.gguf'), { threads: 1, contextSize: 64 });
  // A prompt that fills the context is refused with the numbers.
  await assert.rejects(
    collect(engine.generate(engine.createCache(), { prompt: new Array(64).fill(403), maxTokens: 1 })),
    PromptTooLongError,
  );
  await assert.rejects(collect(engine.generate(engine.createCache(), { prompt: [], maxTokens: 1 })), RangeError);
  // Generation stops when the context is full.
  const d = done(
    await collect(engine.generate(engine.createCache(), { prompt: [1], maxTokens: 500, sampler: { temperature: 0 } })),
  );
  assert.ok(d.reason === 'context' || d.reason === 'eos', d.reason);
  if (d.reason === 'context') assert.equal(d.stats.contextTokens, 64);
  await engine.dispose();
});

test('StopMatcher holds back partial matches and cuts at the earliest stop', () => {
  const m = new StopMatcher(['</end>', 'STOP']);
  assert.deepEqual(m.push('hello </'), { emit: 'hello ', stopped: false });
  assert.deepEqual(m.push('en'), { emit: '', stopped: false });
  assert.deepEqual(m.push('x'), { emit: '</enx', stopped: false });
  assert.deepEqual(m.push(' ST'), { emit: ' ', stopped: false });
  assert.deepEqual(m.push('OP and more'), { emit: '', stopped: true });
  const n = new StopMatcher(['ab']);
  assert.deepEqual(n.push('xa'), { emit: 'x', stopped: false });
  assert.equal(n.flush(), 'a');
  assert.deepEqual(new StopMatcher([]).push('anything'), { emit: 'anything', stopped: false });
});
