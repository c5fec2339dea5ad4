// The per-operator profile reader of `npm run bench -- --ops` (bench/ops-profile.ts): on events
// written by hand (grouping, run windows, the warm-up left out) and on a real ONNX Runtime profile
// of stories260K (the file format ORT writes, every layer's node in one row).
import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mergePhases, nodeGroup, ProfileEvent, readProfile, summarizeSession } from '../bench/ops-profile';
import { Engine } from '../src/engine/engine';
import { modelPath } from './helpers';

test('nodeGroup drops layer numbers and leaves ORT-made names to their operator', () => {
  assert.equal(nodeGroup('gate_up_17'), 'gate_up');
  assert.equal(nodeGroup('down_3.corr'), 'down.corr');
  assert.equal(nodeGroup('lm_head'), 'lm_head');
  assert.equal(nodeGroup('norm_attn_0'), 'norm_attn');
  assert.equal(nodeGroup('Add_12'), undefined);
  assert.equal(nodeGroup('Mul_39/QuickGeluFusion/'), undefined);
});

test('summarizeSession sums the last runs per phase and leaves the warm-up out', () => {
  const run = (ts: number, dur: number): ProfileEvent => ({ cat: 'Session', name: 'model_run', ts, dur });
  const k = (name: string, op: string, ts: number, dur: number): ProfileEvent => ({
    cat: 'Node',
    name: `${name}_kernel_time`,
    ts,
    dur,
    args: { op_name: op },
  });
  const events: ProfileEvent[] = [
    // warm-up run at 0..1000
    run(0, 1000),
    k('gate_up_0', 'MatMulNBits', 10, 900),
    // prefill at 2000..3000: two layers of gate_up, one ORT-named Add
    run(2000, 1000),
    k('gate_up_0', 'MatMulNBits', 2010, 300),
    k('gate_up_1', 'MatMulNBits', 2400, 300),
    k('Add_7', 'Add', 2800, 100),
    // decode steps at 4000.. and 5000..
    run(4000, 500),
    k('gate_up_0', 'MatMulNBits', 4010, 100),
    k('down_0.corr', 'Gemm', 4200, 50),
    { cat: 'Node', name: 'gate_up_0_fence_before', ts: 4300, dur: 10 },
    run(5000, 500),
    k('gate_up_0', 'MatMulNBits', 5010, 120),
    k('down_0.corr', 'Gemm', 5200, 30),
  ];
  const { prefill, decode } = summarizeSession(events, 1, 2);
  assert.equal(prefill.runs, 1);
  assert.equal(prefill.runMs, 1);
  assert.deepEqual(prefill.rows, [
    { group: 'gate_up', op: 'MatMulNBits', ms: 0.6, nodes: 2 },
    { group: 'Add', op: 'Add', ms: 0.1, nodes: 1 },
  ]);
  assert.ok(Math.abs(prefill.kernelMs - 0.7) < 1e-9);
  assert.equal(decode.runs, 2);
  assert.equal(decode.runMs, 1);
  assert.deepEqual(
    decode.rows.map((r) => [r.group, r.op, Math.round(r.ms * 1000), r.nodes]),
    [
      ['gate_up', 'MatMulNBits', 220, 1],
      ['down.corr', 'Gemm', 80, 1],
    ],
  );
  assert.throws(() => summarizeSession(events, 3, 2), /4 runs, fewer than the 5 measured/);
  const merged = mergePhases([decode, decode]);
  assert.equal(merged.runMs, 2);
  assert.deepEqual(
    merged.rows.map((r) => [r.group, r.nodes]),
    [
      ['gate_up', 2],
      ['down.corr', 2],
    ],
  );
});

test('a real ONNX Runtime profile of stories260K: one row per layer node, kernels within the runs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-ops-'));
  try {
    const engine = await Engine.load(modelPath('stories260K-f32.gguf'), {
      threads: 1,
      contextSize: 64,
      profilePrefix: path.join(dir, 'ort'),
    });
    const layers = engine.decoder.config.nLayers;
    const cache = engine.createCache();
    await engine.decoder.step([1, 403, 407, 261], cache, [3]);
    for (let i = 0; i < 3; i++) await engine.decoder.step([300 + i], cache, [0]);
    engine.decoder.endProfiling();
    await engine.dispose();
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
    assert.equal(files.length, 1);
    const { prefill, decode } = summarizeSession(readProfile(path.join(dir, files[0]!)), 1, 3);
    assert.equal(decode.runs, 3);
    for (const p of [prefill, decode]) {
      assert.ok(p.kernelMs > 0 && p.kernelMs <= p.runMs, `kernels ${p.kernelMs} ms within runs ${p.runMs} ms`);
      const qkv = p.rows.find((r) => r.group === 'qkv');
      assert.ok(qkv, `a qkv row among ${p.rows.map((r) => r.group).join(', ')}`);
      assert.equal(qkv.nodes, layers);
      assert.equal(p.rows.find((r) => r.group === 'lm_head')?.nodes, 1);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
