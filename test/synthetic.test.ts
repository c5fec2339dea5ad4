// Synthetic GGUF models: the declared shape reads back through readModelConfig, tokenizer
// metadata is copied (and padded), weights have the intended statistics for every tensor type,
// K-quant fallbacks match llama.cpp's rules, output is seeded-deterministic, the SmolLM2 and
// Qwen2.5-Coder-0.5B presets reproduce the real files' configs (the Qwen one with the official
// file's Q4_K_M layout), and llama.cpp itself loads and runs the files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeSyntheticModel, llama3RopeFactors, SyntheticOptions } from '../src/engine/gguf/synthetic';
import { GGUFFile } from '../src/engine/gguf/file';
import { dequantizeTensor } from '../src/engine/gguf/tensor-data';
import { fallbackType, GGMLType, TYPE_TRAITS } from '../src/engine/gguf/types';
import { layerTensorNames, readModelConfig } from '../src/engine/model/config';
import { q4kmTensors, QWEN2_5_CODER } from '../src/engine/model/qwen-shapes';
import { modelPath, SMOLLM2 } from './helpers';
import { openLlamaCpp } from './llamacpp';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-synthetic-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function make(opts: Omit<SyntheticOptions, 'path'>): string {
  const p = path.join(tmp, `m${n++}.gguf`);
  makeSyntheticModel({ tokenizerFrom: modelPath('stories260K-f32.gguf'), ...opts, path: p });
  return p;
}
function withFile<T>(p: string, fn: (f: GGUFFile) => T): T {
  const f = GGUFFile.open(p);
  try {
    return fn(f);
  } finally {
    f.close();
  }
}
function stats(x: Float32Array): { mean: number; std: number } {
  let s = 0,
    s2 = 0;
  for (const v of x) {
    s += v;
    s2 += v * v;
  }
  const mean = s / x.length;
  return { mean, std: Math.sqrt(s2 / x.length - mean * mean) };
}

test('tiny llama: config, tensor set and copied tokenizer match the preset', () => {
  const p = make({ preset: 'tiny' });
  withFile(p, (f) => {
    const c = readModelConfig(f);
    assert.deepEqual(
      {
        arch: c.arch,
        nLayers: c.nLayers,
        dim: c.dim,
        nHeads: c.nHeads,
        nKVHeads: c.nKVHeads,
        headDim: c.headDim,
        ffnDim: c.ffnDim,
        vocabSize: c.vocabSize,
        tied: c.tiedEmbeddings,
        bias: c.qkvBias,
        rope: c.ropeStyle,
      },
      {
        arch: 'llama',
        nLayers: 2,
        dim: 64,
        nHeads: 4,
        nKVHeads: 2,
        headDim: 16,
        ffnDim: 96,
        vocabSize: 512,
        tied: true,
        bias: false,
        rope: 'normal',
      },
    );
    const names = ['token_embd.weight', 'output_norm.weight'];
    for (let l = 0; l < 2; l++) names.push(...Object.values(layerTensorNames(l)).filter((x) => !x.endsWith('.bias')));
    assert.deepEqual(f.tensors.map((t) => t.name).sort(), names.sort());
    assert.equal(f.requireTensor('blk.1.attn_k.weight').type, GGMLType.Q8_0);
    assert.deepEqual(f.requireTensor('blk.1.attn_k.weight').dims, [64, 32]);
    assert.deepEqual(f.requireTensor('blk.0.ffn_down.weight').dims, [96, 64]);
    assert.equal(f.requireTensor('blk.0.ffn_norm.weight').type, GGMLType.F32);
    withFile(modelPath('stories260K-f32.gguf'), (s) => {
      for (const [key, value] of s.header.metadata)
        if (key.startsWith('tokenizer.')) assert.deepEqual(f.raw(key), value, key);
    });
  });
});

test('the same seed gives identical bytes; another seed changes the weights only', () => {
  const a = fs.readFileSync(make({ preset: 'tiny', seed: 5 }));
  const b = fs.readFileSync(make({ preset: 'tiny', seed: 5 }));
  const c = fs.readFileSync(make({ preset: 'tiny', seed: 6 }));
  assert.ok(a.equals(b));
  assert.equal(a.length, c.length);
  assert.ok(!a.equals(c));
});

test('weights of every type have mean ≈ 0 and std ≈ 0.02; norms ≈ 1', () => {
  for (const type of TYPE_TRAITS.keys()) {
    const p = make({ preset: 'tiny-k', shape: { nLayers: 1 }, weightType: type, seed: 3 });
    withFile(p, (f) => {
      for (const name of ['blk.0.ffn_up.weight', 'token_embd.weight']) {
        const t = f.requireTensor(name);
        assert.equal(t.type, type, `${name} stored as ${GGMLType[type]}`);
        const { mean, std } = stats(dequantizeTensor(f, t));
        assert.ok(Math.abs(std - 0.02) < 0.002, `${GGMLType[type]} ${name}: std ${std}`);
        assert.ok(Math.abs(mean) < 0.001, `${GGMLType[type]} ${name}: mean ${mean}`);
      }
      const norm = stats(dequantizeTensor(f, f.requireTensor('blk.0.attn_norm.weight')));
      assert.ok(Math.abs(norm.mean - 1) < 0.01 && norm.std < 0.05, `norm ${JSON.stringify(norm)}`);
    });
  }
});

test('qwen2, untied, Q4_K: qwen2.* keys, QKV biases, output.weight, llama.cpp fallback types', () => {
  const p = make({ preset: 'tiny', shape: { arch: 'qwen2', tiedEmbeddings: false }, weightType: GGMLType.Q4_K });
  withFile(p, (f) => {
    const c = readModelConfig(f);
    assert.equal(c.arch, 'qwen2');
    assert.ok(c.qkvBias && !c.tiedEmbeddings && c.ropeStyle === 'neox');
    assert.ok(f.has('qwen2.embedding_length') && !f.has('llama.embedding_length'));
    assert.deepEqual(f.requireTensor('blk.1.attn_v.bias').dims, [32]);
    assert.deepEqual(f.requireTensor('output.weight').dims, [64, 512]);
    // rows of 64 and 96 cannot hold 256-element super-blocks: Q4_K falls back to Q5_0, as in llama.cpp
    assert.equal(f.requireTensor('blk.0.attn_q.weight').type, GGMLType.Q5_0);
    assert.equal(f.requireTensor('blk.0.ffn_down.weight').type, GGMLType.Q5_0);
  });
  assert.equal(fallbackType(GGMLType.Q6_K, 576), GGMLType.Q8_0);
  assert.equal(fallbackType(GGMLType.Q4_K, 1536), GGMLType.Q4_K);
  assert.equal(fallbackType(GGMLType.Q4_0, 48), GGMLType.F16);
});

test('llama rope_freqs carries the Llama 3 factors readModelConfig applies', () => {
  const p = make({ preset: 'tiny-k', shape: { ropeFreqs: true, ropeTheta: 500000 }, weightType: GGMLType.Q6_K });
  withFile(p, (f) => {
    const c = readModelConfig(f);
    assert.deepEqual(c.ropeFreqFactors, llama3RopeFactors(64, 500000));
    assert.equal(c.ropeFreqFactors![0], 1);
    assert.equal(c.ropeFreqFactors![31], 32);
    assert.equal(f.requireTensor('blk.1.ffn_down.weight').type, GGMLType.Q6_K);
  });
  assert.throws(() => make({ shape: { arch: 'qwen2', ropeFreqs: true } }), /llama only/);
  assert.throws(() => make({ shape: { nHeads: 3 } }), /multiple of nKVHeads/);
});

test('vocab larger than the tokenizer is padded with unused [PADi] tokens; smaller is refused', () => {
  const p = make({ preset: 'tiny', shape: { vocabSize: 520 }, version: 1 });
  withFile(p, (f) => {
    assert.equal(f.header.version, 1);
    const tokens = f.strings('tokenizer.ggml.tokens')!;
    assert.equal(tokens.length, 520);
    assert.equal(tokens[519], '[PAD519]');
    assert.equal(f.numbers('tokenizer.ggml.scores')![515], -1000);
    assert.equal(f.numbers('tokenizer.ggml.token_type')![512], 5);
    assert.equal(readModelConfig(f).vocabSize, 520);
  });
  assert.throws(() => make({ shape: { vocabSize: 100 } }), /smaller than the 512 tokens/);
});

test('smollm2-135m preset reproduces the real SmolLM2 config and tokenizer', () => {
  const p = make({ preset: 'smollm2-135m', weightType: GGMLType.Q4_0, tokenizerFrom: modelPath(SMOLLM2) });
  const { name: _a, ...synthetic } = withFile(p, readModelConfig);
  const { name: _b, ...real } = withFile(modelPath(SMOLLM2), readModelConfig);
  assert.deepEqual(synthetic, real);
  withFile(p, (f) =>
    assert.deepEqual(
      f.strings('tokenizer.ggml.merges'),
      withFile(modelPath(SMOLLM2), (r) => r.strings('tokenizer.ggml.merges')),
    ),
  );
});

test("qwen2.5-0.5b preset with Qwen's Q4_K_M mix: the official file's config and layout, tensor for tensor", () => {
  const real = modelPath('qwen2.5-coder-0.5b-instruct.gguf');
  const types = new Map(q4kmTensors(QWEN2_5_CODER['0.5b']).map((t) => [t.name, t.type]));
  const p = make({
    preset: 'qwen2.5-0.5b',
    weightType: GGMLType.Q4_K,
    tensorType: (name) => types.get(name),
    tokenizerFrom: real,
  });
  const rows = (f: GGUFFile): string[] => f.tensors.map((t) => `${t.name} [${t.dims.join(',')}] ${t.type}`).sort();
  withFile(p, (f) =>
    withFile(real, (r) => {
      const { name: _a, ...synthetic } = readModelConfig(f);
      const { name: _b, ...official } = readModelConfig(r);
      assert.deepEqual(synthetic, official);
      assert.deepEqual(rows(f), rows(r));
      assert.equal(f.raw('general.file_type'), r.raw('general.file_type'));
    }),
  );
  // Only the metadata differs (general.* names): the weights take the same bytes.
  assert.ok(Math.abs(fs.statSync(p).size - fs.statSync(real).size) < 4096);
  fs.rmSync(p);
});

test('llama.cpp loads the synthetic files and produces finite, non-degenerate distributions', async () => {
  for (const p of [
    make({ preset: 'tiny', shape: { arch: 'qwen2', tiedEmbeddings: false }, weightType: GGMLType.Q4_K }),
    make({ preset: 'tiny-k', shape: { ropeFreqs: true }, weightType: GGMLType.Q6_K, embeddingType: GGMLType.Q8_0 }),
  ]) {
    const cpp = await openLlamaCpp(p, 512);
    try {
      const lps = await cpp.logProbs([1, 403, 407, 261, 378], 0);
      for (const lp of lps) {
        assert.ok(
          lp.every((v) => Number.isFinite(v)),
          'all 512 log-probs finite',
        );
        const top = Math.max(...lp);
        assert.ok(top < Math.log(0.5) && top > Math.log(1 / 512), `top probability ${Math.exp(top)}`);
      }
      assert.equal((await cpp.greedy([1, 403], 4)).length, 4);
    } finally {
      await cpp.dispose();
    }
  }
});
