// Damaged model files: truncation at every part of a real file, bad magic, unsupported version,
// unsupported tensor types, and a seeded mutation loop. Every failure must be a ModelFileError
// with the right code and a message that names the file (and the tensor, where there is one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { readGGUFHeader } from '../src/engine/gguf/reader';
import { ModelErrorCode, ModelFileError } from '../src/engine/gguf/errors';
import { GGMLType, SUPPORTED_TENSOR_TYPES } from '../src/engine/gguf/types';
import { modelPath } from './helpers';
import type { FuzzInput, FuzzResult } from './gguf-fuzz-worker';

const SRC = modelPath('stories260K-f32.gguf');
const ORIGINAL = fs.readFileSync(SRC);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-gguf-errors-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function writeTmp(bytes: Uint8Array): string {
  const p = path.join(tmp, `case-${n++}.gguf`);
  fs.writeFileSync(p, bytes);
  return p;
}

function expectError(file: string, code: ModelErrorCode, extra: RegExp[] = []): ModelFileError {
  try {
    readGGUFHeader(file);
  } catch (e) {
    assert.ok(e instanceof ModelFileError, `expected ModelFileError, got ${String(e)}`);
    assert.equal(e.code, code, `${path.basename(file)}: ${e.message}`);
    assert.equal(e.file, file);
    assert.ok(e.message.startsWith(file), `message names the file: ${e.message}`);
    for (const re of extra) assert.match(e.message, re);
    return e;
  }
  assert.fail(`${file} parsed, expected ${code}`);
}

// Landmarks in the real file (v3): 24-byte fixed header, metadata, tensor infos, aligned data.
const header = readGGUFHeader(SRC);
const tensorInfoStart = ORIGINAL.indexOf('token_embd.weight') - 8;
const lastTensor = header.tensors[header.tensors.length - 1]!;

test('truncation anywhere in a real file is reported as truncated, naming file and tensor', () => {
  assert.ok(tensorInfoStart > 24 && tensorInfoStart < header.dataOffset);
  const cuts: [string, number][] = [
    ['magic only', 4],
    ['inside version', 6],
    ['inside tensor count', 12],
    ['inside metadata count', 20],
    ['before the first key', 24],
    ['inside the first key length', 28],
    ['inside the first key', 40],
    ['inside the token array', 200],
    ['deep in metadata', 5000],
    ['just before tensor infos', tensorInfoStart],
    ['inside a tensor name', tensorInfoStart + 12],
    ['inside tensor infos', tensorInfoStart + 300],
    ['at the end of tensor infos', header.dataOffset - 4],
    ['at the data offset', header.dataOffset],
    ['inside the first tensor', header.dataOffset + 1000],
    ['mid-data', Math.floor(ORIGINAL.length / 2)],
    ['inside the last tensor', lastTensor.fileOffset + 10],
    ['one byte short', ORIGINAL.length - 1],
  ];
  for (const [where, at] of cuts) {
    const file = writeTmp(ORIGINAL.subarray(0, at));
    const e = expectError(file, 'truncated');
    if (at >= header.dataOffset) {
      assert.ok(e.tensor !== undefined, `${where}: names the tensor`);
      assert.match(e.message, /incomplete|damaged/, where);
    }
  }
  // Cutting at every byte of the fixed header and the first metadata entries, too.
  for (let at = 4; at < 120; at++) expectError(writeTmp(ORIGINAL.subarray(0, at)), 'truncated');
});

test('bad magic, tiny or empty files, and a directory are not GGUF', () => {
  const bad = Buffer.from(ORIGINAL.subarray(0, 4096));
  bad.write('GGML', 0);
  expectError(writeTmp(bad), 'not-gguf', [/not a GGUF model file/]);
  expectError(writeTmp(Buffer.from('{"json": true}\n')), 'not-gguf');
  expectError(writeTmp(new Uint8Array(0)), 'not-gguf', [/0 bytes/]);
  expectError(writeTmp(Buffer.from('GG')), 'not-gguf');
  expectError(tmp, 'not-gguf', [/not a regular file/]);
  expectError(path.join(tmp, 'missing.gguf'), 'not-found', [/no such file/]);
});

test('GGUF versions 0 and 4 are unsupported and say which versions are', () => {
  for (const v of [0, 4, 0xffffffff]) {
    const b = Buffer.from(ORIGINAL);
    b.writeUInt32LE(v, 4);
    expectError(writeTmp(b), 'unsupported-version', [new RegExp(`version ${v}`), /1, 2 and 3/]);
  }
});

/** Copy of the real file with the ggml type of tensor `name` replaced. */
function withTensorType(name: string, type: number): Buffer {
  const b = Buffer.from(ORIGINAL);
  const p = b.indexOf(name, tensorInfoStart) + name.length; // then n_dims u32, dims u64×n, type u32
  const nDims = b.readUInt32LE(p);
  b.writeUInt32LE(type, p + 4 + 8 * nDims);
  return b;
}

test('unknown and unsupported tensor types name the tensor and list the supported types', () => {
  const supported = new RegExp(`supported types: ${SUPPORTED_TENSOR_TYPES.join(', ')}`);
  let e = expectError(writeTmp(withTensorType('blk.2.attn_k.weight', 99)), 'unsupported-type', [
    /unknown\(99\)/,
    supported,
  ]);
  assert.equal(e.tensor, 'blk.2.attn_k.weight');
  assert.match(e.message, /tensor blk\.2\.attn_k\.weight/);
  e = expectError(writeTmp(withTensorType('output.weight', GGMLType.IQ2_XXS)), 'unsupported-type', [
    /IQ2_XXS/,
    supported,
  ]);
  assert.equal(e.tensor, 'output.weight');
  expectError(writeTmp(withTensorType('output_norm.weight', GGMLType.Q5_K)), 'unsupported-type', [/Q5_K/]);
});

test('structurally invalid headers are corrupt, not crashes', () => {
  const b = Buffer.from(ORIGINAL);
  b.writeBigUInt64LE(1n << 60n, 8); // tensor count no file could hold
  expectError(writeTmp(b), 'corrupt', [/tensor count/]);
  const c = Buffer.from(ORIGINAL);
  c.writeUInt32LE(13, 24 + 8 + c.readUInt32LE(24)); // first metadata value type → 13 (unknown)
  expectError(writeTmp(c), 'corrupt', [/unknown value type 13/]);
  const d = Buffer.from(ORIGINAL);
  const p = d.indexOf('output_norm.weight', tensorInfoStart) + 'output_norm.weight'.length;
  d.writeUInt32LE(7, p); // 7 dimensions
  expectError(writeTmp(d), 'corrupt', [/7 dimensions/]);
});

test('300 seeded mutations of a real file: each parses or fails with ModelFileError, none hangs', async (t) => {
  const input: FuzzInput = { source: SRC, dir: fs.mkdtempSync(path.join(tmp, 'fuzz-')), count: 300, seed: 1234 };
  const worker = new Worker(path.join(__dirname, 'gguf-fuzz-worker.js'), { workerData: input });
  const LIMIT_MS = 30_000;
  const result = await new Promise<FuzzResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`mutation loop exceeded ${LIMIT_MS} ms: a parse hangs`));
    }, LIMIT_MS);
    worker.once('message', (m: FuzzResult) => {
      clearTimeout(timer);
      resolve(m);
    });
    worker.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  await worker.terminate();
  t.diagnostic(
    `parsed ${result.ok}, errors ${JSON.stringify(result.codes)}, slowest ${result.slowestMs.toFixed(1)} ms`,
  );
  assert.deepEqual(result.foreign, []);
  const failed = Object.values(result.codes).reduce((a, b) => a + b, 0);
  assert.equal(result.ok + failed, 300);
  assert.ok(failed > 100 && result.ok > 0, 'the mutations exercise both outcomes');
  assert.ok(result.slowestMs < 2000, `slowest parse ${result.slowestMs} ms`);
});
