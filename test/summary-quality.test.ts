// Summary quality on the default model (Qwen2.5-Coder-0.5B), judged by an oracle rather than by
// length (issue 12): known documents with listed key terms (test/summary-cases.ts) are summarized
// greedily, as the CLI does; each summary must (a) mention at least a stated share of the key
// terms, (b) echo no framing (chunk headers, line ranges, code fences, "Part N" labels, headings,
// the instruction), (c) repeat no sentence, (d) be prose, and not be copied from the document.
// The map-reduce case (a design document at a 1024-token context: two map parts, then the reduce
// step, which is where the old prompts echoed "### file (lines a–b)" and a code fence) must also
// keep terms from both halves. Tolerances are in summary-cases.ts, measured with
// scripts/summary-quality.ts; the previous prompts failed both cases (4 of 9 terms;
// "### Part 1 of 2" and 91% of the summary copied). Runtime: ~2,500 prompt tokens and ≤ 420
// generated, 4–4.5 minutes on a loaded 2-core machine.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Engine } from '../src/engine/engine';
import { summarizeTexts, SummaryResult } from '../src/context/summarize';
import { DEFAULT_MODEL } from '../src/shared/default-model';
import { modelPath } from './helpers';
import { rateLimiterCase, SummaryCase, ternCase } from './summary-cases';
import { describeVerdict, judge, KeyTerm, promptWords, SummaryVerdict } from './summary-oracle';

/**
 * At most this share of a summary's words may sit in 12-word runs copied from the document.
 * Measured: 0–18% (with the old prompts: 89–91% on prose documents).
 */
const MAX_COPIED = 0.4;

async function summarize(engine: Engine, c: SummaryCase): Promise<{ r: SummaryResult; v: SummaryVerdict; need: number }> {
  const r = await summarizeTexts(engine, c.docs, { maxTokens: c.maxTokens });
  const v = judge(r.summary, c.terms, { source: c.docs.map((d) => d.text).join('\n'), instructions: promptWords(c.docs[0]!.path) });
  const need = Math.ceil(c.minTermShare * c.terms.length);
  console.log(`${c.name}: ${r.parts} part(s), ${r.rounds} round(s)\n${r.summary}\n→ ${describeVerdict(v, need)}; clean-up ${JSON.stringify(r.cleanup)}`);
  return { r, v, need };
}

function assertGood(c: SummaryCase, { r, v, need }: { r: SummaryResult; v: SummaryVerdict; need: number }): void {
  const why = `${describeVerdict(v, need)}\n${r.summary}`;
  assert.ok(v.terms.length >= need, `(a) key terms: ${why}`);
  assert.deepEqual(v.echoes, [], `(b) echoed framing: ${why}`);
  assert.deepEqual(v.repeated, [], `(c) repeated sentences: ${why}`);
  assert.equal(v.notProse, '', `(d) prose: ${why}`);
  assert.ok(v.copied <= MAX_COPIED, `copied ${(v.copied * 100).toFixed(0)}% > ${MAX_COPIED * 100}%: ${why}`);
  assert.equal(r.complete, true, c.name);
}

const model = (): string => modelPath(path.basename(DEFAULT_MODEL.relPath));

test('one part: a TypeScript module is explained in prose with its key terms', async () => {
  const c = rateLimiterCase();
  const engine = await Engine.load(model(), { contextSize: c.ctx });
  try {
    const s = await summarize(engine, c);
    assert.equal(s.r.parts, 1);
    assertGood(c, s);
  } finally {
    await engine.dispose();
  }
});

test('map-reduce: a document longer than the context is summarized in parts, and the combined summary keeps both halves', async () => {
  const c = ternCase();
  const engine = await Engine.load(model(), { contextSize: c.ctx });
  try {
    const s = await summarize(engine, c);
    assert.ok(s.r.parts >= 2 && s.r.rounds >= 2, `${s.r.parts} parts, ${s.r.rounds} rounds: the reduce step did not run`);
    assertGood(c, s);
    // Sections 1–2 are in the first part, sections 4–6 in the second: the reduce kept both.
    const has = (t: KeyTerm): boolean => s.v.terms.includes(t.name);
    const first = c.terms.filter((t) => ['at-least-once', 'idempotency', 'append-only log', 'segments'].includes(t.name));
    const second = c.terms.filter((t) => ['Raft', 'leader election', 'fairness between tenants', 'Prometheus'].includes(t.name));
    assert.ok(first.some(has) && second.some(has), `terms of both halves: ${describeVerdict(s.v, s.need)}`);
  } finally {
    await engine.dispose();
  }
});
