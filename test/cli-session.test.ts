// `podlens summarize` and `podlens chat` as a user runs them (child processes, SmolLM2): map-reduce
// over a file larger than the context with coverage in the result, a folder with its exclusions,
// cancellation by SIGINT with a partial result, usage errors; the chat REPL fed through stdin,
// reusing the workspace prefix on every turn and, after a restart, from the persisted state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { modelPath, ROOT, SMOLLM2 } from './helpers';

const CLI = path.join(ROOT, 'out', 'src', 'cli', 'main.js');
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', input, timeout: 600_000 });
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-cli-'));

interface Summary {
  summary: string;
  parts: number;
  partsDone: number;
  complete: boolean;
  note: string;
  covered: { path: string; startLine: number; endLine: number; totalLines: number }[];
  excluded: { path: string; reason: string }[];
}

test('summarize: a file larger than the context is summarized in parts, and the result says what it covered', () => {
  const r = run([
    'summarize',
    path.join(ROOT, 'src/context/walk.ts'),
    '--model',
    modelPath(SMOLLM2),
    '--ctx',
    '768',
    '--max-tokens',
    '24',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Summary;
  assert.ok(s.parts > 1, `${s.parts} parts`);
  assert.equal(s.partsDone, s.parts);
  assert.equal(s.complete, true);
  const lines = fs.readFileSync(path.join(ROOT, 'src/context/walk.ts'), 'utf8').split(/(?<=\n)/).length;
  assert.deepEqual(s.covered, [{ path: 'walk.ts', startLine: 1, endLine: lines, totalLines: lines }]);
  assert.match(s.note, /^Covered all of walk\.ts \(lines 1–\d+, \d+ tokens\) in \d+ parts\.$/);
  assert.ok(s.summary.length > 0);
  assert.match(r.stderr, /summarizing part 1 of/);
});

test('summarize: a folder lists its exclusions; SIGINT stops with a partial result; bad usage exits 2', async () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'a.md'), '# A\n' + 'Apples are red and grow on trees in orchards.\n'.repeat(60));
  fs.writeFileSync(path.join(dir, 'b.md'), '# B\n' + 'Bananas are yellow and grow in bunches.\n'.repeat(60));
  fs.writeFileSync(path.join(dir, 'yarn.lock'), '# lock\n');
  const child = spawn(process.execPath, [
    CLI,
    'summarize',
    dir,
    '--model',
    modelPath(SMOLLM2),
    '--ctx',
    '512',
    '--max-tokens',
    '16',
    '--json',
  ]);
  let out = '',
    err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    if (/summarizing part 2 of/.test(err)) child.kill('SIGINT');
  });
  const code = await new Promise<number | null>((res) => child.on('close', res));
  assert.equal(code, 0, err);
  const s = JSON.parse(out) as Summary;
  assert.ok(s.parts >= 3, `${s.parts} parts`);
  assert.ok(s.partsDone >= 1 && s.partsDone < s.parts, `${s.partsDone} of ${s.parts}`);
  assert.equal(s.complete, false);
  assert.match(s.note, /^Stopped after \d+ of \d+ parts: /);
  assert.deepEqual(s.excluded, [{ path: 'yarn.lock', reason: 'lock file' }]);

  const u = run(['summarize', '--model', modelPath(SMOLLM2)]);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /give a file or folder to summarize\nusage: podlens summarize PATH \[options\]/);
  assert.equal(run(['summarize', 'a', 'b']).status, 2);
});

test('chat: the workspace prefix is read once, reused every turn and after a restart', () => {
  const ws = tmp();
  fs.mkdirSync(path.join(ws, 'src'));
  fs.writeFileSync(
    path.join(ws, 'src/price.ts'),
    'export function price(cents: number): string {\n  return `$${(cents / 100).toFixed(2)}`;\n}\n',
  );
  fs.writeFileSync(path.join(ws, 'README.md'), '# Shop\nPrices are stored in cents.\n');
  const cache = tmp();
  const args = [
    'chat',
    '--model',
    modelPath(SMOLLM2),
    '--workspace',
    ws,
    '--ctx',
    '1024',
    '--max-tokens',
    '8',
    '--cache-dir',
    cache,
    '--json',
  ];
  type Turn = { answer: string; reused: number; computed: number; how: string };
  const turns = (stdout: string): Turn[] =>
    stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Turn);

  const a = run(args, 'How are prices stored?\nWhat does price() return?\n/exit\n');
  assert.equal(a.status, 0, a.stderr);
  const [t1, t2] = turns(a.stdout);
  assert.equal(t1!.reused, 0);
  assert.ok(
    t2!.reused > t1!.computed - 20 && t2!.computed < 40,
    `turn 2: ${t2!.reused} reused, ${t2!.computed} computed`,
  );
  assert.match(a.stderr, /^2 files included \(\d+ of \d+ tokens\), 0 excluded$/m);
  assert.equal(fs.readdirSync(cache).filter((f) => f.endsWith('.kvstate')).length, 1);

  const b = run(args, 'How are prices stored?\n');
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stderr, /^workspace KV state restored from disk: \d+ tokens, /m);
  const [u1] = turns(b.stdout);
  assert.ok(u1!.reused > 0 && u1!.computed < 40, `after restart: ${u1!.reused} reused, ${u1!.computed} computed`);
  assert.equal(u1!.answer, t1!.answer);
});
