// The extension's automatic defaults (issue 15 part 3) as the settings give them: podlens.kv.cache
// `auto` = PoD with the model's profile when one exists (podlens.kv.profile, `<model>.pod-profile.json`
// next to the GGUF file, or one the extension ships in models/ for those bytes), the full cache otherwise (src/host/models/kv-choice.ts),
// and podlens.engine.contextSize 0 = automatic. Checked on real model files and a real SmolLM2
// profile: which cache the engine really builds, and the words the UI shows. The automatic context
// itself: memory-auto.test.ts; the status bar and the fallback when a profile is refused: host-auto.test.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultProfileFor, loadProfile, shippedProfilePath } from '../src/engine/eval/profile';
import { chooseKV, contextReason } from '../src/host/models/kv-choice';
import { readSettings } from '../src/host/settings';
import { kvChoice } from '../src/cli/commands';
import { EngineSessions } from '../src/worker/sessions';
import { engineKV } from '../src/worker/jobs';
import { modelPath, ROOT, SMOLLM2 } from './helpers';

const GiB = 2 ** 30;
const QWEN = modelPath('qwen2.5-coder-0.5b-instruct.gguf');
/** A real calibration profile of models/SmolLM2-135M-Instruct.Q4_1.gguf (its sha256 is in the file). */
const SMOL_PROFILE = path.join(ROOT, 'docs/pod-report/profile-2048.json');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-auto-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The contributed defaults of package.json, as the settings reader sees them. */
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, { default: unknown }> } };
};
const defaults = Object.fromEntries(
  Object.entries(pkg.contributes.configuration.properties).map(([k, v]) => [k.replace(/^podlens\./, ''), v.default]),
);
const config = (over: Record<string, unknown> = {}) => ({
  get: <T>(k: string): T | undefined => (({ ...defaults, ...over }) as Record<string, unknown>)[k] as T | undefined,
});

/** A symlink to `real` under another name in a folder of its own (a user's copy). */
const renamedCopy = (real: string): string => modelDir('my-model.gguf', real);

/** A model file in its own folder (a symlink to the real one), optionally with a profile beside it. */
function modelDir(name: string, real: string, profile?: string): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'm-'));
  const file = path.join(dir, name);
  fs.symlinkSync(real, file);
  if (profile) fs.copyFileSync(profile, shippedProfilePath(file));
  return file;
}

test('defaults: podlens.kv.cache is auto and podlens.engine.contextSize is 0 (automatic)', () => {
  const s = readSettings(config());
  assert.deepEqual(s.kv, { kind: 'auto', mode: 'scores' });
  assert.equal(s.contextSize, 0);
  assert.equal(
    shippedProfilePath('/m/qwen2.5-coder-0.5b-instruct.gguf'),
    '/m/qwen2.5-coder-0.5b-instruct.pod-profile.json',
  );
});

test("auto with a profile shipped next to the model: the engine builds PoD with that profile's blocks", async () => {
  const file = modelDir('smol.gguf', modelPath(SMOLLM2), SMOL_PROFILE);
  const c = chooseKV(readSettings(config()).kv, file);
  assert.deepEqual(c.kv, {
    kind: 'pod',
    mode: 'scores',
    profile: path.join(path.dirname(file), 'smol.pod-profile.json'),
  });
  assert.equal(c.reason, 'PoD — auto: a profile ships next to the model (smol.pod-profile.json)');
  const e = await EngineSessions.load(file, { contextSize: 1024, kv: c.kv });
  try {
    const plan = e.engine.decoder.plan;
    assert.equal(plan.kind, 'pod');
    const profile = loadProfile(SMOL_PROFILE, modelPath(SMOLLM2));
    assert.deepEqual(
      plan.kind === 'pod' ? plan.anchors : null,
      profile.anchors,
      'the calibrated blocks, not uniform ones',
    );
    assert.equal(plan.kind === 'pod' ? plan.sinks : -1, profile.sinks);
    assert.match(e.info.kv, /^PoD scores/);
  } finally {
    await e.engine.dispose();
  }
});

test('auto: podlens.kv.profile wins over a shipped profile; a missing one is said; no profile at all → full', () => {
  const file = modelDir('smol.gguf', modelPath(SMOLLM2), SMOL_PROFILE);
  const mine = path.join(tmp, 'mine.pod-profile.json');
  fs.copyFileSync(SMOL_PROFILE, mine);
  const set = chooseKV(readSettings(config({ 'kv.profile': mine, 'kv.distantQuant': 'int8' })).kv, file);
  assert.deepEqual(set.kv, { kind: 'pod', mode: 'scores', profile: mine, distantQuant: 'int8' });
  assert.match(set.reason, /^PoD — auto: podlens\.kv\.profile names a calibrated profile \(mine\.pod-profile\.json\)$/);
  const gone = chooseKV(readSettings(config({ 'kv.profile': path.join(tmp, 'gone.json') })).kv, file);
  assert.equal(gone.kv.profile, shippedProfilePath(file));
  assert.match(
    gone.reason,
    /ships next to the model \(smol\.pod-profile\.json\); podlens\.kv\.profile \(gone\.json\) does not exist$/,
  );
  // The real development model has no profile beside it: the full cache, and the reason says how to get PoD.
  const bare = modelDir('qwen2.5-coder-0.5b-instruct.gguf', QWEN);
  const none = chooseKV(readSettings(config()).kv, bare);
  assert.deepEqual(none.kv, { kind: 'full' });
  assert.match(
    none.reason,
    /^full cache — auto: no PoD profile for this model \("PodLens: Calibrate Model", podlens\.kv\.profile, or qwen2\.5-coder-0\.5b-instruct\.pod-profile\.json next to the model\)$/,
  );
  const noneMissing = chooseKV(readSettings(config({ 'kv.profile': path.join(tmp, 'gone.json') })).kv, bare);
  assert.deepEqual(noneMissing.kv, { kind: 'full' });
  assert.match(noneMissing.reason, /does not exist and no profile ships next to the model$/);
  // Set kinds are taken as they are, shipped profile or not.
  assert.deepEqual(chooseKV(readSettings(config({ 'kv.cache': 'full' })).kv, file).kv, { kind: 'full' });
  assert.deepEqual(chooseKV(readSettings(config({ 'kv.cache': 'pod' })).kv, file).kv, {
    kind: 'pod',
    sinks: 16,
    groupSize: 5,
    mode: 'scores',
  });
});

test('auto and `--kv pod`: the profile PodLens ships in models/ reaches the same model under another name and folder; another size gets none; the same size with other bytes is refused by sha256', () => {
  const bundled = path.join(ROOT, 'models');
  const shipped = path.join(bundled, 'qwen2.5-coder-0.5b-instruct.pod-profile.json');
  // The catalog's file name, in a folder of its own (a download, LM Studio's cache): nothing beside it.
  const renamed = modelDir('qwen2.5-coder-0.5b-instruct-q4_k_m.gguf', QWEN);
  const c = chooseKV(readSettings(config()).kv, renamed, bundled);
  assert.deepEqual(c.kv, { kind: 'pod', mode: 'scores', profile: shipped });
  assert.equal(
    c.reason,
    'PoD — auto: PodLens ships a profile for this model (qwen2.5-coder-0.5b-instruct.pod-profile.json)',
  );
  const built = engineKV(c.kv, renamed);
  assert.equal(built.kind, 'pod');
  assert.deepEqual(built.anchors, loadProfile(shipped, QWEN).anchors, 'the shipped blocks and local units');
  // The CLI's `--kv pod` finds it the same way (this checkout's models/).
  assert.deepEqual(kvChoice({ model: renamed, kv: 'pod' }).kv.anchors, built.anchors);
  // Another model (another size): no bundled profile, the full cache.
  assert.deepEqual(chooseKV(readSettings(config()).kv, modelDir('smol.gguf', modelPath(SMOLLM2)), bundled).kv, {
    kind: 'full',
  });
  // A file of exactly that size with other bytes (a fine-tune of the same shape and quantization)
  // is a candidate by size, and the engine refuses it by sha256 (the host then falls back to full).
  const twin = path.join(fs.mkdtempSync(path.join(tmp, 'twin-')), 'finetune.gguf');
  fs.writeFileSync(twin, '');
  fs.truncateSync(twin, fs.statSync(QWEN).size);
  const t = chooseKV(readSettings(config()).kv, twin, bundled);
  assert.equal(t.kv.profile, shipped);
  assert.throws(
    () => engineKV(t.kv, twin),
    (e: unknown) => e instanceof Error && e.name === 'ProfileError' && /sha256/.test(e.message),
  );
});

test('every profile in models/ loads for the model it names: its size (how auto finds it) and its sha256 match the fetched file', () => {
  const dir = path.join(ROOT, 'models');
  const shipped = fs.readdirSync(dir).filter((n) => n.endsWith('.pod-profile.json'));
  assert.ok(shipped.length >= 2, `profiles: ${shipped.join(', ')}`);
  for (const n of shipped) {
    const file = path.join(dir, n);
    const { model } = JSON.parse(fs.readFileSync(file, 'utf8')) as { model: { file: string; bytes: number } };
    const gguf = modelPath(model.file);
    assert.equal(model.bytes, fs.statSync(gguf).size, `${n}: model.bytes`);
    assert.equal(
      defaultProfileFor(renamedCopy(gguf), [dir])?.file,
      file,
      `${n} is found for its model under another name`,
    );
    assert.equal(loadProfile(file, gguf).kind, 'pod', n);
  }
});

/** The fields of a ModelInfo contextReason does not read. */
const info = {
  name: 'm',
  arch: 'qwen2',
  nLayers: 1,
  nKVHeads: 1,
  headDim: 1,
  kv: 'full cache',
  weightBytes: 0,
  kvBytes: 0,
  loadMs: 0,
};

test('the context line says how the size was chosen: fixed, the training context, or the budget', () => {
  assert.equal(contextReason({ ...info, contextSize: 1024 }), '1024 tokens — set by podlens.engine.contextSize');
  assert.equal(
    contextReason({
      ...info,
      contextSize: 32768,
      trainContext: 32768,
      autoContext: { budgetBytes: 2.4 * GiB, freeBytes: 4 * GiB, limit: 'training' },
    }),
    "32768 tokens — auto: the model's training context, within the 2.4 GB memory budget (60% of 4.0 GB free)",
  );
  assert.equal(
    contextReason({
      ...info,
      contextSize: 18688,
      trainContext: 32768,
      autoContext: { budgetBytes: 1.5 * GiB, freeBytes: 2.5 * GiB, limit: 'memory' },
    }),
    '18688 tokens — auto: the largest that fits the 1.5 GB memory budget (60% of 2.5 GB free); the model was trained for 32768',
  );
});

test('the worker side: a profile next to another model is refused (the host then falls back to full)', () => {
  const file = modelDir('stories.gguf', modelPath('stories260K-f32.gguf'), SMOL_PROFILE);
  const c = chooseKV(readSettings(config()).kv, file);
  assert.equal(c.kv.kind, 'pod');
  assert.throws(
    () => engineKV(c.kv, file),
    (e: unknown) =>
      e instanceof Error &&
      e.name === 'ProfileError' &&
      /was calibrated for SmolLM2-135M-Instruct\.Q4_1\.gguf/.test(e.message),
  );
});
