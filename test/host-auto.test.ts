// The model manager under the automatic defaults, against the typed `vscode` stand-in and the real
// engine worker: with podlens.kv.cache and podlens.engine.contextSize unset (auto, 0) the model
// loads with the full cache when it has no profile and PoD when a profile ships next to it, an
// auto-chosen profile of another model falls back to the full cache instead of failing, and the
// status (status bar tooltip, visualizer header via ModelStatus.choice) and the output channel say
// which cache and context were chosen, why, and the memory budget. Small models only.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installVscodeStandIn, standIn, workspace } from './vscode-stand-in';
import { modelPath, ROOT, SMOLLM2 } from './helpers';

installVscodeStandIn();
/* eslint-disable @typescript-eslint/no-require-imports -- after the hook, so `vscode` resolves to the stand-in */
const { ModelManager } = require('../src/host/models/model') as typeof import('../src/host/models/model');
const { EngineClient } = require('../src/host/engine-client') as typeof import('../src/host/engine-client');
const { readSettings } = require('../src/host/settings') as typeof import('../src/host/settings');
const { statusBarText } = require('../src/host/status-bar') as typeof import('../src/host/status-bar');
const { shippedProfilePath } = require('../src/engine/eval/profile') as typeof import('../src/engine/eval/profile');
/* eslint-enable @typescript-eslint/no-require-imports */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-host-auto-'));
/** A real calibration profile of models/SmolLM2-135M-Instruct.Q4_1.gguf. */
const SMOL_PROFILE = path.join(ROOT, 'docs/pod-report/profile-2048.json');
const log: string[] = [];
const client = new EngineClient({ workerPath: path.join(ROOT, 'out/src/worker/main.js') });
let model: InstanceType<typeof ModelManager>;

/** A model file (a symlink to the real one) in a folder of its own. */
function place(name: string, real: string): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'm-'));
  fs.symlinkSync(real, path.join(dir, name));
  return path.join(dir, name);
}

before(() => {
  standIn.reset();
  model = new ModelManager(
    tmp,
    client,
    () => readSettings(workspace.getConfiguration('podlens')),
    (l) => log.push(l),
    () => tmp,
  );
});
after(async () => {
  model.dispose();
  await client.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('defaults, no profile: the full cache and the training context (stories260K, 2048) within the budget; the UI and the log say why', async () => {
  const file = place('stories.gguf', modelPath('stories260K-f32.gguf'));
  standIn.setConfig('podlens.model.path', file);
  await model.ensureLoaded();
  const s = model.status;
  assert.equal(client.info!.kv, 'full cache');
  assert.equal(client.info!.contextSize, 2048);
  assert.equal(s.contextSize, 2048);
  assert.ok(s.choice, 'the status carries the choice');
  assert.equal(
    s.choice.cache,
    'full cache — auto: no PoD profile for this model ("PodLens: Calibrate Model", podlens.kv.profile, or stories.pod-profile.json next to the model)',
  );
  assert.match(
    s.choice.context,
    /^2048 tokens — auto: the model's training context, within the [\d.]+ (MB|GB) memory budget \(60% of [\d.]+ (MB|GB) free\)$/,
  );
  // The budget is 60% of the memory free when the worker loaded (so at most 60% of all memory), and the estimate is within it.
  assert.ok(s.choice.budgetBytes! > 0 && s.choice.budgetBytes! <= 0.6 * os.totalmem());
  assert.ok(s.choice.estimateBytes! > 0 && s.choice.estimateBytes! <= s.choice.budgetBytes!);
  const tip = statusBarText(s, null).tooltip.split('\n');
  assert.ok(tip.includes(`Cache choice: ${s.choice.cache}`), tip.join(' | '));
  assert.ok(tip.includes(`Context size: ${s.choice.context}`), tip.join(' | '));
  assert.match(
    log.at(-1)!,
    /^loaded .*stories\.gguf: .* context 2048 tokens — auto: the model's training context, .*KV full cache: full cache — auto: no PoD profile.*, estimated memory \d+ MB of a \d+ MB budget, \d+ ms$/,
  );
});

test('a profile next to the model: auto loads PoD with it (SmolLM2); a fixed context is said to be the setting', async () => {
  const file = place('smol.gguf', modelPath(SMOLLM2));
  fs.copyFileSync(SMOL_PROFILE, shippedProfilePath(file));
  standIn.setConfig('podlens.model.path', file);
  standIn.setConfig('podlens.engine.contextSize', 1024);
  await model.ensureLoaded();
  const s = model.status;
  assert.match(client.info!.kv, /^PoD scores \(sinks \d+, recent \d+, \d+% shared-key units(, \d+% local units)?\)$/);
  assert.equal(s.choice!.cache, 'PoD — auto: a profile ships next to the model (smol.pod-profile.json)');
  assert.equal(s.choice!.context, '1024 tokens — set by podlens.engine.contextSize');
  assert.equal(s.choice!.budgetBytes, undefined, 'no budget for a fixed context');
  assert.equal(model.cacheChoice()!.kv.profile, shippedProfilePath(file), 'the visualizer shows the profile in use');
  standIn.setConfig('podlens.engine.contextSize', undefined);
});

test('an auto-chosen profile of another model: the full cache instead of a failed load, and the reason', async () => {
  const file = place('stories.gguf', modelPath('stories260K-f32.gguf'));
  fs.copyFileSync(SMOL_PROFILE, shippedProfilePath(file));
  standIn.setConfig('podlens.model.path', file);
  await model.ensureLoaded();
  assert.equal(model.status.state, 'ready');
  assert.equal(client.info!.kv, 'full cache');
  assert.match(
    model.status.choice!.cache,
    /^full cache — auto: stories\.pod-profile\.json could not be used \(profile .*stories\.pod-profile\.json was calibrated for SmolLM2-135M-Instruct\.Q4_1\.gguf/,
  );
  assert.equal(model.cacheChoice()!.kv.kind, 'full', 'what was really loaded');
  assert.equal(standIn.messages.filter((m) => m.level === 'error').length, 0, 'no error shown');
  // An explicit "pod" is not second-guessed: the same refusal fails the load.
  standIn.setConfig('podlens.kv.cache', 'pod');
  standIn.setConfig('podlens.kv.profile', shippedProfilePath(file));
  await assert.rejects(model.ensureLoaded(), (e: unknown) => e instanceof Error && e.name === 'ProfileError');
  standIn.setConfig('podlens.kv.cache', undefined);
  standIn.setConfig('podlens.kv.profile', undefined);
});
