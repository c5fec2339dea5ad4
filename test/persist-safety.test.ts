// Persisted KV states under hostile conditions (src/context/persist.ts, store.ts): two processes
// (two VS Code windows) saving the same workspace state concurrently never leave a corrupt or
// mixed file and never show a reader one; a full disk (ENOSPC injected into the write) loses
// nothing saved before, leaves no temp file and says so in one line; a flipped bit anywhere in a
// file is detected; stale temp files from a crash are swept; Clear Workspace Cache removes one
// workspace's files (every model, slot and temp file) and reports the bytes freed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { enforceCap, loadState, saveState, SaveStateError, STATE_EXT } from '../src/context/persist';
import { clearWorkspaceStates, workspaceKey } from '../src/context/store';
import { KVState } from '../src/engine/kv/state';

const ID = { modelSha256: 'a'.repeat(64), planHash: 'p'.repeat(32) };
const EXPECT = { ...ID, kind: 'full', dtype: 'f32' };
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-safety-'));
const state = (v: number, n = 16): KVState => ({
  kind: 'full',
  dtype: 'f32',
  length: 4,
  ints: Int32Array.of(4),
  buffers: [new Float32Array(n).fill(v), new Float32Array(n).fill(-v)],
});

/** A child process that saves `file` `times` times with states filled with `value` (ids [value × 4]). */
function writer(file: string, value: number, times: number): Promise<number | null> {
  const persist = path.join(__dirname, '../src/context/persist.js');
  const code = `
    const { saveState } = require(${JSON.stringify(persist)});
    const n = 1 << 18; // 2 × 1 MB of floats: each save takes long enough to overlap the other writer's
    const s = { kind: 'full', dtype: 'f32', length: 4, ints: Int32Array.of(4), buffers: [new Float32Array(n).fill(${value}), new Float32Array(n).fill(-${value})] };
    for (let i = 0; i < ${times}; i++) saveState(${JSON.stringify(file)}, ${JSON.stringify(ID)}, [${value}, ${value}, ${value}, ${value}], s);`;
  const p = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((r) => p.on('exit', (c) => r(c)));
}

test('two processes saving the same state concurrently: every load sees one complete writer, never a mix', async () => {
  const dir = tmp();
  const file = path.join(dir, `${workspaceKey(dir)}0000${STATE_EXT}`);
  const done = Promise.all([writer(file, 1, 60), writer(file, 2, 60)]);
  let finished = false;
  void done.then(() => {
    finished = true;
  });
  const seen = new Map<string, number>();
  while (!finished) {
    await new Promise((r) => setTimeout(r, 2));
    if (!fs.existsSync(file)) continue;
    const r = loadState(file, EXPECT);
    const key = r.ok ? `ok ${r.ids[0]}` : r.reason.replace(/\d+/g, 'N');
    seen.set(key, (seen.get(key) ?? 0) + 1);
    if (r.ok) {
      const v = r.ids[0]!;
      assert.ok(v === 1 || v === 2);
      assert.deepEqual(r.ids, [v, v, v, v]);
      assert.ok(
        (r.state.buffers[0] as Float32Array).every((x) => x === v),
        'K from one writer only',
      );
      assert.ok(
        (r.state.buffers[1] as Float32Array).every((x) => x === -v),
        'V from the same writer',
      );
    }
  }
  assert.deepEqual(await done, [0, 0]);
  console.log(`# concurrent loads: ${JSON.stringify(Object.fromEntries(seen))}`);
  assert.deepEqual(
    [...seen.keys()].filter((k) => !k.startsWith('ok')),
    [],
    'no load ever failed',
  );
  assert.ok((seen.get('ok 1') ?? 0) + (seen.get('ok 2') ?? 0) > 0);
  assert.ok(loadState(file, EXPECT).ok);
  assert.deepEqual(fs.readdirSync(dir), [path.basename(file)], 'no temp file left');
});

test('a full disk while saving keeps the previously saved state and says so', () => {
  const dir = tmp();
  const file = path.join(dir, `x${STATE_EXT}`);
  saveState(file, ID, [7, 7, 7, 7], state(7));
  const before = fs.readFileSync(file);
  let written = 0;
  const full = (fd: number, data: Uint8Array): void => {
    if (written + data.length > 100) {
      fs.writeSync(fd, data.subarray(0, 100 - written)); // a partial write, then the disk is full
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    fs.writeSync(fd, data);
    written += data.length;
  };
  assert.throws(
    () => saveState(file, ID, [9, 9, 9, 9], state(9, 4096), full),
    (e: unknown) => {
      assert.ok(e instanceof SaveStateError);
      assert.equal(e.code, 'ENOSPC');
      assert.equal(
        e.message,
        `could not save the KV state x${STATE_EXT}: the disk is full (ENOSPC); the previously saved state is kept`,
      );
      return true;
    },
  );
  assert.deepEqual(fs.readFileSync(file), before, 'the saved file is untouched');
  const r = loadState(file, EXPECT);
  assert.ok(r.ok);
  assert.deepEqual(r.ids, [7, 7, 7, 7]);
  assert.deepEqual(fs.readdirSync(dir), [`x${STATE_EXT}`], 'the partial temp file is removed');
  // A folder that cannot be written at all: the same kind of one-line error.
  assert.throws(() => saveState(path.join(file, 'sub', 'y.kvstate'), ID, [1], state(1)), SaveStateError);
});

test('a flipped bit anywhere in the file is detected', () => {
  const dir = tmp();
  const file = path.join(dir, `x${STATE_EXT}`);
  saveState(file, ID, [1, 2, 3, 4], state(0.25));
  const good = fs.readFileSync(file);
  let tried = 0;
  for (let at = 0; at < good.length; at += 7) {
    const bad = Buffer.from(good);
    bad[at]! ^= 1 << (at % 8);
    fs.writeFileSync(file, bad);
    const r = loadState(file, EXPECT);
    assert.equal(r.ok, false, `bit flip at byte ${at} not detected`);
    tried++;
  }
  assert.ok(tried > 50);
});

test('stale temp files are swept; Clear Workspace Cache removes one workspace and reports the bytes', () => {
  const dir = tmp();
  const wsA = path.join(dir, 'a'),
    wsB = path.join(dir, 'b');
  const names = [
    `${workspaceKey(wsA)}${'1'.repeat(16)}${STATE_EXT}`,
    `${workspaceKey(wsA)}${'1'.repeat(16)}.stable${STATE_EXT}`,
    `${workspaceKey(wsA)}${'2'.repeat(16)}${STATE_EXT}`,
    `${workspaceKey(wsB)}${'1'.repeat(16)}${STATE_EXT}`,
  ];
  for (const n of names) saveState(path.join(dir, n), ID, [1], state(1));
  const stale = path.join(dir, `${names[0]}.123.abc.tmp`);
  fs.writeFileSync(stale, 'partial');
  const fresh = path.join(dir, `${names[3]}.456.def.tmp`);
  fs.writeFileSync(fresh, 'being written');
  fs.utimesSync(stale, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
  enforceCap(dir, 1e12);
  assert.ok(!fs.existsSync(stale) && fs.existsSync(fresh), 'only the stale temp file is swept');
  fs.writeFileSync(stale, 'partial');
  const sizeA = names.slice(0, 3).reduce((a, n) => a + fs.statSync(path.join(dir, n)).size, 0) + 'partial'.length;
  assert.deepEqual(clearWorkspaceStates(dir, wsA), { files: 4, bytes: sizeA });
  assert.deepEqual(fs.readdirSync(dir).sort(), [names[3], path.basename(fresh)].sort());
  assert.deepEqual(clearWorkspaceStates(dir, wsA), { files: 0, bytes: 0 });
  assert.deepEqual(clearWorkspaceStates(path.join(dir, 'missing'), wsA), { files: 0, bytes: 0 });
});
