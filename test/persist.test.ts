// KV state files (src/context/persist.ts) with synthetic states: exact round trip; every kind of
// damage or mismatch (truncation, a flipped byte, trailing bytes, bad magic, corrupt header,
// another format version, model, plan, kind or dtype) is detected and reported in one line, never
// loaded; writes are atomic (no temp file left) and the folder's LRU cap evicts the oldest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { enforceCap, loadState, saveState, STATE_EXT } from '../src/context/persist';
import { KVState } from '../src/engine/kv/state';

const ID = { modelSha256: 'a'.repeat(64), planHash: 'p'.repeat(32) };
const EXPECT = { ...ID, kind: 'full', dtype: 'f32' };
const ids = [5, 6, 7, 8];
const state = (): KVState => ({
  kind: 'full',
  dtype: 'f32',
  length: 4,
  ints: Int32Array.of(4),
  buffers: [Float32Array.from({ length: 12 }, (_, i) => i * 0.5), Float32Array.from({ length: 12 }, (_, i) => -i)],
});
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-persist-'));

test('save → load is exact, atomic (no temp file left)', () => {
  const dir = tmp();
  const f = path.join(dir, 'x' + STATE_EXT);
  saveState(f, ID, ids, state());
  assert.deepEqual(fs.readdirSync(dir), ['x' + STATE_EXT]);
  const r = loadState(f, EXPECT);
  assert.ok(r.ok);
  assert.deepEqual(r.ids, ids);
  assert.deepEqual(r.state, state());
  const h = state();
  const f16: KVState = { ...h, dtype: 'f16', buffers: h.buffers.map((b) => Uint16Array.from(b, (x) => Math.abs(x))) };
  saveState(f, ID, ids, f16);
  const r16 = loadState(f, { ...EXPECT, dtype: 'f16' });
  assert.ok(r16.ok);
  assert.deepEqual(r16.state, f16);
});

test('damaged or mismatched files are rejected with a one-line reason', () => {
  const dir = tmp();
  const f = path.join(dir, 'x' + STATE_EXT);
  saveState(f, ID, ids, state());
  const good = fs.readFileSync(f);
  const reason = (bytes: Buffer, expect = EXPECT): string => {
    fs.writeFileSync(f, bytes);
    const r = loadState(f, expect);
    assert.equal(r.ok, false);
    const why = (r as { reason: string }).reason;
    assert.ok(!why.includes('\n'));
    return why;
  };
  assert.match(reason(good.subarray(0, good.length - 10)), /^truncated \(\d+ of \d+ bytes\)$/);
  assert.match(reason(good.subarray(0, 20)), /^truncated/);
  assert.match(reason(good.subarray(0, 5)), /^truncated \(5 bytes\)$/);
  assert.match(reason(Buffer.concat([good, Buffer.from([0])])), /^trailing bytes/);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 40]! ^= 0x10; // inside the K/V payload
  assert.equal(reason(flipped), 'checksum mismatch (corrupt file)');
  const magic = Buffer.from(good);
  magic[0] = 0x58;
  assert.equal(reason(magic), 'not a PodLens KV state file (bad magic)');
  const hdr = Buffer.from(good);
  hdr[14] = 0x7b; // inside the JSON header
  assert.equal(reason(hdr), 'checksum mismatch (corrupt file)');
  // Another format version, written consistently (valid checksum): rejected by version.
  saveState(f, ID, ids, state());
  const v9 = Buffer.from(fs.readFileSync(f).toString('latin1').replace('"format":1', '"format":9'), 'latin1');
  const body = v9.subarray(0, v9.length - 32);
  assert.equal(
    reason(Buffer.concat([body, createHash('sha256').update(body).digest()])),
    'format version 9, this PodLens reads 1',
  );
  assert.equal(
    reason(good, { ...EXPECT, modelSha256: 'b'.repeat(64) }),
    'saved for a different model file (sha256 differs)',
  );
  assert.equal(reason(good, { ...EXPECT, planHash: 'q'.repeat(32) }), 'saved for a different KV cache plan');
  assert.equal(reason(good, { ...EXPECT, dtype: 'f16' }), 'saved as full/f32, expected full/f16');
  assert.equal(reason(good, { ...EXPECT, kind: 'pod' }), 'saved as full/f32, expected pod/f32');
  assert.match(loadState(path.join(dir, 'missing'), EXPECT).ok ? '' : 'cannot read', /cannot read/);
});

test('LRU cap: the least recently used files go first, never the one being kept', () => {
  const dir = tmp();
  const files = ['a', 'b', 'c'].map((n, i) => {
    const f = path.join(dir, n + STATE_EXT);
    saveState(f, ID, ids, state());
    fs.utimesSync(f, new Date(1000 * (i + 1)), new Date(1000 * (i + 1)));
    return f;
  });
  fs.writeFileSync(path.join(dir, 'other.txt'), 'not a state file');
  const size = fs.statSync(files[0]!).size;
  // 'a' is the oldest but was just loaded: loading refreshes its mtime.
  assert.ok(loadState(files[0]!, EXPECT).ok);
  const removed = enforceCap(dir, 2 * size, files[2]);
  assert.deepEqual(removed, [files[1]]);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['a' + STATE_EXT, 'c' + STATE_EXT, 'other.txt']);
  assert.deepEqual(enforceCap(dir, 0, files[2]), [files[0]]);
});
