// The workspace commands against the typed `vscode` stand-in and the real SmolLM2 in the engine
// worker: the contributed commands, menus and settings; Summarize Folder (explorer argument) into
// a markdown document with what it covered and left out; Summarize Workspace cancelled in its
// second part (the partial summary is kept and says so); the chat output; Calibrate Model on a
// sample of the workspace (profile in global storage, podlens.kv.profile set; the default `auto`
// cache then loads the model with the profile's blocks) and cancelled (nothing written); the visualizer's
// heatmap data, throttled live updates and replay; Clear Workspace Cache (only this workspace's
// states, bytes reported).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installVscodeStandIn, standIn, StandInMemento, Uri } from './vscode-stand-in';
import { modelPath, ROOT, SMOLLM2 } from './helpers';
import { saveState, STATE_EXT } from '../src/context/persist';
import { workspaceKey } from '../src/context/store';
import { readWorkspaceSettings } from '../src/host/workspace/workspace-settings';
import { readSettings } from '../src/host/settings';
import type { PodLensApi } from '../src/extension';
import type * as vscode from 'vscode';

installVscodeStandIn();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- after the hook, so `vscode` resolves to the stand-in
const ext = require('../src/extension') as typeof import('../src/extension');

async function until(what: string, cond: () => boolean, ms = 180_000): Promise<void> {
  const end = Date.now() + ms; // watchdog only
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-storage-'));
const context = {
  subscriptions: [] as { dispose(): unknown }[],
  extensionUri: Uri.file(ROOT),
  extensionPath: ROOT,
  globalStorageUri: Uri.file(storage),
  workspaceState: new StandInMemento(),
};
let api: PodLensApi;
let ws = '';
const run = (id: string, ...args: unknown[]): Promise<unknown> => Promise.resolve(standIn.commands.get(id)!(...args));
const lastDoc = (): { text: string; languageId: string } =>
  standIn.shown.at(-1)!.document as { text: string; languageId: string };
const words = ['parser', 'renderer', 'cache', 'network', 'storage', 'scheduler'];

before(() => {
  modelPath(SMOLLM2);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'esbuild.mjs')], { cwd: ROOT, stdio: 'inherit' });
  assert.equal(r.status, 0, 'esbuild.mjs failed');
  // A small workspace: three source files (several context-sized parts each at 512 tokens), and
  // what the walk must leave out.
  ws = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-ws-'));
  for (const [i, name] of ['alpha.ts', 'beta.ts', 'notes/gamma.md'].entries()) {
    fs.mkdirSync(path.dirname(path.join(ws, name)), { recursive: true });
    const lines = Array.from(
      { length: 25 },
      (_, k) =>
        `// ${name} line ${k + 1}: the ${words[(i + k) % words.length]} module handles request ${k * (i + 3)} and logs its status.`,
    );
    fs.writeFileSync(path.join(ws, name), `${lines.join('\n')}\n`);
  }
  fs.mkdirSync(path.join(ws, 'node_modules/dep'), { recursive: true });
  fs.writeFileSync(path.join(ws, 'node_modules/dep/index.js'), 'module.exports = 1;\n');
  fs.writeFileSync(path.join(ws, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]));
  fs.writeFileSync(path.join(ws, 'debug.log'), 'noise\n');
  fs.writeFileSync(path.join(ws, '.gitignore'), 'secret.txt\n');
  fs.writeFileSync(path.join(ws, 'secret.txt'), 'do not read\n');
  standIn.reset();
  standIn.setConfig('podlens.model.path', modelPath(SMOLLM2)); // the development model (Qwen 0.5B) is too slow for these tests
  standIn.workspaceFolder = Uri.file(ws);
  standIn.setConfig('podlens.generation.temperature', 0);
  standIn.setConfig('podlens.engine.contextSize', 512);
  standIn.setConfig('podlens.summarize.maxTokens', 32);
  standIn.setConfig('podlens.context.exclude', ['*.log']);
  api = ext.activate(context as unknown as vscode.ExtensionContext);
});
after(() => {
  for (const d of context.subscriptions.splice(0).reverse()) d.dispose();
});

test('the workspace commands, the folder context menu and the settings are contributed with defaults', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    activationEvents: string[];
    contributes: {
      commands: { command: string; title: string }[];
      menus: Record<string, { command: string; when?: string }[]>;
      configuration: { properties: Record<string, { default: unknown; markdownDescription?: string }> };
    };
  };
  const titles = Object.fromEntries(pkg.contributes.commands.map((c) => [c.command, c.title]));
  for (const [id, title] of [
    ['summarizeFolder', 'Summarize Folder'],
    ['summarizeWorkspace', 'Summarize Workspace'],
    ['calibrateModel', 'Calibrate Model'],
    ['clearWorkspaceCache', 'Clear Workspace Cache'],
  ]) {
    assert.equal(titles[`podlens.${id}`], title);
    assert.ok(pkg.activationEvents.includes(`onCommand:podlens.${id}`));
    assert.ok(standIn.commands.has(`podlens.${id}`), `${id} registered`);
  }
  assert.deepEqual(
    pkg.contributes.menus['explorer/context']!.find((m) => m.command === 'podlens.summarizeFolder'),
    { command: 'podlens.summarizeFolder', when: 'explorerResourceIsFolder', group: 'podlens@1' },
  );
  const props = pkg.contributes.configuration.properties;
  const defaults = Object.fromEntries(Object.entries(props).map(([k, v]) => [k.replace(/^podlens\./, ''), v.default]));
  const config = { get: <T>(k: string): T | undefined => defaults[k] as T | undefined };
  for (const k of [
    'kv.profile',
    'kv.distantQuant',
    'context.include',
    'context.exclude',
    'cache.directory',
    'cache.maxSizeMB',
    'summarize.output',
  ]) {
    assert.ok((props[`podlens.${k}`]?.markdownDescription ?? '').length > 40, `${k} described`);
  }
  // The readers' defaults are the contributed defaults.
  assert.deepEqual(readWorkspaceSettings(config), {
    include: [],
    exclude: [],
    cacheDir: '',
    cacheMaxBytes: 2048 * 2 ** 20,
    summaryOutput: 'document',
  });
  assert.deepEqual(readSettings(config).kv, { kind: 'auto', mode: 'scores' }); // PoD when the model has a profile (settings-auto.test.ts)
  assert.equal(readSettings(config).contextSize, 0); // automatic
  const pod = {
    get: <T>(k: string): T | undefined =>
      (
        ({ ...defaults, 'kv.cache': 'pod', 'kv.profile': '~/p.json', 'kv.distantQuant': 'int8' }) as Record<
          string,
          unknown
        >
      )[k] as T | undefined,
  };
  assert.deepEqual(readSettings(pod).kv, {
    kind: 'pod',
    sinks: 16,
    groupSize: 5,
    mode: 'scores',
    profile: path.join(os.homedir(), 'p.json'),
    distantQuant: 'int8',
  });
});

test('Summarize Folder from the explorer: a markdown document with the summary, coverage and files left out', async () => {
  const reports = standIn.progressReports.length;
  await run('podlens.summarizeFolder', Uri.file(ws));
  const doc = lastDoc();
  assert.equal(doc.languageId, 'markdown');
  assert.match(doc.text, new RegExp(`^# Summary of ${path.basename(ws)}\\n`));
  assert.match(
    doc.text,
    /\*Covered all 3 files \(\d+ tokens\) in \d+ parts\. 2 files left out \(1 binary \(by extension\), 1 ignored \(\.gitignore\)\)\. ?\*/,
  );
  assert.match(
    doc.text,
    /## Files summarized \(3 of 3 read\)\n\n- `alpha\.ts` lines 1–25( — [^\n]+)?\n- `beta\.ts` lines 1–25( — [^\n]+)?\n- `notes\/gamma\.md` lines 1–25( — [^\n]+)?\n$/,
  );
  assert.doesNotMatch(doc.text, /Stopped/);
  const messages = standIn.progressReports.slice(reports).map((r) => r.message ?? '');
  assert.ok(
    messages.some((m) => /^reading files… \d+ seen/.test(m)),
    messages.join(' | '),
  );
  assert.ok(
    messages.some((m) => /^summarizing part 1 of \d+/.test(m)),
    messages.join(' | '),
  );
  assert.equal(api.core.model.status.state, 'ready');
});

test('Summarize Workspace cancelled in its second part keeps the partial summary and says so', async () => {
  const reports = standIn.progressReports.length;
  const shown = standIn.shown.length;
  const done = run('podlens.summarizeWorkspace');
  await until('part 2', () =>
    standIn.progressReports.slice(reports).some((r) => /^summarizing part 2 of/.test(r.message ?? '')),
  );
  standIn.progressCancel.fire();
  await done;
  assert.equal(standIn.shown.length, shown + 1, 'the partial summary is still opened');
  const doc = lastDoc();
  assert.match(
    doc.text,
    /^# Summary of the workspace \(ws\)\n\n> \*\*Stopped before the end\*\* — this summary covers only part of/,
  );
  assert.match(doc.text, /Stopped after 1 of \d+ parts: 0 of 3 files fully covered, alpha\.ts partly\./);
  assert.match(
    standIn.messages.at(-1)!.text,
    /^PodLens: stopped — the summary of the workspace \(ws\) covers only part of it\./,
  );
});

test('Summarize Folder into the chat when podlens.summarize.output is "chat"', async () => {
  standIn.setConfig('podlens.summarize.output', 'chat');
  standIn.setConfig('podlens.context.include', ['notes/**']);
  await run('podlens.summarizeFolder', Uri.file(ws));
  const [user, answer] = api.chat.session.turns.slice(-2);
  assert.equal(user!.text, `Summarize ${path.basename(ws)}`);
  assert.equal(answer!.status, 'done', answer!.error);
  assert.ok(answer!.text.length > 0);
  assert.match(answer!.note ?? '', /^Covered all of notes\/gamma\.md \(lines 1–25, \d+ tokens\) in \d+ parts\./);
  standIn.setConfig('podlens.summarize.output', undefined);
  standIn.setConfig('podlens.context.include', undefined);
});

test('Calibrate Model on a workspace sample writes a profile to global storage and sets podlens.kv.profile', async () => {
  standIn.quickPickAnswer = (items) => items[0];
  await run('podlens.calibrateModel');
  const out = standIn.config.get('podlens.kv.profile') as string;
  assert.equal(path.dirname(out), path.join(storage, 'profiles'));
  assert.match(path.basename(out), /^SmolLM2-135M-Instruct\.Q4_1-ctx512-\d{8}T\d{6}\.pod-profile\.json$/);
  const profile = JSON.parse(fs.readFileSync(out, 'utf8')) as {
    kind: string;
    anchors: number[][];
    contextSize: number;
    texts: unknown[];
  };
  assert.equal(profile.kind, 'podlens-pod-profile');
  assert.equal(profile.contextSize, 512);
  assert.equal(profile.anchors.length, 30);
  assert.ok(profile.texts.length >= 1);
  const msg = standIn.messages.find((m) => /^PodLens: calibrated SmolLM2/.test(m.text))!;
  assert.match(
    msg.text,
    /on \d+ texts in \d+ s — \d+% of \(layer, KV head\) units share an anchor\. Profile saved and set as podlens\.kv\.profile\. The KV cache is "auto": the model loads with PoD and this profile on next use\.$/,
  );
  assert.deepEqual(msg.items, [], 'no switch to offer: auto uses the profile');
  assert.equal(standIn.config.get('podlens.kv.cache'), undefined);
  // The next use loads the model with the profile's blocks, and says why.
  await api.core.model.ensureLoaded();
  assert.equal(api.core.client.info!.kv.startsWith('PoD'), true, api.core.client.info!.kv);
  assert.equal(
    api.core.model.status.choice?.cache,
    `PoD — auto: podlens.kv.profile names a calibrated profile (${path.basename(out)})`,
  );

  // Cancelled while measuring: nothing is written.
  const mtime = fs.statSync(out).mtimeMs;
  const reports = standIn.progressReports.length;
  const done = run('podlens.calibrateModel');
  await until('calibration progress', () =>
    standIn.progressReports.slice(reports).some((r) => /loading the model/.test(r.message ?? '')),
  );
  standIn.progressCancel.fire();
  await done;
  assert.equal(standIn.messages.at(-1)!.text, 'PodLens: calibration cancelled; no profile was written.');
  assert.equal(fs.statSync(out).mtimeMs, mtime);
  assert.deepEqual(fs.readdirSync(path.dirname(out)), [path.basename(out)], 'no other profile written');
});

test('the visualizer shows the calibrated profile (replayed when visible again) and gets throttled live updates', async () => {
  await run('podlens.openVisualizer');
  const vis = standIn.panels.find((p) => p.viewType === 'podlens.visualizer')!;
  type Frame = { kind: string; topic?: string; data?: Record<string, unknown> };
  const events = (topic: string): Record<string, unknown>[] =>
    (vis.webview.posted as Frame[]).filter((f) => f.topic === topic).map((f) => f.data!);
  vis.webview.send({ kind: 'ready', view: 'visualizer' });
  const p = events('cache/profile').at(-1)!.profile as {
    file: string;
    nLayers: number;
    nKVHeads: number;
    inUse: boolean;
    similarity: number[][][];
  };
  assert.equal(p.file, path.basename(standIn.config.get('podlens.kv.profile') as string));
  assert.equal(p.nLayers, 30);
  assert.equal(p.similarity.length, 3);
  assert.equal(p.inUse, true);
  // Live while generating, throttled by the worker (one snapshot per SNAPSHOT_EVERY_MS = 250 ms at most).
  standIn.setConfig('podlens.generation.maxTokens', 64);
  const before = events('cache/view').length;
  const t0 = Date.now();
  const r = await api.chat.session.ask('Write a few sentences about caches.');
  const ms = Date.now() - t0;
  const views = events('cache/view').length - before;
  assert.equal(r.status, 'done');
  assert.ok(views >= 1 && views <= Math.ceil(ms / 250) + 2, `${views} cache views in ${ms} ms`);
  console.log(`# ${views} cache/view events during a ${ms} ms answer`);
  // Hidden: nothing posted; visible again: the state and the profile are replayed.
  vis.setVisible(false);
  const posted = vis.webview.posted.length;
  standIn.setConfig('podlens.kv.distantQuant', 'none'); // a kv setting change re-reads the profile (dropped while hidden)
  assert.equal(vis.webview.posted.length, posted);
  vis.setVisible(true);
  vis.webview.send({ kind: 'ready', view: 'visualizer' });
  assert.deepEqual(
    (vis.webview.posted.slice(posted) as Frame[]).map((f) => f.topic),
    ['model/status', 'cache/view', 'cache/profile'],
  );
  standIn.setConfig('podlens.kv.profile', path.join(storage, 'missing.json'));
  assert.match(
    events('cache/profile').at(-1)!.note as string,
    /^The PoD profile missing\.json cannot be read \(ENOENT\)/,
  );
  standIn.setConfig('podlens.kv.cache', undefined);
  standIn.setConfig('podlens.kv.profile', undefined);
  standIn.setConfig('podlens.generation.maxTokens', undefined);
});

test("Clear Workspace Cache removes only this workspace's KV states and reports the bytes freed", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-kvcache-'));
  standIn.setConfig('podlens.cache.directory', dir);
  const st = {
    kind: 'full',
    dtype: 'f32' as const,
    length: 1,
    ints: Int32Array.of(1),
    buffers: [new Float32Array(1000)],
  };
  const mine = [
    `${workspaceKey(ws)}${'1'.repeat(16)}${STATE_EXT}`,
    `${workspaceKey(ws)}${'1'.repeat(16)}.stable${STATE_EXT}`,
  ];
  const other = `${workspaceKey(path.join(ws, 'elsewhere'))}${'1'.repeat(16)}${STATE_EXT}`;
  const id = { modelSha256: '0'.repeat(64), planHash: '0'.repeat(32) };
  const bytes = [...mine, other].map((n) => saveState(path.join(dir, n), id, [1], st));
  await run('podlens.clearWorkspaceCache');
  assert.equal(
    standIn.messages.at(-1)!.text,
    `PodLens: cleared this workspace's cache — 2 files, ${((bytes[0]! + bytes[1]!) / 1024).toFixed(1)} KB freed (${dir}).`,
  );
  assert.deepEqual(fs.readdirSync(dir), [other]);
  await run('podlens.clearWorkspaceCache');
  assert.equal(standIn.messages.at(-1)!.text, `PodLens: this workspace has nothing cached (${dir}).`);
});

test('a request the worker rejects as malformed fails its call instead of waiting forever', async () => {
  const call = (api.core.client as unknown as { call(m: unknown): Promise<unknown> }).call.bind(api.core.client);
  await assert.rejects(call({ type: 'summarize', id: 987_654, docs: 'not a list', maxTokens: 8 }), (e: Error) => {
    assert.equal(e.name, 'ProtocolError');
    assert.match(e.message, /^malformed message rejected: docs/);
    return true;
  });
});
