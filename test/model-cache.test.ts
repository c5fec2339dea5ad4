// The converted-model cache's file logic (src/engine/onnx/model-cache.ts), with a stand-in build
// that writes named weights from generators: a second load builds nothing; a new setting builds
// only a graph and reads no weight; a damaged or mismatched weights file is converted again and
// takes its segment's graphs with it; least recently used models beyond four are removed, and so
// are directories of the old one-entry-per-setting layout. Whole-model behaviour (same logits from
// the cache as in memory, one copy of the weights) is in weights-memory.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InitializerSink } from '../src/engine/onnx/builder';
import { cachedModel } from '../src/engine/onnx/model-cache';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-model-cache-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function gguf(name: string): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, `GGUF stand-in ${name}`);
  return f;
}

/** A build that hands weights a (5000 bytes) and b (70000 bytes) to the sink; counts the pieces read. */
function stand(names = ['a', 'b']) {
  const read: string[] = [];
  const build = (sink: InitializerSink) => {
    let weightBytes = 0;
    const refs: string[] = [];
    for (const [i, n] of names.entries()) {
      const length = i === 0 ? 5000 : 70000;
      const pieces = (function* () {
        read.push(n);
        yield new Uint8Array(length - 1000).fill(i + 1);
        yield new Uint8Array(1000).fill(i + 7);
      })();
      const e = sink.write(n, pieces, length);
      assert.equal(e.length, length);
      refs.push(`${n}@${e.offset}+${e.length}`);
      weightBytes += length;
    }
    return { bytes: new TextEncoder().encode(refs.join(' ')), weightBytes };
  };
  return { build, read };
}

test('a second load builds nothing; a new setting builds only its graph and reads no weight', () => {
  const dir = path.join(tmp, 'c1');
  const file = gguf('m1.gguf');
  const s1 = stand();
  const first = cachedModel(dir, file, { first: 0, end: 4 }, { ctx: 64 }, s1.build);
  assert.equal(first.built, 'weights and graph');
  assert.equal(first.weightBytes, 75000);
  assert.deepEqual(s1.read, ['a', 'b']);
  const model = path.dirname(first.modelPath);
  const bin = fs.readFileSync(path.join(model, 'weights-0-4.bin'));
  assert.equal(bin[0], 1);
  assert.equal(bin[4000], 7);
  assert.equal(bin[8192], 2, 'the second weight starts at the next page');
  assert.equal(bin.length, 8192 + 70000);
  assert.equal(fs.readFileSync(first.modelPath, 'utf8'), 'a@0+5000 b@8192+70000');

  const s2 = stand();
  const again = cachedModel(dir, file, { first: 0, end: 4 }, { ctx: 64 }, s2.build);
  assert.deepEqual([again.built, again.modelPath, again.weightBytes], ['nothing', first.modelPath, 75000]);
  assert.deepEqual(s2.read, []);

  const s3 = stand();
  const wider = cachedModel(dir, file, { first: 0, end: 4 }, { ctx: 128 }, s3.build);
  assert.equal(wider.built, 'graph');
  assert.deepEqual(s3.read, [], 'no weight packed for a new graph');
  assert.notEqual(wider.modelPath, first.modelPath);
  assert.equal(fs.readFileSync(wider.modelPath, 'utf8'), 'a@0+5000 b@8192+70000');
  assert.equal(path.dirname(wider.modelPath), model, 'next to the weights it refers to');

  // Another segment of the same model gets its own weights file in the same directory.
  const seg = cachedModel(dir, file, { first: 4, end: 8 }, { ctx: 64 }, stand().build);
  assert.equal(seg.built, 'weights and graph');
  assert.ok(fs.existsSync(path.join(model, 'weights-4-8.bin')));
  assert.deepEqual(fs.readdirSync(dir), [path.basename(model)]);
});

test('a damaged or mismatched weights file is converted again, with its segment’s graphs', () => {
  const dir = path.join(tmp, 'c2');
  const file = gguf('m2.gguf');
  const a = cachedModel(dir, file, { first: 0, end: 2 }, { ctx: 64 }, stand().build);
  const b = cachedModel(dir, file, { first: 0, end: 2 }, { ctx: 128 }, stand().build);
  const model = path.dirname(a.modelPath);
  fs.truncateSync(path.join(model, 'weights-0-2.bin'), 100);
  const s = stand();
  const again = cachedModel(dir, file, { first: 0, end: 2 }, { ctx: 64 }, s.build);
  assert.equal(again.built, 'weights and graph');
  assert.deepEqual(s.read, ['a', 'b']);
  assert.equal(fs.statSync(path.join(model, 'weights-0-2.bin')).size, 8192 + 70000);
  assert.ok(!fs.existsSync(b.modelPath), 'a graph over the old weights is gone');

  // A build that needs a weight the file does not hold (a newer graph) converts again too.
  const s2 = stand(['a', 'c']);
  const newer = cachedModel(dir, file, { first: 0, end: 2 }, { ctx: 256 }, s2.build);
  assert.equal(newer.built, 'weights and graph');
  assert.deepEqual(s2.read, ['a', 'c']);
  assert.equal(fs.readdirSync(model).filter((n) => n.includes('.tmp-')).length, 0, 'no temporary file left');
});

test('least recently used models beyond four, and old-layout entries, are removed', () => {
  const dir = path.join(tmp, 'c3');
  fs.mkdirSync(path.join(dir, 'oldlayout'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'oldlayout', 'manifest.json'), '{}');
  const paths: string[] = [];
  for (let i = 0; i < 6; i++) {
    const c = cachedModel(dir, gguf(`p${i}.gguf`), { first: 0, end: 1 }, {}, stand().build);
    paths.push(path.dirname(c.modelPath));
    const t = new Date(Date.now() - (10 - i) * 1000);
    fs.utimesSync(path.join(paths[i]!, 'used'), t, t);
  }
  const left = fs.readdirSync(dir).sort();
  assert.deepEqual(
    left,
    paths
      .slice(2)
      .map((p) => path.basename(p))
      .sort(),
  );
});
