// Evaluation tools (issue 3 §5): perplexity on stories260K with the full cache equals exp(mean NLL)
// from the reference forward pass's logits; the eval command's KV bytes equal the cache snapshot
// and memory.ts's kvBytesAt; the needle haystack builder puts the fact where asked and is
// deterministic; one SmolLM2 needle trial (a few seconds) retrieves with the full cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GGUFFile } from '../src/engine/gguf/file';
import { Tokenizer } from '../src/engine/tokenizer';
import { Engine } from '../src/engine/engine';
import { ReferenceModel } from '../src/engine/reference/forward';
import { perplexity, perplexityFromLogits } from '../src/engine/eval/perplexity';
import { buildHaystack, isCorrect, needleSentence, needleTrial, passphrase } from '../src/engine/eval/needle';
import { kvBytesAt } from '../src/engine/memory';
import { POD_COMMANDS, DEFAULT_HAYSTACK } from '../src/cli/pod-commands';
import { modelPath, ROOT, SMOLLM2 } from './helpers';

const STORIES = 'stories260K-f32.gguf';
const STORY = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She ran to get it and played with her friends. ';

test('perplexity (full cache, chunked, all rows) equals exp(mean NLL) from the reference model', async () => {
  const e = await Engine.load(modelPath(STORIES), { threads: 1, contextSize: 128, kv: { kind: 'full', dtype: 'f32' } });
  const ids = e.tokenizer.encode(STORY.repeat(2)).slice(0, 100);
  const r = await perplexity(e.decoder, e.createCache(), ids, { minContext: 16, chunk: 7 });
  await e.dispose();
  const f = GGUFFile.open(modelPath(STORIES));
  const ref = ReferenceModel.load(f);
  f.close();
  const want = perplexityFromLogits(ref.forwardAll(ids), ids, 16);
  assert.equal(r.scored, ids.length - 16);
  assert.equal(r.scored, want.scored);
  assert.equal(r.scoredFrom, 16);
  // ONNX logits match the reference to 1e-4 × max|logit| (onnx-oracle tests; fp32 summation order),
  // |logit| ≤ ~20 here, so a token's NLL moves by ≤ 4e-3: bound the mean NLL by 4e-3.
  assert.ok(Math.abs(r.meanNll - want.meanNll) < 4e-3, `${r.meanNll} vs ${want.meanNll}`);
  assert.ok(Math.abs(r.perplexity / want.perplexity - 1) < 4e-3);
  assert.ok(r.perplexity > 1 && r.perplexity < 20, `stories260K should predict its own story well (${r.perplexity})`);
});

async function evalCli(args: Record<string, string | number | boolean>): Promise<Record<string, unknown>> {
  let out = '';
  await POD_COMMANDS.eval!.run({ ...args, json: true }, { out: (s) => { out += s; }, err: () => {}, signal: new AbortController().signal });
  return JSON.parse(out) as Record<string, unknown>;
}

test("eval's KV bytes equal the cache snapshot and kvBytesAt (full, PoD, PoD int8, streaming)", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-eval-'));
  const text = path.join(dir, 'story.txt');
  fs.writeFileSync(text, STORY.repeat(3));
  const model = modelPath(STORIES);
  const cases: [Record<string, string | number | boolean>, { kind: 'full' | 'pod' | 'streaming'; sinks?: number; recent?: number; groupSize?: number; distantQuant?: 'int8' | 'int4' }][] = [
    [{ kv: 'full' }, { kind: 'full' }],
    [{ kv: 'pod', sinks: 2, recent: 8, 'group-size': 2 }, { kind: 'pod', sinks: 2, recent: 8, groupSize: 2 }],
    [{ kv: 'pod', sinks: 2, recent: 8, 'group-size': 5, 'kv-int8': true }, { kind: 'pod', sinks: 2, recent: 8, groupSize: 5, distantQuant: 'int8' }],
    [{ kv: 'pod', sinks: 2, recent: 8, 'group-size': 5, 'kv-quant': 'int4' }, { kind: 'pod', sinks: 2, recent: 8, groupSize: 5, distantQuant: 'int4' }],
    [{ kv: 'streaming', sinks: 2, recent: 8 }, { kind: 'streaming', sinks: 2, recent: 8 }],
  ];
  for (const [flags, spec] of cases) {
    const j = await evalCli({ model, text, ctx: 64, 'min-context': 8, threads: 1, ...flags });
    const kv = j.kv as { usedBytes: number; allocatedBytes: number; fullCacheBytes: number; formulaBytes: number; savedFraction: number };
    // the same run by hand: the snapshot of the cache after the same tokens
    const e = await Engine.load(model, { threads: 1, contextSize: 64, kv: spec });
    const cache = e.createCache();
    const ids = e.tokenizer.encode(STORY.repeat(3)).slice(0, 64);
    const r = await perplexity(e.decoder, cache, ids, { minContext: 8 });
    const snap = cache.snapshot();
    assert.equal(j.tokens, 64);
    assert.equal(kv.usedBytes, snap.usedBytes);
    assert.equal(kv.allocatedBytes, snap.allocatedBytes);
    assert.equal(kv.allocatedBytes, cache.byteSize());
    assert.equal(kv.fullCacheBytes, snap.fullCacheBytes);
    assert.equal(kv.usedBytes, kvBytesAt(e.config, e.decoder.plan, 64));
    assert.equal(kv.formulaBytes, kv.usedBytes);
    assert.equal(kv.fullCacheBytes, kvBytesAt(e.config, { kind: 'full', dtype: e.decoder.plan.dtype }, 64));
    assert.equal(kv.savedFraction, snap.pod?.savedFraction ?? 0);
    assert.equal(j.perplexity, r.perplexity, 'the same text, cache and chunking give the same perplexity bit for bit');
    if (spec.kind === 'pod') assert.ok(kv.savedFraction > 0);
    await e.dispose();
  }
  fs.rmSync(dir, { recursive: true });
});

test('needle haystack: the fact lands at the requested depth, once, on a boundary; deterministic', () => {
  const f = GGUFFile.open(modelPath(SMOLLM2));
  const tok = Tokenizer.fromGGUF(f);
  f.close();
  const source = fs.readFileSync(path.join(ROOT, DEFAULT_HAYSTACK), 'utf8');
  const needle = needleSentence(passphrase(7));
  for (const budget of [2000, 8000]) {
    for (const depth of [0, 0.1, 0.3, 0.5, 0.7, 1]) {
      const h = buildHaystack(tok, source, budget, depth, needle);
      // boundaries (line or sentence starts) in this legal text are ≤ ~60 tokens apart: 0.03 of 2000 tokens
      assert.ok(Math.abs(h.depth - depth) <= 0.03, `budget ${budget} depth ${depth}: landed at ${h.depth}`);
      assert.equal(h.text.split(needle).length, 2, 'exactly one needle');
      const at = h.text.indexOf(needle);
      assert.ok(at === 0 || /(\n|\. )$/.test(h.text.slice(0, at)), 'the needle starts a line or a sentence');
      assert.ok(h.tokens <= budget + 2 && h.tokens >= budget * 0.85, `budget ${budget}: ${h.tokens} tokens`);
      assert.deepEqual(buildHaystack(tok, source, budget, depth, needle), h);
    }
  }
  assert.equal(passphrase(7), passphrase(7));
  assert.notEqual(passphrase(7), passphrase(8));
  assert.ok(isCorrect('The secret passphrase is "Amber Falcon".', 'amber falcon'));
  assert.ok(isCorrect('```\namber   falcon', 'amber falcon'));
  assert.ok(!isCorrect('amber', 'amber falcon'));
  assert.ok(!isCorrect('amber falcons', 'amber falcon'));
});

test('SmolLM2 retrieves a needle from the distant part of a 512-token context with the full cache', async () => {
  const e = await Engine.load(modelPath(SMOLLM2), { threads: 2, contextSize: 512 });
  try {
    const source = fs.readFileSync(path.join(ROOT, DEFAULT_HAYSTACK), 'utf8');
    const r = await needleTrial(e, source, 0.3, 0);
    console.log(`needle at ${r.actualDepth.toFixed(3)}, ${r.distanceTokens} tokens before the end: ${JSON.stringify(r.answer)}`);
    assert.ok(r.promptTokens <= 512 - 17 && r.promptTokens >= 0.9 * (512 - 17), `prompt of ${r.promptTokens} tokens`); // fills the room less the answer
    assert.ok(r.distanceTokens > 256, 'the needle is older than the default 256-token window');
    assert.ok(r.correct, `answer ${JSON.stringify(r.answer)} lacks ${r.passphrase}`); // greedy: deterministic
  } finally {
    await e.dispose();
  }
});
