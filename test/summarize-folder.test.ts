// The folder path of the summarizer (src/context/summarize.ts) on a small real model (SmolLM2, for
// speed; test/summary-quality.test.ts judges the words on Qwen): every non-empty file gets its own
// summary in its coverage, an empty file is skipped, one file's summary is the overview as it is,
// and a stop keeps the summaries written so far — a file stopped in its second part keeps what was
// summarized of it, marked partly covered, and there is no overview.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine';
import { summarizeTexts } from '../src/context/summarize';
import { modelPath, SMOLLM2 } from './helpers';

let engine: Engine;
before(async () => {
  engine = await Engine.load(modelPath(SMOLLM2), { contextSize: 1024 });
});
after(async () => engine.dispose());

const code = `// Adds two numbers.\nexport function add(a: number, b: number): number {\n  return a + b;\n}\n`;
const notes = Array.from(
  { length: 120 },
  (_, i) => `Step ${i + 1}: the harbour master checks the tide gauge and writes the level in the log book.`,
).join('\n');

test('each non-empty file gets its own summary; an empty file is skipped; then an overview', async () => {
  const progress: string[] = [];
  const r = await summarizeTexts(
    engine,
    [
      { path: 'add.ts', text: code },
      { path: 'empty.ts', text: '' },
      { path: 'mul.ts', text: code.replace(/Adds/g, 'Multiplies').replace(/add/g, 'mul').replace('+', '*') },
    ],
    { maxTokens: 96, onProgress: (m) => progress.push(m) },
  );
  assert.deepEqual(
    r.covered.map((c) => [c.path, c.startLine, c.endLine, c.totalLines]),
    [
      ['add.ts', 1, 4, 4],
      ['mul.ts', 1, 4, 4],
    ],
  );
  for (const c of r.covered)
    assert.ok(c.summary && !c.summary.includes('\n'), `${c.path}: ${JSON.stringify(c.summary)}`);
  assert.equal(r.complete, true);
  assert.equal(r.rounds, 2, 'the map step, then one overview step');
  assert.match(r.note, /^Covered all 3 files \(\d+ tokens\) in 2 parts\.$/);
  assert.ok(
    progress.some((m) => /^summarizing part 2 of 2 \(mul\.ts, \d+ tokens\)/.test(m)),
    progress.join(' | '),
  );
  assert.ok(progress.includes('writing the overview from 2 file summaries…'), progress.join(' | '));
});

test("a folder with one non-empty file: that file's summary is the overview", async () => {
  const r = await summarizeTexts(
    engine,
    [
      { path: 'add.ts', text: code },
      { path: 'empty.ts', text: '' },
    ],
    { maxTokens: 96 },
  );
  assert.equal(r.covered.length, 1);
  assert.equal(r.summary, r.covered[0]!.summary);
  assert.equal(r.rounds, 1);
});

test('stopped in the second part of a file: what was summarized of it is kept, partly covered, no overview', async () => {
  const stop = new AbortController();
  const r = await summarizeTexts(
    engine,
    [
      { path: 'add.ts', text: code },
      { path: 'notes.md', text: notes },
    ],
    {
      maxTokens: 96,
      signal: stop.signal,
      onProgress: (m) => {
        if (/^summarizing part 3 of/.test(m)) stop.abort();
      },
    },
  );
  assert.ok(r.parts >= 3, `${r.parts} parts: notes.md should need two or more at this context`);
  assert.equal(r.partsDone, 2);
  assert.equal(r.complete, false);
  assert.equal(r.summary, '', 'no overview');
  const [a, n] = r.covered;
  assert.ok(a?.summary, 'add.ts keeps its summary');
  assert.ok(
    n && n.endLine < n.totalLines && n.summary,
    `notes.md partly covered, with a summary: ${JSON.stringify(n)}`,
  );
  assert.match(r.note, /^Stopped after 2 of \d+ parts: 1 of 2 files fully covered, notes\.md partly\.$/);
});
