// The automatic context size (src/engine/memory.ts autoContextSize; Engine.load with contextSize 0,
// the extension's default podlens.engine.contextSize): the largest context up to the model's
// training context whose memory estimate — weights as ONNX Runtime holds them, the KV cache under
// the chosen plan, runtime — fits 60% of the free memory given. Checked on the real Qwen2.5-Coder-0.5B
// and SmolLM2 files: less free memory gives a smaller context, never above the training context,
// the chosen context is the largest that fits, the cache kind changes it, and a clear refusal when
// not even the smallest context fits. Free memory is passed in, so the results do not depend on this machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine';
import { GGUFFile } from '../src/engine/gguf/file';
import { readModelConfig } from '../src/engine/model/config';
import { resolvePlan } from '../src/engine/kv/plan';
import {
  AUTO_BUDGET_FRACTION,
  AUTO_CONTEXT_STEP,
  AutoContextError,
  autoContextSize,
  estimateForTensors,
  MIN_AUTO_CONTEXT,
} from '../src/engine/memory';
import { describeError } from '../src/host/errors';
import { modelPath, SMOLLM2 } from './helpers';

const MiB = 2 ** 20,
  GiB = 2 ** 30;
const QWEN = modelPath('qwen2.5-coder-0.5b-instruct.gguf');

test('auto context on Qwen2.5-Coder-0.5B: less free memory → a smaller context, never above the 32K training context', () => {
  const f = GGUFFile.open(QWEN);
  try {
    const c = readModelConfig(f);
    assert.equal(c.ctxTrain, 32768);
    const full = (n: number) => resolvePlan({ kind: 'full' }, c, n);
    const small = autoContextSize(f.tensors, c, full, 2.5 * GiB);
    const large = autoContextSize(f.tensors, c, full, 16 * GiB);
    const huge = autoContextSize(f.tensors, c, full, 1024 * GiB);
    assert.equal(small.budgetBytes, Math.floor(2.5 * GiB * AUTO_BUDGET_FRACTION));
    assert.equal(small.limit, 'memory');
    assert.ok(
      small.contextSize >= MIN_AUTO_CONTEXT && small.contextSize < large.contextSize,
      `${small.contextSize} < ${large.contextSize}`,
    );
    assert.equal(small.contextSize % AUTO_CONTEXT_STEP, 0);
    // The largest that fits: the chosen context fits the budget, one step more does not.
    const est = (n: number) => estimateForTensors(f.tensors, c, n, full(n), 2.5 * GiB).totalBytes;
    assert.ok(est(small.contextSize) <= small.budgetBytes);
    assert.ok(est(small.contextSize + AUTO_CONTEXT_STEP) > small.budgetBytes);
    assert.equal(small.estimate.totalBytes, est(small.contextSize));
    for (const a of [large, huge]) {
      assert.equal(a.contextSize, 32768, 'capped at the training context');
      assert.equal(a.limit, 'training');
    }
    // The cache kind counts: with int8 PoD over uniform blocks the same budget holds a longer context
    // (12288 against 4864 tokens at 2.3 GB free; both below the training context).
    const podTight = autoContextSize(
      f.tensors,
      c,
      (n) => resolvePlan({ kind: 'pod', distantQuant: 'int8' }, c, n),
      2.3 * GiB,
    );
    const fullTight = autoContextSize(f.tensors, c, full, 2.3 * GiB);
    assert.equal(podTight.limit, 'memory');
    assert.ok(
      podTight.contextSize > 2 * fullTight.contextSize,
      `PoD ${podTight.contextSize} > 2 × full ${fullTight.contextSize}`,
    );
  } finally {
    f.close();
  }
});

test('auto context: when not even the smallest context fits the budget, the error says so with the numbers', () => {
  const f = GGUFFile.open(QWEN);
  try {
    const c = readModelConfig(f);
    const e = (() => {
      try {
        autoContextSize(f.tensors, c, (n) => resolvePlan({ kind: 'full' }, c, n), 2 * GiB);
        return null;
      } catch (x) {
        return x;
      }
    })();
    assert.ok(e instanceof AutoContextError, String(e));
    assert.equal(e.name, 'InsufficientMemoryError');
    assert.equal(e.minContext, 1024);
    assert.ok(e.estimate.totalBytes > e.budgetBytes);
    assert.match(
      e.message,
      /^not enough memory for an automatic context size: even 1024 tokens need about \d+ MB \(weights \d+ MB held about 1\.75× by ONNX Runtime, KV cache 12 MB, runtime 448 MB\), more than the budget of 1229 MB \(60% of the 2048 MB free\); choose a smaller model, or set a fixed context size, or close other programs$/,
    );
    assert.match(describeError(e), /podlens\.engine\.contextSize and podlens\.kv\.cache/);
  } finally {
    f.close();
  }
});

test('Engine.load with contextSize 0: the context follows free memory (SmolLM2, training context 8192)', async () => {
  // SmolLM2 needs ≈ 634 MB before any KV (weights × 1.75 + runtime); its full f16 cache is 22.5 KB per token,
  // so 60% of 1200 MB holds ≈ 3.8K tokens.
  const tight = await Engine.load(modelPath(SMOLLM2), { contextSize: 0, freeMemoryBytes: 1200 * MiB });
  try {
    assert.ok(tight.autoContext);
    assert.equal(tight.contextSize, tight.autoContext.contextSize);
    assert.ok(tight.contextSize >= 1024 && tight.contextSize < 8192, String(tight.contextSize));
    assert.ok(tight.memory.totalBytes <= tight.autoContext.budgetBytes, 'the loaded estimate is within the budget');
    assert.equal(tight.memory.freeBytes, 1200 * MiB, 'the hard check still compares with all free memory');
  } finally {
    await tight.dispose();
  }
  const roomy = await Engine.load(modelPath(SMOLLM2), { contextSize: 0, freeMemoryBytes: 8 * GiB });
  try {
    assert.equal(roomy.contextSize, 8192);
    assert.equal(roomy.autoContext?.limit, 'training');
  } finally {
    await roomy.dispose();
  }
  await assert.rejects(
    Engine.load(modelPath(SMOLLM2), { contextSize: 0, freeMemoryBytes: 400 * MiB }),
    (e: unknown) => e instanceof AutoContextError && /even 1024 tokens need about \d+ MB/.test(e.message),
  );
  // A fixed context is unaffected by the budget rule: 2048 tokens load in 800 MB although 60% of it is less than the estimate at 8K.
  const fixed = await Engine.load(modelPath(SMOLLM2), { contextSize: 2048, freeMemoryBytes: 800 * MiB });
  try {
    assert.equal(fixed.contextSize, 2048);
    assert.equal(fixed.autoContext, undefined);
  } finally {
    await fixed.dispose();
  }
});
