// Model management in the host against the typed `vscode` stand-in: Select Model… lists the GGUF
// files discovery finds (a fake LM Studio tree under a temporary HOME, PodLens' own downloads
// first, .partial files never), refuses a file whose header does not parse, offers Browse… and
// Download; Download Recommended Model runs behind a cancellable progress notification (from a
// local 127.0.0.1 server), resumes after Cancel, reports a sha256 mismatch and offers to use the
// model; with the real catalog it offers the four Qwen models, the largest that fits the (given)
// free memory first, and says which do not fit. No engine is started.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installVscodeStandIn, standIn, workspace } from './vscode-stand-in';
import { DownloadServer } from './download-server';
import { modelPath } from './helpers';
import { MODEL_CATALOG, type CatalogModel } from '../src/host/models/model-catalog';

installVscodeStandIn();
/* eslint-disable @typescript-eslint/no-require-imports -- after the hook, so `vscode` resolves to the stand-in */
const { ModelManager } = require('../src/host/models/model') as typeof import('../src/host/models/model');
const { downloadRecommendedModel, USE_MODEL } =
  require('../src/host/models/download-command') as typeof import('../src/host/models/download-command');
const { EngineClient } = require('../src/host/engine-client') as typeof import('../src/host/engine-client');
const { readSettings } = require('../src/host/settings') as typeof import('../src/host/settings');
/* eslint-enable @typescript-eslint/no-require-imports */

const stories = fs.readFileSync(modelPath('stories260K-f32.gguf'));
const server = new DownloadServer(stories);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-host-models-'));
const storage = path.join(tmp, 'globalStorage');
const home = path.join(tmp, 'home');
const lms = path.join(home, '.lmstudio', 'models', 'pub', 'repo');
const log: string[] = [];
let model: InstanceType<typeof ModelManager>;
let catalog: CatalogModel[];

before(async () => {
  for (const k of [
    'HF_HOME',
    'HF_HUB_CACHE',
    'HUGGINGFACE_HUB_CACHE',
    'LLAMA_CACHE',
    'OLLAMA_MODELS',
    'XDG_CACHE_HOME',
  ])
    delete process.env[k];
  process.env.HOME = home; // os.homedir() on Linux
  fs.mkdirSync(lms, { recursive: true });
  fs.writeFileSync(path.join(lms, 'good.gguf'), stories);
  fs.writeFileSync(path.join(lms, 'broken.gguf'), 'GGUF but nothing after it');
  fs.mkdirSync(path.join(storage, 'models'), { recursive: true });
  fs.writeFileSync(path.join(storage, 'models', 'mine.gguf'), stories);
  fs.writeFileSync(path.join(storage, 'models', 'half.gguf.partial'), stories.subarray(0, 100));
  await server.start();
  const client = new EngineClient({ workerPath: '/nonexistent/worker.js' });
  model = new ModelManager(
    tmp,
    client,
    () => readSettings(workspace.getConfiguration('podlens')),
    (l) => log.push(l),
    () => storage,
  );
  catalog = [
    {
      ...MODEL_CATALOG[0]!,
      id: 'tiny',
      label: 'Tiny',
      description: 'test',
      url: server.url('/model.gguf'),
      file: 'tiny.gguf',
      size: stories.length,
      sha256: createHash('sha256').update(stories).digest('hex'),
    },
  ];
  standIn.commands.set('podlens.downloadModel', () => downloadRecommendedModel(model, (l) => log.push(l), catalog));
});
after(async () => {
  model.dispose();
  await server.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  standIn.messages.length = 0;
  standIn.messageAnswers.length = 0;
  standIn.progressReports.length = 0;
  standIn.quickPicks.length = 0;
  server.reset();
});

test('Select Model… lists discovered files by source (PodLens downloads first, no .partial) and stores the pick', async () => {
  const good = path.join(lms, 'good.gguf');
  standIn.quickPickAnswer = (items) => items.find((i) => i.detail === good);
  assert.equal(await model.selectModel(), true);
  assert.equal(standIn.config.get('podlens.model.path'), good);
  assert.deepEqual({ state: model.status.state, model: model.status.model }, { state: 'none', model: 'good.gguf' });
  const items = standIn.quickPicks[0]!.items;
  assert.deepEqual(
    items.map((i) => `${i.kind === -1 ? '--' : ''}${i.label}`),
    [
      '$(folder-opened) Browse…',
      '$(cloud-download) Download Recommended Model…',
      '--PodLens downloads',
      'mine.gguf',
      '--LM Studio',
      '$(warning) pub/repo/broken.gguf',
      'pub/repo/good.gguf',
    ],
  );
  assert.match(items.find((i) => i.label === 'pub/repo/good.gguf')!.description!, /^1\.1 MB · llama, 5 layers$/);
  assert.match(log.at(-1)!, /model discovery: 3 GGUF files/);
  // Shown again, the current model is marked.
  standIn.quickPickAnswer = () => undefined;
  assert.equal(await model.selectModel(), false);
  assert.match(standIn.quickPicks[1]!.items.find((i) => i.detail === good)!.description!, /current$/);
});

test('a file whose header does not parse is refused with the reason; the setting is unchanged', async () => {
  standIn.setConfig('podlens.model.path', undefined);
  standIn.quickPickAnswer = (items) => items.find((i) => i.label.includes('broken.gguf'));
  assert.equal(await model.selectModel(), false);
  assert.equal(standIn.config.get('podlens.model.path'), undefined);
  assert.match(standIn.messages.at(-1)!.text, /cannot load pub\/repo\/broken\.gguf: .*(too small|ends|GGUF)/);
});

test('Download Recommended Model: progress with bytes and rate, sha256-verified file in globalStorage/models, then used', async () => {
  standIn.messageAnswers.push(USE_MODEL);
  assert.equal(await downloadRecommendedModel(model, (l) => log.push(l), catalog), true);
  const dest = path.join(storage, 'models', 'tiny.gguf');
  assert.ok(fs.readFileSync(dest).equals(stories));
  assert.equal(standIn.config.get('podlens.model.path'), dest);
  assert.ok(standIn.progressReports.length >= 1);
  assert.match(standIn.progressReports.at(-1)!.message!, /^1\.1 MB of 1\.1 MB · [\d.]+ MB\/s$/);
  const total = standIn.progressReports.reduce((s, r) => s + (r.increment ?? 0), 0);
  assert.ok(Math.abs(total - 100) < 1e-6, `${total}`);
  assert.match(standIn.messages.at(-1)!.text, /Tiny is downloaded and verified \(sha256\)/);
  // Run again: already there, nothing fetched.
  server.reset();
  standIn.messageAnswers.push(undefined);
  assert.equal(await downloadRecommendedModel(model, () => undefined, catalog), false);
  assert.equal(server.requests.length, 0);
  assert.match(standIn.messages.at(-1)!.text, /already downloaded/);
  fs.rmSync(dest);
});

test('Cancel keeps the partial file and says how to resume; the next run resumes with Range', async () => {
  server.reset({ chunk: 16 * 1024, delayMs: 10 });
  // Press Cancel once some bytes are on disk (a progress report can come before the first byte).
  const part = path.join(storage, 'models', 'tiny.gguf.partial');
  const pressCancel = setInterval(() => {
    if (fs.existsSync(part) && fs.statSync(part).size > 0) standIn.progressCancel.fire();
  }, 5);
  const ok = await downloadRecommendedModel(model, (l) => log.push(l), catalog).finally(() =>
    clearInterval(pressCancel),
  );
  assert.equal(ok, false);
  const have = fs.statSync(part).size;
  assert.ok(have > 0 && have < stories.length);
  assert.match(
    standIn.messages.at(-1)!.text,
    /download cancelled \(.* MB of 1\.1 MB kept\); run "PodLens: Download Recommended Model" again to resume/,
  );
  server.reset();
  standIn.messageAnswers.push(undefined);
  assert.equal(await downloadRecommendedModel(model, () => undefined, catalog), false);
  assert.equal(server.requests[0]!.range, `bytes=${have}-`);
  assert.equal(server.requests[0]!.sent, stories.length - have);
  fs.rmSync(path.join(storage, 'models', 'tiny.gguf'));
});

test('a sha256 mismatch is reported as an error and leaves no file', async () => {
  const bad = [{ ...catalog[0]!, sha256: '0'.repeat(64) }];
  assert.equal(await downloadRecommendedModel(model, () => undefined, bad), false);
  const m = standIn.messages.at(-1)!;
  assert.equal(m.level, 'error');
  assert.match(m.text, /downloading Tiny failed: sha256 of the download is [0-9a-f]{64}, expected 0{64}/);
  assert.ok(!fs.readdirSync(path.join(storage, 'models')).some((f) => f.startsWith('tiny')));
});

test('Select Model… → Download Recommended Model… runs the download command and uses the model', async () => {
  standIn.quickPickAnswer = (items) => items.find((i) => i.label.includes('Download'));
  standIn.messageAnswers.push(USE_MODEL);
  assert.equal(await model.selectModel(), true);
  assert.equal(standIn.config.get('podlens.model.path'), path.join(storage, 'models', 'tiny.gguf'));
});

test('the real catalog: four Qwen models, the largest that fits free memory first and recommended, the others explained; a size-only entry says so', async () => {
  const served = MODEL_CATALOG.map((m) => ({
    ...m,
    url: server.url('/model.gguf'),
    file: `${m.id}.gguf`,
    size: stories.length,
    sha256: undefined,
  }));
  standIn.setConfig('podlens.engine.contextSize', undefined); // automatic: the catalog checks it at min(training context, 4096) = 4096 tokens
  standIn.quickPickAnswer = (items) => items[0];
  standIn.messageAnswers.push(undefined);
  const lines: string[] = [];
  assert.equal(
    await downloadRecommendedModel(
      model,
      (l) => lines.push(l),
      served,
      () => 8 * 2 ** 30,
    ),
    false,
  );
  const pick = standIn.quickPicks.at(-1)!;
  assert.equal(
    pick.placeHolder,
    'Qwen2.5-Coder 3B Instruct (Q4_K_M) is the largest that fits in 8.0 GB of free memory',
  );
  assert.deepEqual(
    pick.items.map((i) => i.label),
    [
      '$(star-full) Qwen2.5-Coder 3B Instruct (Q4_K_M)',
      'Qwen2.5-Coder 0.5B Instruct (Q4_K_M)',
      'Qwen2.5-Coder 1.5B Instruct (Q4_K_M)',
      '$(warning) Qwen2.5-Coder 7B Instruct (Q4_K_M)',
    ],
  );
  assert.deepEqual(
    pick.items.map((i) => i.description!.replace(/^.* download · /, '')),
    [
      '≈4.9 GB RAM at 4096 tokens',
      '≈1.4 GB RAM at 4096 tokens',
      '≈2.8 GB RAM at 4096 tokens',
      '≈10.5 GB RAM at 4096 tokens',
    ],
  ); // model-fit.test.ts's hand-computed totals
  assert.match(pick.items[3]!.detail!, /^Does not fit: needs ≈10\.5 GB at 4096 tokens, only 8\.0 GB free/);
  assert.match(
    lines[0]!,
    /^download: 8\.0 GB free; .*qwen2\.5-coder-3b-instruct-q4_k_m needs ≈4\.9 GB at 4096 tokens \(recommended\), .*7b.* \(does not fit\)$/,
  );
  const dest = path.join(storage, 'models', 'qwen2.5-coder-3b-instruct-q4_k_m.gguf');
  assert.ok(fs.readFileSync(dest).equals(stories), 'the recommended entry was downloaded');
  assert.match(
    standIn.messages.at(-1)!.text,
    /3B Instruct \(Q4_K_M\) is downloaded and verified \(size only: the catalog has no sha256 for it\)\./,
  );
  // Nothing fits in 1 GB: no recommendation, every entry marked, the placeholder says what to do.
  standIn.quickPickAnswer = () => undefined;
  assert.equal(
    await downloadRecommendedModel(
      model,
      () => undefined,
      served,
      () => 2 ** 30,
    ),
    false,
  );
  assert.match(standIn.quickPicks.at(-1)!.placeHolder!, /^None fits in 1\.0 GB of free memory at this context/);
  assert.ok(standIn.quickPicks.at(-1)!.items.every((i) => i.label.startsWith('$(warning) ')));
  fs.rmSync(dest);
});
