// The markdown document of Summarize Folder / Workspace (src/host/summarize/summary-markdown.ts),
// without a model: the overview, then every file with its lines and its own summary; stopped
// before the overview, it says so instead of showing "(empty)".
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { summaryMarkdown } from '../src/host/summarize/summary-markdown';
import { SummaryDone } from '../src/host/engine-client';

const done = (o: Partial<SummaryDone>): SummaryDone => ({
  type: 'summary',
  id: 1,
  summary: 'The folder src/shop runs a web shop.',
  note: 'Covered all 2 files (300 tokens) in 2 parts.',
  parts: 2,
  partsDone: 2,
  rounds: 2,
  complete: true,
  inputTokens: 300,
  covered: [
    { path: 'a.ts', startLine: 1, endLine: 10, totalLines: 10, summary: 'Alpha totals an order.\nIt applies coupons.' },
    { path: 'b.ts', startLine: 1, endLine: 5, totalLines: 5, summary: 'Beta sends mail.' },
  ],
  ...o,
});

test('a folder summary: the overview, then each file with its lines and its own summary on one line', () => {
  const md = summaryMarkdown('src/shop', done({}), { files: 2, excluded: [], unlisted: 0 });
  assert.match(md, /^# Summary of src\/shop\n\nThe folder src\/shop runs a web shop\.\n/);
  assert.match(
    md,
    /## Files summarized \(2 of 2 read\)\n\n- `a\.ts` lines 1–10 — Alpha totals an order\. It applies coupons\.\n- `b\.ts` lines 1–5 — Beta sends mail\.\n$/,
  );
});

test('stopped before the overview: the file summaries written so far, and no "(empty)"', () => {
  const md = summaryMarkdown(
    'src/shop',
    done({
      summary: '',
      partsDone: 1,
      complete: false,
      note: 'Stopped after 1 of 2 parts: 1 of 2 files fully covered.',
      covered: [{ path: 'a.ts', startLine: 1, endLine: 10, totalLines: 10, summary: 'Alpha totals an order.' }],
    }),
    { files: 2, excluded: [], unlisted: 0 },
  );
  assert.match(md, /> \*\*Stopped before the end\*\*/);
  assert.match(md, /\*\(No overview: it is written once every file is summarized\.\)\*/);
  assert.doesNotMatch(md, /\(empty\)/);
  assert.match(md, /- `a\.ts` lines 1–10 — Alpha totals an order\.\n$/);
});
