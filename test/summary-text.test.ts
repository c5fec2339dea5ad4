// The summarizer's plan, prompts and last-resort clean-up, without a model: how texts become
// map parts, what the map and reduce steps show the model (the file name, the text in an
// unbreakable fence, the instruction after a long text and before short summaries; no line
// ranges, "part N" labels or chunk headers), how sentences are split and repeats found, and what
// cleanSummary removes (echoed headers, fences with their code, labels, line ranges, repeated
// sentences, the instruction's words, an unfinished last sentence) and keeps. The oracle's own
// checks are exercised here too, on hand-written good and bad summaries.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  fenceLanguage,
  fileEntry,
  frameText,
  mapInstruction,
  mapPrompt,
  overviewInstruction,
  overviewPrompt,
  reducePrompt,
  titleOf,
} from '../src/context/summary-prompts';
import { planParts } from '../src/context/summary-parts';
import { cleanSummary, repeatedSentences, sentences } from '../src/context/summary-text';
import { judge } from './summary-oracle';

test('planParts cuts a long file into chunks of about equal size, one map step each; a small file is one part', () => {
  const count = (t: string): number => t.length; // one token per character
  const lines = Array.from({ length: 29 }, (_, i) => `line ${String(i + 2).padStart(3, '0')} ......\n`); // 16 characters each
  const long = `# Title\n${lines.join('')}`;
  const { parts, inputTokens } = planParts({ path: 'a.md', text: long }, 200, count);
  assert.equal(inputTokens, long.length);
  // 30 lines (472 characters) in chunks of at most 125 (the budget less the framing, less 5%):
  // greedy filling would give 8, 7, 7, 7 and 1 lines; the plan gives five chunks of 6.
  assert.deepEqual(
    parts.map((p) => p.text.text.split('\n').length - 1),
    [6, 6, 6, 6, 6],
  );
  assert.deepEqual(
    parts.map((p) => [p.startLine, p.endLine]),
    [
      [1, 6],
      [7, 12],
      [13, 18],
      [19, 24],
      [25, 30],
    ],
  );
  assert.equal(parts[0]!.text.title, undefined, 'the first chunk shows its own title');
  assert.equal(parts[1]!.text.title, '# Title', 'later chunks say which file they are part of');
  assert.ok(parts.every((p) => p.text.excerpt && p.tokens <= 200));
  const small = planParts({ path: 'b.ts', text: 'x\n' }, 200, count).parts;
  assert.deepEqual(
    small.map((p) => [p.text.path, p.text.excerpt, p.startLine, p.endLine]),
    [['b.ts', false, 1, 1]],
  );
  assert.deepEqual(planParts({ path: 'c.ts', text: '' }, 200, count).parts, []);
});

const ECHO = /\(lines? \d|part \d+ of \d+|^#{1,6} /im;

test('the map prompt frames a file by its name, in a fence its text cannot close, with the instruction after it', () => {
  const text = 'const a = 1;\n```\nnot the end\n```\n';
  const p = mapPrompt({ path: 'src/a.ts', text, excerpt: false });
  assert.ok(p.startsWith('The file src/a.ts:\n````typescript\nconst a = 1;\n```\nnot the end\n```\n````\n'), p);
  assert.ok(p.endsWith(mapInstruction({ path: 'src/a.ts', text, excerpt: false })));
  assert.match(mapInstruction({ path: 'src/a.ts', text: '', excerpt: false }), /what this code does/);
  assert.match(mapInstruction({ path: 'notes.md', text: '', excerpt: false }), /what this document says/);
  assert.match(
    mapInstruction({ path: 'notes.md', text: '', excerpt: true }),
    /2 or 3 sentences what this excerpt says/,
  );
  // A folder's file: one or two sentences, and code names its main class or function.
  assert.match(
    mapInstruction({ path: 'src/a.ts', text: '', excerpt: false }, true),
    /in one or two sentences what this code does and how it works, naming its main class or function\./,
  );
  assert.match(
    mapInstruction({ path: 'notes.md', text: '', excerpt: false }, true),
    /one or two sentences what this document says\./,
  );
  assert.doesNotMatch(p, ECHO);
  assert.match(
    mapPrompt({ path: 'b.md', text: 'B', excerpt: true, title: '# The B file' }),
    /^An excerpt of b\.md \(a file that begins "# The B file"\):\n```markdown\nB\n```\n/,
  );
  assert.equal(fenceLanguage('x/Y.PY'), 'python');
  assert.equal(fenceLanguage('LICENSE'), '');
  assert.equal(frameText({ path: 'LICENSE', text: 'MIT', excerpt: false }), 'The file LICENSE:\n```\nMIT\n```\n');
  assert.equal(titleOf('\n\n  # Title here  \nbody'), '# Title here');
  assert.equal(titleOf(`${'word '.repeat(40)}`), `${'word '.repeat(19)}word…`);
  assert.equal(titleOf(' \n\t\n'), undefined);
});

test('the reduce prompt gives the instruction first, then the summaries as plain paragraphs', () => {
  const p = reducePrompt(['Alpha does one thing.', 'Beta does another.'], 'docs/x.md');
  assert.ok(
    p.startsWith('Combine the summaries below, of consecutive sections of docs/x.md, into one summary of docs/x.md'),
    p,
  );
  assert.ok(p.endsWith('\n\nAlpha does one thing.\n\nBeta does another.'), p);
  assert.doesNotMatch(p, /part \d|summary \d|^\s*[-*] /im);
});

test('the overview prompt lists each file by its path and first sentence, then asks about the folder and says how to begin', () => {
  const e = [
    fileEntry('a.ts', 'Alpha parses the input. It has two modes.'),
    fileEntry('b.ts', 'Beta writes the output.'),
  ];
  assert.deepEqual(e, ['a.ts: Alpha parses the input.', 'b.ts: Beta writes the output.']);
  const p = overviewPrompt(e, 'the folder src/x');
  assert.ok(
    p.startsWith(
      'a.ts: Alpha parses the input.\nb.ts: Beta writes the output.\n\nThese are the files of the folder src/x.',
    ),
    p,
  );
  assert.ok(p.endsWith(`Start with "The folder src/x". ${overviewInstruction('x').split('work. ')[1]}`), p);
});

test('cleanSummary with noLists drops list items, what is indented under them and the sentence that introduces them', () => {
  const raw =
    'The module parses flags. It has three parts:\n\n1. **parse**: reads argv.\n   - nested detail\n2. **check**: validates.\n\n' +
    '**Purpose**: It turns arguments into options.\nFiles:\n- a.ts: one\n- b.ts: two';
  const c = cleanSummary(raw, { noLists: true });
  assert.equal(c.text, 'The module parses flags.\n\nIt turns arguments into options.');
  assert.equal(c.lists, 6); // five list lines (one nested) and one bold label
  assert.equal(cleanSummary(raw).text.includes('1. **parse**'), true, 'lists stay without noLists');
  // Nothing but an unfinished sentence once the list is gone: kept (the summarizer asks again with more room).
  const only = cleanSummary('It has three parameters:\n- `c`: a plan\n\nThe function uses', {
    noLists: true,
    cutOff: true,
  });
  assert.deepEqual([only.text, only.truncated], ['The function uses', false]);
  // A list cut off by the token limit right after its lead-in.
  assert.equal(cleanSummary('It does X. It has these methods:\n\n- `a`', { noLists: true }).text, 'It does X.');
});

test('cleanSummary removes echoed framing: headings, fences with their code, part labels, line ranges', () => {
  const raw = [
    '### Part 1 of 2 of the input',
    '',
    '#### src/a.ts (lines 1–40)',
    '',
    'Part 2: The module parses GGUF headers (lines 10–20) and checks their versions.',
    '```ts',
    'const x = readHeader(file);',
    '```',
    '**Part 3 of 4:** It reports errors with the file name.',
  ].join('\n');
  const c = cleanSummary(raw);
  assert.equal(
    c.text,
    'The module parses GGUF headers and checks their versions.\nIt reports errors with the file name.',
  );
  assert.equal(c.echoes, 6); // two headings, a label, a line range, a fenced block, a label
  assert.equal(c.repeats, 0);
  // An unclosed fence drops everything after it: it is code the model copied.
  assert.equal(cleanSummary('It reads files.\n```\ncopied();\nmore();').text, 'It reads files.');
});

test('cleanSummary keeps the first of repeated sentences and drops the instruction and an unfinished last sentence', () => {
  const loop =
    'The license grants rights to use the software. The license grants rights to use the software. ' +
    'It disclaims warranty.\nThe license grants rights to use the software.';
  const c = cleanSummary(loop);
  assert.equal(c.text, 'The license grants rights to use the software. It disclaims warranty.');
  assert.equal(c.repeats, 2);
  assert.deepEqual(repeatedSentences(loop), ['the license grants rights to use the software']);
  assert.deepEqual(repeatedSentences('It works. It works.'), [], 'sentences under four words do not count');
  assert.deepEqual(
    repeatedSentences('It uses Raft, e.g. for leader election. It uses Raft, e.g. for replication.'),
    [],
    'abbreviations do not end a sentence',
  );
  assert.deepEqual(
    repeatedSentences('The cache is a ring.\n- The cache is a ring!'),
    ['the cache is a ring'],
    'case, punctuation and list markers do not hide a repeat',
  );
  assert.deepEqual(sentences('One two. Three, e.g. four?\n\n- Five six.'), [
    'One two.',
    'Three, e.g. four?',
    '- Five six.',
  ]);
  const told = cleanSummary('Tern is a job queue. Combine them into one summary of docs/x.md in 3 to 5 sentences.', {
    instruction: reducePrompt([], 'docs/x.md'),
  });
  assert.equal(told.text, 'Tern is a job queue.');
  const cut = cleanSummary('Tern is a job queue. It stores jobs in segm', { cutOff: true });
  assert.deepEqual(cut, { text: 'Tern is a job queue.', echoes: 0, repeats: 0, truncated: true, lists: 0 });
  assert.equal(
    cleanSummary('Tern is a job queue', { cutOff: true }).text,
    'Tern is a job queue',
    'a lone sentence is kept (the summarizer asks again with more room when maxTokens allows)',
  );
  const clean = 'The limiter keeps one token bucket per API key. Empty buckets answer 429 with Retry-After.';
  assert.deepEqual(cleanSummary(clean), { text: clean, echoes: 0, repeats: 0, truncated: false, lists: 0 });
});

test('the oracle flags echoes, repeats, lists, copying and the instruction, and passes clean prose', () => {
  const terms = [
    { name: 'token bucket', forms: ['token[- ]bucket'] },
    { name: '429', forms: ['429'] },
    { name: 'Raft', forms: ['raft'] },
  ];
  const good = judge(
    'The limiter keeps one token bucket per API key. Requests that find it empty get a 429 answer.',
    terms,
  );
  assert.deepEqual(good, {
    terms: ['token bucket', '429'],
    missing: ['Raft'],
    echoes: [],
    repeated: [],
    sentences: 2,
    notProse: '',
    copied: 0,
  });
  const bad = judge(
    '### Part 1 of 2\n\n```ts\ncode\n```\n- It is a limiter for the API keys.\n- It is a limiter for the API keys.',
    terms,
  );
  assert.deepEqual(
    bad.echoes.map((e) => e.split(':')[0]),
    ['code fence', 'part label', 'markdown heading'],
  );
  assert.deepEqual(bad.repeated, ['it is a limiter for the api keys']);
  assert.match(bad.notProse, /list|sentence/);
  const source =
    'Every night at 02:00 UTC a Kubernetes CronJob runs pg_dump in the custom format against the read replica.';
  assert.equal(judge(source, [], { source }).copied, 1);
  assert.match(
    judge('It is fine. Combine them into one summary of x in 3 to 5 sentences.', [], {
      instructions: reducePrompt([], 'x'),
    }).echoes.join(),
    /instruction/,
  );
  assert.match(judge('Lines 10-20 hold the parser, which reads the file header.', []).echoes.join(), /line range/);
});
