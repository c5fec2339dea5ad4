// The RAM check before loading (src/engine/memory.ts, Engine.load): weights + KV cache at the
// chosen context + runtime overhead against free memory. A model that does not fit is refused
// before any ONNX Runtime work, with the numbers and what would fit (largest context, PoD, a
// smaller model); through the worker the error keeps its name and the host adds the settings.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine, InsufficientMemoryError } from '../src/engine/engine';
import { GGUFFile } from '../src/engine/gguf/file';
import { readModelConfig } from '../src/engine/model/config';
import { estimateMemory, largestFittingContext } from '../src/engine/memory';
import { resolvePlan } from '../src/engine/kv/plan';
import { EngineClient } from '../src/host/engine-client';
import { describeError } from '../src/host/errors';
import { modelPath, ROOT, SMOLLM2 } from './helpers';

const MiB = 2 ** 20;
const smol = modelPath(SMOLLM2);

async function refusal(file: string, o: Parameters<typeof Engine.load>[1]): Promise<InsufficientMemoryError> {
  const t0 = performance.now();
  const e = await Engine.load(file, o).then(
    () => null,
    (x: unknown) => x,
  );
  assert.ok(e instanceof InsufficientMemoryError, String(e));
  assert.ok(performance.now() - t0 < 10_000, 'refused before building the model');
  return e;
}

test('SmolLM2 at 8K tokens in 700 MB: refused with the numbers, the largest context that fits, and PoD', async () => {
  const e = await refusal(smol, { contextSize: 8192, freeMemoryBytes: 700 * MiB });
  const est = e.estimate;
  assert.equal(est.freeBytes, 700 * MiB);
  assert.equal(
    est.kvBytes,
    2 * 30 * 3 * 64 * 2 * 8192,
    'full cache, f16: 2 × layers × KV heads × head dim × 2 bytes × tokens',
  );
  assert.ok(est.totalBytes > est.freeBytes);
  const f = GGUFFile.open(smol);
  const c = readModelConfig(f);
  const plan = resolvePlan({ kind: 'full' }, c, 8192);
  const fits = largestFittingContext(est, c, plan, 8192);
  assert.ok(fits >= 16 && fits < 8192);
  assert.ok(estimateMemory(f, c, fits, plan, 700 * MiB).totalBytes <= 700 * MiB);
  assert.ok(estimateMemory(f, c, fits + 1, plan, 700 * MiB).totalBytes > 700 * MiB);
  f.close();
  const mb = (b: number): string => `${Math.round(b / MiB)} MB`;
  assert.match(
    e.message,
    new RegExp(
      `needs about ${mb(est.totalBytes)} \\(weights ${mb(est.weightBytes)} .*KV cache ${mb(est.kvBytes)} at 8192 tokens, runtime 448 MB\\) but only 700 MB of this machine's ${mb(os.totalmem())} is free`,
    ),
  );
  assert.match(
    e.message,
    new RegExp(
      `choose a context of at most ${fits} tokens, or the PoD KV cache \\(KV \\d+ MB at 8192 tokens\\), or a smaller model, or close other programs$`,
    ),
  );
  // The host adds where to change it.
  const shown = describeError(e);
  assert.match(shown, /podlens\.engine\.contextSize and podlens\.kv\.cache/);
  assert.match(shown, /Select Model…|Download Recommended Model/);
});

test('weights that alone do not fit say so', async () => {
  const e = await refusal(smol, { contextSize: 1024, freeMemoryBytes: 100 * MiB });
  assert.match(e.message, /the weights alone do not fit: choose .*a smaller model/);
  assert.doesNotMatch(e.message, /context of at most/);
});

test('against the real free memory: a context larger than this machine is refused (no "close other programs")', async () => {
  // stories260K's full f16 cache is 640 bytes per token: 2^26 tokens need ~43 GB of KV alone.
  const tokens = Math.max(2 ** 26, Math.ceil((os.totalmem() * 2) / 640));
  const e = await refusal(modelPath('stories260K-f32.gguf'), { contextSize: tokens });
  assert.ok(e.estimate.freeBytes > 0 && e.estimate.freeBytes <= os.totalmem());
  assert.ok(e.estimate.totalBytes > e.estimate.machineBytes);
  assert.doesNotMatch(e.message, /close other programs/);
  assert.match(e.message, /context of at most \d+ tokens/);
});

const client = new EngineClient({ workerPath: path.join(ROOT, 'out/src/worker/main.js') });
after(() => client.dispose());

test('through the engine worker the refusal keeps its name and message', async () => {
  const e = await client.load(modelPath('stories260K-f32.gguf'), { contextSize: 2 ** 27 }).then(
    () => null,
    (x: unknown) => x,
  );
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'InsufficientMemoryError');
  assert.match(
    describeError(e),
    /^not enough memory: the model needs about \d+ MB .* at 134217728 tokens.*podlens\.engine\.contextSize/,
  );
});
