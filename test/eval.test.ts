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
import { KVPlan } from '../src/engine/kv/plan';
import { POD_COMMANDS, DEFAULT_HAYSTACK } from '../src/cli/pod-commands';
import { modelPath, ROOT, SMOLLM2 } from './helpers';

const STORIES = 'stories260K-f32.gguf';
const STORY =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She ran to get it and played with her friends. ';

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
  await POD_COMMANDS.eval!.run(
    { ...args, json: true },
    {
      out: (s) => {
        out += s;
      },
      err: () => {},
      signal: new AbortController().signal,
    },
  );
  return JSON.parse(out) as Record<string, unknown>;
}

// stories260K: 5 layers × 4 KV heads × head size 8, K/V stored as f16 (2 bytes); 64 tokens; window
// S + R = 2 + 8 = 10, so 54 distant tokens. One (layer, KV head) row of K or V: 8 × 2 = 16 bytes.
// PoD blocks of 2 layers → anchors 0, 2, 4 keep distant K and V, layers 1, 3 distant V only;
// blocks of 5 → anchor 0 only. int8 rows: 8 + 4 bytes (scale); int4 rows: 8/2 + 4.
const ROW = 16,
  WINDOW = 2 * 5 * 10 * 4 * ROW; // every layer's sinks + recent, K and V
const EXPECTED_BYTES = {
  full: 2 * 5 * 64 * 4 * ROW,
  streaming: WINDOW,
  podG2: WINDOW + 54 * 4 * ROW * (3 * 2 + 2 * 1),
  podG5int8: WINDOW + 54 * 4 * (8 + 4) * (1 * 2 + 4 * 1),
  podG5int4: WINDOW + 54 * 4 * (4 + 4) * (1 * 2 + 4 * 1),
};

test("eval's KV bytes are the hand-computed ones and its perplexity the reference model's (full, PoD, PoD int8/int4, streaming)", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-eval-'));
  const text = path.join(dir, 'story.txt');
  fs.writeFileSync(text, STORY.repeat(3));
  const model = modelPath(STORIES);
  const f = GGUFFile.open(model);
  const ref = ReferenceModel.load(f);
  const ids = Tokenizer.fromGGUF(f).encode(STORY.repeat(3)).slice(0, 64);
  f.close();
  const pod = {
    sinks: 2,
    recent: 8,
    anchors: [
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [2, 2, 2, 2],
      [2, 2, 2, 2],
      [4, 4, 4, 4],
    ],
    mode: 'scores' as const,
  };
  const pod5 = { ...pod, anchors: Array.from({ length: 5 }, () => [0, 0, 0, 0]) };
  // [flags, expected bytes, the plan the f64 reference runs, perplexity tolerance (relative)]
  const cases: [Record<string, string | number | boolean>, number, KVPlan, number][] = [
    [{ kv: 'full' }, EXPECTED_BYTES.full, { kind: 'full' }, 1e-2],
    [{ kv: 'pod', sinks: 2, recent: 8, 'group-size': 2 }, EXPECTED_BYTES.podG2, { kind: 'pod', ...pod }, 1e-2],
    [
      { kv: 'pod', sinks: 2, recent: 8, 'group-size': 5, 'kv-int8': true },
      EXPECTED_BYTES.podG5int8,
      { kind: 'pod', ...pod5 },
      3e-2,
    ],
    [
      { kv: 'pod', sinks: 2, recent: 8, 'group-size': 5, 'kv-quant': 'int4' },
      EXPECTED_BYTES.podG5int4,
      { kind: 'pod', ...pod5 },
      1e-1,
    ],
    [
      { kv: 'streaming', sinks: 2, recent: 8 },
      EXPECTED_BYTES.streaming,
      { kind: 'streaming', sinks: 2, recent: 8 },
      1e-2,
    ],
  ];
  for (const [flags, bytes, plan, tol] of cases) {
    const j = await evalCli({ model, text, ctx: 64, 'min-context': 8, threads: 1, ...flags });
    const kv = j.kv as { usedBytes: number; fullCacheBytes: number; savedFraction: number };
    const what = JSON.stringify(flags);
    assert.equal(j.tokens, 64);
    assert.equal(kv.usedBytes, bytes, what);
    assert.equal(kv.fullCacheBytes, EXPECTED_BYTES.full, what);
    assert.ok(Math.abs(kv.savedFraction - (1 - bytes / EXPECTED_BYTES.full)) < 1e-12, what);
    // The f64 reference forward pass of the same plan (no storage rounding; quantized stores are
    // compared with the unquantized plan, hence their looser bounds).
    ref.kvPlan = plan;
    const want = perplexityFromLogits(ref.forwardAll(ids), ids, 8).perplexity;
    const got = j.perplexity as number;
    assert.ok(Math.abs(got / want - 1) < tol, `${what}: perplexity ${got} vs the reference's ${want}`);
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
    console.log(
      `needle at ${r.actualDepth.toFixed(3)}, ${r.distanceTokens} tokens before the end: ${JSON.stringify(r.answer)}`,
    );
    assert.ok(r.promptTokens <= 512 - 17 && r.promptTokens >= 0.9 * (512 - 17), `prompt of ${r.promptTokens} tokens`); // fills the room less the answer
    assert.ok(r.distanceTokens > 256, 'the needle is older than the default 256-token window');
    assert.ok(r.correct, `answer ${JSON.stringify(r.answer)} lacks ${r.passphrase}`); // greedy: deterministic
  } finally {
    await e.dispose();
  }
});
