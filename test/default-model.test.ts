// Where the default model comes from: the CLI's resolution from its own location (never the
// current folder), the error that says how to fetch it, the stderr line; and the extension's
// development model (settings.ts) — Qwen2.5-Coder-0.5B-Instruct in models/ beside the extension.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultModelLine, packageRoots, resolveDefaultModel } from '../src/cli/default-model';
import { DEFAULT_MODEL_FILE, readSettings, resolveModelPath } from '../src/host/settings';
import { ROOT } from './helpers';

const QWEN = path.join('models', 'qwen2.5-coder-0.5b-instruct.gguf');

test('CLI: the model is looked for beside dist/ and out/src/cli/, never in the current folder', () => {
  assert.deepEqual(packageRoots(path.join(ROOT, 'dist')), [ROOT, path.resolve(ROOT, '..', '..')]);
  assert.deepEqual(packageRoots(path.join(ROOT, 'out', 'src', 'cli')), [path.join(ROOT, 'out', 'src'), ROOT]);
  assert.equal(resolveDefaultModel(packageRoots(path.join(ROOT, 'out', 'src', 'cli'))), path.join(ROOT, QWEN));
  const seen: string[] = [];
  assert.equal(
    resolveDefaultModel(['/a', '/b'], (p) => {
      seen.push(p);
      return p === path.join('/b', QWEN);
    }),
    path.join('/b', QWEN),
  );
  assert.deepEqual(seen, [path.join('/a', QWEN), path.join('/b', QWEN)]);
});

test('CLI: a missing default model is one line naming the file and the fetch command, in the PodLens folder', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-nomodel-'));
  try {
    const clone = path.join(tmp, 'clone');
    fs.mkdirSync(path.join(clone, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(clone, 'package.json'), '{}');
    assert.throws(
      () => resolveDefaultModel(packageRoots(path.join(clone, 'dist'))),
      (e: Error) => {
        assert.equal(
          e.message,
          `the default model Qwen2.5-Coder-0.5B-Instruct is missing (${path.join(clone, QWEN)}): ` +
            `run \`bash scripts/fetch-models.sh\` in ${clone}, or give --model FILE`,
        );
        return true;
      },
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('CLI: the stderr line shows the path relative to the current folder only when inside it', () => {
  const file = path.join(ROOT, QWEN);
  assert.equal(defaultModelLine(file, ROOT), `model: Qwen2.5-Coder-0.5B-Instruct (${QWEN}, default)`);
  assert.equal(defaultModelLine(file, path.join(ROOT, 'src')), `model: Qwen2.5-Coder-0.5B-Instruct (${file}, default)`);
  // A folder beside the clone, outside it (not os.tmpdir(): a clone may live under /tmp).
  assert.equal(
    defaultModelLine(file, path.join(ROOT, '..', 'elsewhere')),
    `model: Qwen2.5-Coder-0.5B-Instruct (${file}, default)`,
  );
});

test('extension: with podlens.model.path empty, the development model is Qwen2.5-Coder-0.5B-Instruct beside the extension', () => {
  assert.equal(DEFAULT_MODEL_FILE, QWEN);
  const s = readSettings({ get: () => undefined });
  assert.equal(
    resolveModelPath(s, '/ext', undefined, (p) => p === path.join('/ext', QWEN)),
    path.join('/ext', QWEN),
  );
  assert.equal(
    resolveModelPath(s, '/ext', undefined, () => false),
    null,
    'absent: Select Model… is offered',
  );
  assert.equal(
    resolveModelPath(s, '/ext', undefined, (p) => p.endsWith('SmolLM2-135M-Instruct.Q4_1.gguf')),
    null,
    'SmolLM2 is no longer picked up',
  );
  const set = readSettings({
    get: <T>(k: string) => (k === 'model.path' ? 'models/SmolLM2-135M-Instruct.Q4_1.gguf' : undefined) as T,
  });
  assert.equal(
    resolveModelPath(set, '/ext', '/ws', () => true),
    path.join('/ws', 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf'),
  );
});
