// The session's checkpoint byte cap (src/context/session.ts) with SmolLM2 and a PoD cache whose
// recent window (16) cannot rewind: the checkpoints' bytes (stateBytes, the one count) stay under
// the cap — an explicit one and the default (2 × the cache's bytes at the whole context) — with the workspace-prefix
// end and the last block's start kept; the dropped ones are the least useful. An edit to a middle
// file then recomputes from the nearest kept checkpoint before it, and the cache it leaves gives the
// logits of a fresh cache fed the same ids (f32 KV, MatMulNBits accuracy level 0: other chunkings
// agree to ~4e-5 of the largest logit, session.test.ts; bound 1e-3).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine';
import { PromptBlock } from '../src/context/build';
import { PromptTokenizer, SessionPrompt } from '../src/context/prompt';
import { CHECKPOINT_CACHE_FACTOR, PromptSession } from '../src/context/session';
import { maxRelDiff, modelPath, SMOLLM2 } from './helpers';

let e: Engine;
after(() => e?.dispose());

const ASK = { maxTokens: 8, sampler: { temperature: 0 } };
const files = (edited = false): PromptBlock[] =>
  Array.from({ length: 7 }, (_, i) => ({
    path: `src/part${i}.ts`,
    role: 'file' as const,
    text: `// Part ${i} of the harbour tide model.\nexport function level${i}(t: number): number {\n  return ${i === 5 && edited ? 9 : i + 1} * Math.cos(t / ${i + 2}) + ${i * 0.25};\n}\n`,
  }));
const prompt = (blocks: PromptBlock[], q: string): SessionPrompt => ({
  system: 'You answer questions about the tide model.',
  blocks,
  messages: [{ role: 'user', content: q }],
});
const sum = (s: PromptSession): number => s.checkpointInfo.reduce((a, c) => a + c.bytes, 0);

test('checkpoints stay under their byte cap; an edit recomputes from the nearest kept one, with a fresh run’s logits', async () => {
  e = await Engine.load(modelPath(SMOLLM2), {
    threads: 2,
    contextSize: 2048,
    kv: { kind: 'pod', sinks: 4, recent: 16, dtype: 'f32' },
    accuracyLevel: 0,
  });
  const tokens = new PromptTokenizer(e.tokenizer);
  const q = 'Which part has the largest amplitude?';
  const p1 = tokens.render(prompt(files(), q));

  // Without a cap: a checkpoint at every block boundary (7 starts + the workspace end ≤ 8).
  const free = new PromptSession(e, tokens, () => undefined, { checkpointBytes: Infinity });
  await free.ask(prompt(files(), q), ASK);
  const all = free.checkpointInfo;
  assert.deepEqual(
    all.map((c) => c.at),
    [...p1.starts, p1.prefix],
  );

  // A cap of 60% of that: the workspace end and the last block's start stay, the rest is thinned.
  const cap = Math.floor(sum(free) * 0.6);
  const log: string[] = [];
  const s = new PromptSession(e, tokens, (l) => log.push(l), { checkpointBytes: cap });
  const r1 = await s.ask(prompt(files(), q), ASK);
  const kept = s.checkpointInfo;
  assert.ok(sum(s) <= cap, `${sum(s)} bytes > cap ${cap}`);
  assert.ok(kept.length < all.length && kept.length >= 2, `${kept.length} of ${all.length} kept`);
  assert.deepEqual(
    kept.slice(-2).map((c) => c.at),
    [p1.starts.at(-1), p1.prefix],
  );
  for (const c of kept) assert.equal(c.bytes, all.find((a) => a.at === c.at)?.bytes, 'the same state, the same bytes');
  assert.ok(
    log.some((l) => /^KV checkpoints at [\d, ]+ dropped: /.test(l)),
    log.join('\n'),
  );
  console.log(
    `checkpoints: ${all.map((c) => `${c.at}:${(c.bytes / 2 ** 20).toFixed(2)}`).join(' ')} MB uncapped (${(sum(free) / 2 ** 20).toFixed(2)} MB); ` +
      `cap ${(cap / 2 ** 20).toFixed(2)} MB keeps ${kept.map((c) => c.at).join(', ')} (${(sum(s) / 2 ** 20).toFixed(2)} MB)`,
  );

  // Edit the sixth of seven files (its own start was dropped): the session goes back to the nearest kept checkpoint before it.
  const q2 = 'And now?';
  const p2 = tokens.render(prompt(files(true), q2));
  let first = 0;
  while (p1.ids[first] === p2.ids[first]) first++;
  assert.ok(first > p1.starts[5]! && first < p1.starts[6]!, 'the change is inside the sixth block');
  const nearest = Math.max(0, ...kept.map((c) => c.at).filter((at) => at <= first));
  assert.ok(
    nearest > 0 && nearest < p1.starts[5]!,
    `the edited block's own start was dropped; an earlier checkpoint is kept (${nearest})`,
  );
  const r2 = await s.ask(prompt(files(true), q2), ASK);
  assert.equal(r2.how, nearest > 0 ? `checkpoint at ${nearest}` : 'rebuilt');
  assert.equal(r2.reused, nearest);
  assert.equal(r2.computed, p2.ids.length - nearest);
  assert.ok(sum(s) <= cap, `after the edit: ${sum(s)} bytes > cap ${cap}`);
  assert.ok(r1.text.length > 0);

  // Oracle: a fresh cache fed the session's ids; one more token gives the same logits in both.
  const ids = s.ids.slice();
  const fresh = e.createCache();
  for (let i = 0; i < ids.length; i += 128) await e.decoder.step(ids.slice(i, i + 128), fresh, [0]);
  const probe = ids.at(-1)!;
  const a = await e.decoder.step([probe], s.cache, [0]);
  const b = await e.decoder.step([probe], fresh, [0]);
  const d = maxRelDiff([a], [b]);
  console.log(`logits after the edit vs a fresh run: max relative difference ${d.toExponential(2)}`);
  assert.ok(d < 1e-3, `${d}`);

  // The default cap: CHECKPOINT_CACHE_FACTOR × the cache's bytes at the whole context (memory.ts kvBytesAt).
  const def = new PromptSession(e, tokens);
  await def.ask(prompt(files(), q), ASK);
  assert.equal(def.checkpointCap, CHECKPOINT_CACHE_FACTOR * e.memory.kvBytes);
  assert.ok(sum(def) <= def.checkpointCap, `${sum(def)} > ${def.checkpointCap}`);
  assert.ok(
    def.checkpointInfo.some((c) => c.at === p1.prefix),
    'the workspace end is kept',
  );
});
