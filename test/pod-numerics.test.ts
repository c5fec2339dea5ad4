// Numerics of the attention graphs on the model users run (Qwen2.5-Coder-0.5B), and the guard
// that stops a step producing NaN/∞. Regression for issue 12: `--kv pod` gave perplexity NaN and
// `!!!!` answers on Qwen because ONNX Runtime 1.30's ReduceLogSumExp drops its max shift when a
// row starts with −inf, so a head whose logits all lie below ≈ −104 (Qwen's layer 8 has one:
// −250…−310) got LSE = −inf and a NaN gate. The PoD graph now builds softmax + LSE itself
// (attention-pod.ts softmaxLse). The tests here failed before the fix:
//  - softmaxLse on such rows equals the float64 reference (1e-6 relative);
//  - Qwen: PoD with blocks of one layer equals the full cache in chunked prefill (64-token chunks,
//    the case that was NaN). Tolerance 4e-2 of the position's largest logit, because the fast path
//    rounds activations to int8 and the two graphs sum in different orders: measured 2.55–2.91e-2 with
//    f16 and 2.51e-2 with f32 K/V, while the full cache itself is 3.0e-2 from the exact model
//    (fp32 activations, f32 K/V) on the same tokens. The perplexities agree within 0.2%.
//  - Qwen: every cache kind (full, streaming, PoD, PoD with int8 distant) gives finite logits at
//    every position (perplexities in the log lines; PoD's quality on Qwen is issue 13);
//  - a model with ∞ in one layer's weights stops with NonFiniteError naming the layer, and the
//    cache is unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GraphBuilder } from '../src/engine/onnx/builder';
import { OnnxType } from '../src/engine/onnx/proto';
import { OrtSession } from '../src/engine/onnx/runtime';
import { softmaxLse } from '../src/engine/onnx/attention-pod';
import { GGUFFile } from '../src/engine/gguf/file';
import { readModelConfig } from '../src/engine/model/config';
import { NonFiniteError, OnnxDecoder } from '../src/engine/decoder';
import { KVSpec, resolvePlan } from '../src/engine/kv/plan';
import { createCache } from '../src/engine/kv/create';
import { perplexityFromLogits } from '../src/engine/eval/perplexity';
import { Tokenizer } from '../src/engine/tokenizer';
import { maxRelDiff, modelPath, ROOT, stepLogits } from './helpers';

const QWEN = 'qwen2.5-coder-0.5b-instruct.gguf';

test('softmaxLse: rows that start with −inf and lie far below −104 (where ORT ReduceLogSumExp underflows)', async (t) => {
  const rows = [
    [-Infinity, -251.7, -266.8, -300],
    [-Infinity, -Infinity, -1e4, -1e4 - 1],
    [-1e30, -250, -260],
    [1458, 1000, -Infinity],
    [0, -1, -2],
  ];
  const X = 4;
  const data = new Float32Array(rows.length * X).fill(-Infinity);
  rows.forEach((r, i) => data.set(r, i * X));
  const g = new GraphBuilder('lse');
  const x = g.input('x', OnnxType.FLOAT, [rows.length, X]);
  const { p, lse } = softmaxLse(g, x);
  g.output(g.op1('Identity', [p], {}, { output: 'p' }), OnnxType.FLOAT, [rows.length, X]);
  g.output(g.op1('Identity', [lse], {}, { output: 'lse' }), OnnxType.FLOAT, [rows.length, 1]);
  g.output(g.op1('ReduceLogSumExp', [x], { axes: [-1], keepdims: 1 }, { output: 'ort_lse' }), OnnxType.FLOAT, [
    rows.length,
    1,
  ]);
  const s = await OrtSession.create(g.encode(), { threads: 1 });
  const out = await s.run({ x: { type: 'float32', data, dims: [rows.length, X] } });
  const P = out.p!.data as Float32Array,
    L = out.lse!.data as Float32Array,
    O = out.ort_lse!.data as Float32Array;
  for (let i = 0; i < rows.length; i++) {
    const r = Array.from(data.subarray(i * X, i * X + X));
    const m = Math.max(...r);
    const sum = r.reduce((a, v) => a + Math.exp(v - m), 0);
    const ref = m + Math.log(sum);
    assert.ok(Math.abs(L[i]! - ref) <= 1e-6 * Math.max(1, Math.abs(ref)), `row ${i}: lse ${L[i]} vs ${ref}`);
    for (let j = 0; j < X; j++)
      assert.ok(Math.abs(P[i * X + j]! - Math.exp(r[j]! - m) / sum) <= 1e-6, `row ${i} p[${j}]`);
  }
  // Why the helper exists (not asserted, so an ORT upgrade that fixes it does not fail here).
  t.diagnostic(
    `ORT ReduceLogSumExp on row 0: ${O[0]} (float64 reference ${-251.7 + Math.log(1 + Math.exp(-15.1) + Math.exp(-48.3))})`,
  );
  await s.release();
});

async function qwenDecoder(kv: KVSpec, contextSize: number): Promise<OnnxDecoder> {
  const file = GGUFFile.open(modelPath(QWEN));
  const config = readModelConfig(file);
  return OnnxDecoder.load(file, config, { threads: 2, contextSize, kv: resolvePlan(kv, config, contextSize) });
}

/** Real code from this repo from this repo: stable content the model has never seen. */
function codeIds(n: number): number[] {
  const f = GGUFFile.open(modelPath(QWEN));
  try {
    const tok = Tokenizer.fromGGUF(f);
    const text = ['src/engine/kv/pod.ts', 'src/engine/kv/ring.ts']
      .map((p) => fs.readFileSync(path.join(ROOT, p), 'utf8'))
      .join('\n');
    const ids = tok.encode(text);
    assert.ok(ids.length >= n, `${ids.length} tokens of code, need ${n}`);
    return ids.slice(0, n);
  } finally {
    f.close();
  }
}

test('Qwen2.5-Coder-0.5B: every cache kind is finite; PoD with 1-layer blocks equals the full cache in 64-token chunks', async (t) => {
  const N = 448;
  const ids = codeIds(N);
  const window = { sinks: 16, recent: 48 }; // 64-token window: 384 tokens become distant
  const kinds: [string, KVSpec][] = [
    ['full', { kind: 'full' }],
    ['pod g=1', { kind: 'pod', groupSize: 1, ...window }],
    ['streaming', { kind: 'streaming', ...window }],
    ['pod g=5', { kind: 'pod', groupSize: 5, ...window }],
    ['pod g=5 int8', { kind: 'pod', groupSize: 5, distantQuant: 'int8', ...window }],
  ];
  const ppl = new Map<string, number>();
  let fullRows: Float32Array[] | undefined;
  for (const [name, kv] of kinds) {
    const dec = await qwenDecoder(kv, N);
    let rows: Float32Array[];
    try {
      rows = await stepLogits(dec, ids, 64);
    } finally {
      await dec.dispose();
    }
    for (const [p, r] of rows.entries())
      assert.ok(r.every(Number.isFinite), `${name}: non-finite logits at position ${p}`);
    const r = perplexityFromLogits(rows, ids, 128);
    ppl.set(name, r.perplexity);
    t.diagnostic(`${name}: perplexity ${r.perplexity.toFixed(3)} over ${r.scored} tokens of code`);
    if (name === 'full') fullRows = rows;
    if (name === 'pod g=1') {
      const d = maxRelDiff(rows, fullRows!);
      t.diagnostic(`pod g=1 vs full: max relative logit difference ${d.toExponential(2)}`);
      assert.ok(d <= 4e-2, `pod g=1 differs from the full cache by ${d}`);
    }
  }
  const full = ppl.get('full')!;
  assert.ok(Math.abs(ppl.get('pod g=1')! / full - 1) < 1e-2, `pod g=1 ${ppl.get('pod g=1')} vs full ${full}`);
  // Sharing is lossy on Qwen (uniform 5-layer blocks in scores mode put layer 0's logits, which
  // reach ±1500, in front of layers 1–4: measured perplexity full 13.5, streaming 26.1, PoD g=5 47.7,
  // int8 50.3 on these 448 tokens with a 64-token window);
  // making it good is issue 13. Here: finite, and within a bound that a NaN or a broken mask breaks.
  for (const [name, p] of ppl) assert.ok(p < 8 * full, `${name}: perplexity ${p} vs the full cache's ${full}`);
});

test('a step that produces ∞ stops with NonFiniteError naming the layer and leaves the cache unchanged', async () => {
  const src = modelPath('stories260K-f32.gguf');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-nan-'));
  try {
    const bad = path.join(tmp, 'inf-layer2.gguf');
    fs.copyFileSync(src, bad);
    const f0 = GGUFFile.open(bad);
    const info = f0.requireTensor('blk.2.ffn_down.weight');
    f0.close();
    const fd = fs.openSync(bad, 'r+');
    fs.writeSync(fd, Buffer.from(new Float32Array(info.nElements).fill(3e38).buffer), 0, info.nBytes, info.fileOffset);
    fs.closeSync(fd);
    const file = GGUFFile.open(bad);
    const config = readModelConfig(file);
    for (const kv of [{ kind: 'full' } as KVSpec, { kind: 'pod', groupSize: 2, sinks: 2, recent: 4 } as KVSpec]) {
      const dec = await OnnxDecoder.load(GGUFFile.open(bad), config, {
        threads: 1,
        contextSize: 64,
        kv: resolvePlan(kv, config, 64),
      });
      try {
        const cache = createCache(config, dec.plan, 64);
        await assert.rejects(dec.step([1, 403, 407], cache, [2]), (e: unknown) => {
          assert.ok(e instanceof NonFiniteError, String(e));
          assert.equal(e.layer, 3, e.message);
          assert.match(e.message, /positions 0–2.*layer 3, so in the output of layer 2.*KV cache: .*Nothing was added/);
          return true;
        });
        assert.equal(cache.length, 0);
        assert.equal(cache.snapshot().usedBytes, 0);
      } finally {
        await dec.dispose();
      }
    }
    file.close();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
