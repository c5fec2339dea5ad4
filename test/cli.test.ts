// The podlens CLI as a user runs it (a child process): JSON outputs, exit code 2 with usage for
// bad arguments, exit code 1 with one clear stderr line for runtime errors, the default model
// (Qwen2.5-Coder-0.5B-Instruct beside the CLI) from any folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { modelPath, ROOT } from './helpers';

const CLI = path.join(ROOT, 'out', 'src', 'cli', 'main.js');
function podlens(...args: string[]): { code: number | null; out: string; err: string } {
  return podlensIn(ROOT, ...args);
}
function podlensIn(cwd: string, ...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, cwd });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const STORIES = () => modelPath('stories260K-f32.gguf');

test('info, tokenize and generate print one JSON object', () => {
  const info = podlens('info', '--model', STORIES(), '--json');
  assert.equal(info.code, 0, info.err);
  const i = JSON.parse(info.out) as {
    config: { arch: string; nLayers: number };
    tensorTypes: Record<string, number>;
    memory: { totalBytes: number };
  };
  assert.equal(i.config.arch, 'llama');
  assert.equal(i.config.nLayers, 5);
  assert.ok(i.tensorTypes.F32! > 0 && i.memory.totalBytes > 0);

  const tok = podlens('tokenize', '--model', STORIES(), '--text', 'Once upon a time', '--json');
  assert.equal(tok.code, 0, tok.err);
  assert.deepEqual(JSON.parse(tok.out), { ids: [1, 403, 407, 261, 378] });

  const gen = podlens(
    'generate',
    '--model',
    STORIES(),
    '--prompt',
    'Once upon a time',
    '--temperature',
    '0',
    '--max-tokens',
    '8',
    '--json',
  );
  assert.equal(gen.code, 0, gen.err);
  const g = JSON.parse(gen.out) as {
    tokens: number[];
    text: string;
    stats: { promptTokens: number; generatedTokens: number };
    kv: { kind: string };
  };
  assert.deepEqual(g.tokens, [432, 383, 286, 261, 376, 298, 315, 421]); // the golden continuation
  assert.equal(g.text, ', there was a little girl');
  assert.match(
    gen.err,
    /^KV cache: full — auto: no PoD profile for this model/m,
    'auto (the default) says what it chose',
  );
  // A profile found beside the model but made for another model: auto falls back to the full cache and says why.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-auto-'));
  try {
    fs.symlinkSync(STORIES(), path.join(dir, 'x.gguf'));
    fs.copyFileSync(
      path.join(ROOT, 'models', 'qwen2.5-coder-0.5b-instruct.pod-profile.json'),
      path.join(dir, 'x.pod-profile.json'),
    );
    const other = podlens(
      'generate',
      '--model',
      path.join(dir, 'x.gguf'),
      '--prompt',
      'a',
      '--max-tokens',
      '1',
      '--json',
    );
    assert.equal(other.code, 0, other.err);
    assert.match(other.err, /^KV cache: full — auto: x\.pod-profile\.json could not be used \(.*sha256/m);
    assert.equal((JSON.parse(other.out) as { kv: { kind: string } }).kv.kind, 'full');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(g.stats.promptTokens, 5);
  assert.equal(g.stats.generatedTokens, 8);
  assert.equal(g.kv.kind, 'full');

  const pod = podlens(
    'generate',
    '--model',
    STORIES(),
    '--prompt',
    'Once upon a time',
    '--temperature',
    '0',
    '--max-tokens',
    '40',
    '--kv',
    'pod',
    '--sinks',
    '2',
    '--recent',
    '8',
    '--group-size',
    '2',
    '--json',
  );
  assert.equal(pod.code, 0, pod.err);
  const p = JSON.parse(pod.out) as { kv: { kind: string; savedFraction: number; tokens: { distant: number } } };
  assert.equal(p.kv.kind, 'pod');
  assert.ok(p.kv.savedFraction > 0 && p.kv.tokens.distant > 0);
  // the same with the int8 distant store: fewer bytes still
  const q8 = podlens(
    'generate',
    '--model',
    STORIES(),
    '--prompt',
    'Once upon a time',
    '--temperature',
    '0',
    '--max-tokens',
    '40',
    '--kv',
    'pod',
    '--sinks',
    '2',
    '--recent',
    '8',
    '--group-size',
    '2',
    '--kv-int8',
    '--json',
  );
  assert.equal(q8.code, 0, q8.err);
  const p8 = JSON.parse(q8.out) as { kv: { kind: string; savedFraction: number } };
  assert.ok(p8.kv.savedFraction > p.kv.savedFraction, `int8 saved ${p8.kv.savedFraction} vs ${p.kv.savedFraction}`);
  assert.equal(
    podlens('generate', '--model', STORIES(), '--prompt', 'a', '--kv-int8').code,
    2,
    '--kv-int8 without --kv pod is a usage error',
  );
});

test('bad arguments: usage text and exit code 2', () => {
  for (const args of [
    [],
    ['frobnicate'],
    ['generate', '--model', 'x'],
    ['generate', '--model', 'x', '--prompt', 'a', '--prompt-file', 'b'],
    ['generate', '--model', 'x', '--prompt', 'a', '--max-tokens', 'many'],
    ['generate', '--model', 'x', '--prompt', 'a', '--temperature', '-1'],
    ['generate', '--model', 'x', '--prompt', 'a', '--kv', 'tiny'],
    ['generate', '--model', 'x', '--prompt', 'a', '--sinks', '4'],
    ['info', '--model', 'x', '--bogus'],
    ['tokenize'],
  ]) {
    const r = podlens(...args);
    assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}\n${r.err}`);
    assert.match(r.out + r.err, /usage: podlens/);
  }
  assert.equal(podlens('--help').code, 0);
  assert.equal(podlens('generate', '--help').code, 0);
});

test('runtime errors: one line on stderr and exit code 1', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-cli-'));
  try {
    const truncated = path.join(dir, 'truncated.gguf');
    fs.writeFileSync(truncated, fs.readFileSync(STORIES()).subarray(0, 200_000));
    const notGguf = path.join(dir, 'notes.txt');
    fs.writeFileSync(notGguf, 'hello, not a model');
    for (const [file, pattern] of [
      [path.join(dir, 'missing.gguf'), /no such file/],
      [truncated, /incomplete or the file is damaged|file ends/],
      [notGguf, /not a GGUF model file/],
    ] as const) {
      const r = podlens('generate', '--model', file, '--prompt', 'hi');
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, pattern);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.ok(r.err.includes(file), 'names the file');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('without --model: the default Qwen2.5-Coder-0.5B-Instruct beside the CLI, from any folder, named on stderr', () => {
  const qwen = modelPath('qwen2.5-coder-0.5b-instruct.gguf');
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-cwd-'));
  try {
    const text = 'def add(a, b):\n    return a + b';
    const tok = podlensIn(elsewhere, 'tokenize', '--text', text, '--json');
    assert.equal(tok.code, 0, tok.err);
    assert.equal(tok.err, `model: Qwen2.5-Coder-0.5B-Instruct (${qwen}, default)\n`, 'absolute path outside the clone');
    assert.deepEqual(
      JSON.parse(tok.out),
      JSON.parse(podlens('tokenize', '--model', qwen, '--text', text, '--json').out),
    );
    const info = podlensIn(ROOT, 'info', '--json');
    assert.equal(info.code, 0, info.err);
    assert.equal(
      info.err,
      'model: Qwen2.5-Coder-0.5B-Instruct (models/qwen2.5-coder-0.5b-instruct.gguf, default)\n',
      'relative inside the clone',
    );
    const i = JSON.parse(info.out) as {
      file: string;
      config: { arch: string; nLayers: number; nKVHeads: number; headDim: number };
    };
    assert.deepEqual(
      [i.file, i.config.arch, i.config.nLayers, i.config.nKVHeads, i.config.headDim],
      [qwen, 'qwen2', 24, 2, 64],
    );
    // An explicit --model says nothing about models.
    assert.equal(podlens('info', '--model', STORIES(), '--json').err, '');
    // The KV cache defaults to auto, as in the extension: PoD with the profile PodLens ships.
    const gen = podlensIn(elsewhere, 'generate', '--prompt', 'def', '--max-tokens', '2', '--json');
    assert.equal(gen.code, 0, gen.err);
    assert.match(
      gen.err,
      /^KV cache: PoD — auto: PodLens has a profile for this model \(qwen2\.5-coder-0\.5b-instruct\.pod-profile\.json\)$/m,
    );
    assert.equal((JSON.parse(gen.out) as { kv: { kind: string } }).kv.kind, 'pod');
    const full = podlensIn(elsewhere, 'generate', '--prompt', 'def', '--max-tokens', '2', '--kv', 'full', '--json');
    assert.equal((JSON.parse(full.out) as { kv: { kind: string } }).kv.kind, 'full');
    assert.doesNotMatch(full.err, /KV cache/, 'an explicit --kv is not announced');
  } finally {
    fs.rmSync(elsewhere, { recursive: true, force: true });
  }
});
