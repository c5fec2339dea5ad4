// GGUF header reader against the real stories260K files (v3 and the legacy v1 copy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGUFFile } from '../src/engine/gguf/file';
import { readModelConfig } from '../src/engine/model/config';
import { modelPath } from './helpers';

test('stories260K v3 header parses with the documented shape', () => {
  const f = GGUFFile.open(modelPath('stories260K-f32.gguf'));
  assert.equal(f.header.version, 3);
  const c = readModelConfig(f);
  assert.equal(c.arch, 'llama');
  assert.equal(c.nLayers, 5);
  assert.equal(c.dim, 64);
  assert.equal(c.nHeads, 8);
  assert.equal(c.nKVHeads, 4);
  assert.equal(c.headDim, 8);
  assert.equal(c.ffnDim, 172);
  assert.equal(c.vocabSize, 512);
  assert.equal(f.strings('tokenizer.ggml.tokens')?.length, 512);
  f.close();
});

test('stories260K v1 copy has identical metadata, tensors and tensor bytes', () => {
  const a = GGUFFile.open(modelPath('stories260K-f32.gguf'));
  const b = GGUFFile.open(modelPath('stories260K-f32-ggufv1.gguf'));
  assert.equal(b.header.version, 1);
  // The two files disagree only in descriptive metadata: the v1 copy names the model and says
  // 512 (its real training context), the v3 file says 2048. Everything the forward pass uses is equal.
  const { name: _n1, ctxTrain: _c1, ...ca } = readModelConfig(a);
  const { name: _n2, ctxTrain: _c2, ...cb } = readModelConfig(b);
  assert.deepEqual(cb, ca);
  assert.deepEqual(b.strings('tokenizer.ggml.tokens'), a.strings('tokenizer.ggml.tokens'));
  assert.equal(b.tensors.length, a.tensors.length);
  for (const ta of a.tensors) {
    const tb = b.tensor(ta.name);
    assert.ok(tb, ta.name);
    assert.deepEqual(tb.dims, ta.dims);
    assert.equal(tb.type, ta.type);
    assert.ok(a.readTensorBytes(ta).equals(b.readTensorBytes(tb)), `bytes of ${ta.name}`);
  }
  a.close();
  b.close();
});
