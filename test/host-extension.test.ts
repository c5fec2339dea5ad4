// The extension host logic against the typed `vscode` stand-in (test/vscode-stand-in.ts): lazy
// activation, contributed vs registered commands, the chat panel (CSP, resource roots, ready
// handshake, validation of webview messages, streamed answers with stats, abort, prefix reuse),
// the status bar, the cache visualizer's replay after being hidden, Summarize Selection in parts
// (the context map-reduce summarizer in the worker) with the covered lines stated, its stats and
// live cache snapshots, model errors and Select Model…. Uses the real bundles
// (esbuild → dist/) and SmolLM2 set as podlens.model.path (faster than the development model).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installVscodeStandIn, standIn, StandInMemento, StandInPanel, Uri, ViewColumn } from './vscode-stand-in';
import { modelPath, ROOT, SMOLLM2 } from './helpers';
import type { PodLensApi } from '../src/extension';
import type * as vscode from 'vscode';

installVscodeStandIn();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- after the hook, so `vscode` resolves to the stand-in
const ext = require('../src/extension') as typeof import('../src/extension');

interface Frame {
  kind: string;
  topic?: string;
  data?: Record<string, unknown>;
  id?: number;
  ok?: boolean;
  result?: Record<string, unknown>;
  error?: string;
}
const frames = (p: StandInPanel): Frame[] => p.webview.posted as Frame[];
const events = (p: StandInPanel, topic: string): Record<string, unknown>[] =>
  frames(p)
    .filter((f) => f.topic === topic)
    .map((f) => f.data!);

async function until(what: string, cond: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms; // watchdog only: fails a hang, never a slow machine's normal run
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let api: PodLensApi;
const context = {
  subscriptions: [] as { dispose(): unknown }[],
  extensionUri: Uri.file(ROOT),
  extensionPath: ROOT,
  globalStorageUri: Uri.file(fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-storage-'))),
  workspaceState: new StandInMemento(),
};

before(() => {
  modelPath(SMOLLM2); // fail loudly when the model is missing
  const r = spawnSync(process.execPath, [path.join(ROOT, 'esbuild.mjs')], { cwd: ROOT, stdio: 'inherit' });
  assert.equal(r.status, 0, 'esbuild.mjs failed');
  standIn.reset();
  standIn.setConfig('podlens.model.path', modelPath(SMOLLM2)); // the development model (Qwen 0.5B) is too slow for these tests
  standIn.setConfig('podlens.generation.temperature', 0);
  standIn.setConfig('podlens.generation.maxTokens', 24);
  standIn.setConfig('podlens.engine.contextSize', 1024);
  api = ext.activate(context as unknown as vscode.ExtensionContext);
});
after(() => {
  for (const d of context.subscriptions.splice(0).reverse()) d.dispose();
});

test('activation is cheap and registers exactly the contributed commands', async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    contributes: { commands: { command: string; category: string }[] };
    activationEvents: string[];
    main: string;
  };
  const contributed = pkg.contributes.commands.map((c) => c.command).sort();
  assert.deepEqual([...standIn.commands.keys()].sort(), contributed);
  assert.ok(pkg.contributes.commands.every((c) => c.category === 'PodLens'));
  for (const c of contributed) assert.ok(pkg.activationEvents.includes(`onCommand:${c}`), c);
  assert.equal(pkg.main, './dist/extension.js');
  // The bundle itself loads (externals right) and exports the entry points.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the built bundle is the point
  const bundle = require(path.join(ROOT, 'dist/extension.js')) as { activate?: unknown; deactivate?: unknown };
  assert.equal(typeof bundle.activate, 'function');
  assert.equal(typeof bundle.deactivate, 'function');
  // Nothing loaded, no worker started, no panel opened.
  assert.equal(api.core.model.status.state, 'none');
  assert.equal((api.core.client as unknown as { worker: unknown }).worker, null);
  assert.equal(standIn.panels.length, 0);
  assert.equal(standIn.progress.length, 0);
  assert.match(api.statusBar.text, /PodLens/);
});

let chat: StandInPanel;

test('Open Chat: a singleton panel with a nonce CSP, limited resource roots, and nothing posted before ready', async () => {
  await standIn.commands.get('podlens.openChat')!();
  await standIn.commands.get('podlens.openChat')!();
  assert.equal(standIn.panels.length, 1);
  chat = standIn.panels[0]!;
  assert.equal(chat.viewType, 'podlens.chat');
  assert.equal(chat.revealed, 1);
  // No editor open yet: the panel takes the empty active group instead of leaving it empty beside it.
  assert.equal(chat.requestedColumn, ViewColumn.Active);
  assert.equal(chat.options.enableScripts, true);
  assert.deepEqual(
    chat.options.localResourceRoots?.map((u) => u.fsPath),
    [path.join(ROOT, 'dist/webview'), path.join(ROOT, 'media')],
  );
  const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(chat.webview.html)?.[1];
  assert.ok(nonce && nonce.length >= 22, 'a CSP nonce');
  assert.match(
    chat.webview.html,
    new RegExp(`<script nonce="${nonce.replace(/[+/]/g, '\\$&')}" src="[^"]*/dist/webview/chat\\.js">`),
  );
  assert.match(chat.webview.html, /default-src 'none'/);
  assert.doesNotMatch(chat.webview.html, /unsafe-inline|unsafe-eval/);
  assert.equal(frames(chat).length, 0, 'nothing before ready');
  chat.webview.send({ kind: 'ready', view: 'chat' });
  assert.deepEqual(
    frames(chat).map((f) => f.topic),
    ['model/status', 'chat/transcript', 'chat/context'],
  );
});

test('malformed webview messages are logged and rejected, never handled', () => {
  const before = frames(chat).length;
  const bad = [
    { kind: 'request', id: 1, method: 'chat/send', params: { text: 42 } },
    { kind: 'request', id: 1, method: 'workspace/deleteAll', params: {} },
    { kind: 'ready', view: 'visualizer' },
    'ready',
    { kind: 'abort', id: 'all' },
  ];
  for (const m of bad) chat.webview.send(m);
  assert.equal(frames(chat).length, before, 'no response to malformed messages');
  assert.equal(
    standIn.log.filter((l) => /chat: (malformed message rejected|ready from a 'visualizer' webview rejected)/.test(l))
      .length,
    bad.length,
  );
  assert.equal(api.chat.session.turns.length, 0);
});

test('chat/send loads the model on first use and streams an answer with its stats', async () => {
  chat.webview.send({
    kind: 'request',
    id: 7,
    method: 'chat/send',
    params: { text: 'What is the capital of France?' },
  });
  await until('the response', () => frames(chat).some((f) => f.kind === 'response' && f.id === 7));
  assert.deepEqual(standIn.progress, ['PodLens: loading SmolLM2-135M-Instruct.Q4_1.gguf…']);
  const res = frames(chat).find((f) => f.kind === 'response' && f.id === 7)!;
  assert.equal(res.ok, true, res.error);
  const turns = events(chat, 'chat/turn');
  assert.deepEqual(
    turns.map((t) => t.role),
    ['user', 'assistant'],
  );
  const answerId = turns[1]!.id;
  const streamed = events(chat, 'chat/delta')
    .filter((d) => d.turnId === answerId)
    .map((d) => d.text)
    .join('');
  assert.ok(events(chat, 'chat/delta').length > 1, 'streamed in pieces');
  assert.match(streamed, /Paris/);
  const finish = events(chat, 'chat/finish').at(-1)!;
  const stats = finish.stats as Record<string, number>;
  assert.equal(finish.status, 'done');
  assert.ok(stats.ttftMs! > 0 && stats.decodeTokensPerSecond! > 0 && stats.contextSize === 1024);
  assert.equal(api.chat.session.turns[1]!.text, streamed);
  // Model status went loading → ready → generating → ready; the status bar shows the speed.
  const states = events(chat, 'model/status').map((s) => s.state);
  assert.deepEqual(states.slice(-4), ['loading', 'ready', 'generating', 'ready']);
  assert.match(api.statusBar.text, /\$\(check\) PodLens · \d+\.\d tok\/s · ctx \d+%/);
  assert.equal(standIn.contextKeys.get('podlens.generating'), false);
});

test('a follow-up reuses the cached conversation; abort stops an answer', async () => {
  chat.webview.send({ kind: 'request', id: 8, method: 'chat/send', params: { text: 'And of Italy?' } });
  await until('response 8', () => frames(chat).some((f) => f.id === 8));
  const r8 = frames(chat).find((f) => f.id === 8)!;
  assert.ok((r8.result!.stats as Record<string, number>).reusedTokens! > 10);

  standIn.setConfig('podlens.generation.maxTokens', 300);
  const n = events(chat, 'chat/delta').length;
  chat.webview.send({ kind: 'request', id: 9, method: 'chat/send', params: { text: 'Tell me a long story.' } });
  await until('streaming', () => events(chat, 'chat/delta').length > n + 3);
  chat.webview.send({ kind: 'abort', id: 9 });
  await until('response 9', () => frames(chat).some((f) => f.id === 9));
  assert.equal(frames(chat).find((f) => f.id === 9)!.result!.status, 'stopped');
  standIn.setConfig('podlens.generation.maxTokens', 24);
});

test('the visualizer replays the host state on ready, also after being hidden', async () => {
  await standIn.commands.get('podlens.openVisualizer')!();
  const vis = standIn.panels.find((p) => p.viewType === 'podlens.visualizer')!;
  assert.equal(vis.requestedColumn, ViewColumn.Beside, 'beside the chat');
  assert.equal(frames(vis).length, 0);
  vis.webview.send({ kind: 'ready', view: 'visualizer' });
  const view = events(vis, 'cache/view')[0]!.view as Record<string, number>;
  assert.equal(view.kind, 'full');
  assert.equal(view.nLayers, 30);
  assert.equal(view.tokens, api.core.cache.current.view!.tokens);

  vis.setVisible(false);
  const posted = frames(vis).length;
  await standIn.commands.get('podlens.stopGeneration')!(); // nothing running: says so
  assert.match(standIn.messages.at(-1)!.text, /nothing is generating/);
  chat.webview.send({ kind: 'request', id: 10, method: 'chat/send', params: { text: 'Thanks!' } });
  await until('response 10', () => frames(chat).some((f) => f.id === 10));
  assert.equal(frames(vis).length, posted, 'hidden: nothing posted');
  vis.setVisible(true);
  vis.webview.send({ kind: 'ready', view: 'visualizer' });
  const replay = events(vis, 'cache/view').at(-1)!.view as Record<string, number>;
  assert.equal(replay.tokens, api.core.cache.current.view!.tokens);
  assert.ok(replay.tokens > view.tokens);
});

test('Summarize Selection covers a long selection in parts and says which lines it covered', async () => {
  standIn.setConfig('podlens.engine.contextSize', 512); // forces parts; also reloads the model
  standIn.setConfig('podlens.summarize.maxTokens', 32);
  const lines = Array.from(
    { length: 60 },
    (_, i) => `Line ${i + 1}: the ${['red', 'green', 'blue'][i % 3]} fox number ${i + 1} jumps over fence ${i * 7}.`,
  );
  const text = `${lines.join('\n')}\n`;
  const doc = { uri: Uri.file(path.join(ROOT, 'notes.txt')), getText: () => text };
  standIn.workspaceFolder = Uri.file(ROOT);
  // The file is open over the chat, in the chat's group: the chat comes back beside it.
  const chatPanel = standIn.panels.find((p) => p.viewType === 'podlens.chat' && !p.disposed)!;
  chatPanel.setVisible(false);
  standIn.activeTextEditor = {
    document: doc,
    selection: { isEmpty: false, start: { line: 9 } },
    viewColumn: chatPanel.viewColumn,
  };
  const turnsBefore = api.chat.session.turns.length;
  const views: { session: string | null; tokens: number }[] = [];
  const sub = api.core.cache.onChange((v) => views.push({ session: v.session, tokens: v.view?.tokens ?? 0 }));
  try {
    await standIn.commands.get('podlens.summarizeSelection')!();
  } finally {
    sub.dispose();
  }
  assert.deepEqual(chatPanel.revealedTo.slice(-1), [ViewColumn.Beside]);
  chatPanel.webview.send({ kind: 'ready', view: 'chat' }); // a webview shown again loads again
  assert.notEqual(chatPanel.viewColumn, (standIn.activeTextEditor as { viewColumn: number }).viewColumn);
  const [user, answer] = api.chat.session.turns.slice(turnsBefore);
  assert.equal(user!.text, 'Summarize selection (lines 10–69 of notes.txt)');
  assert.equal(answer!.status, 'done', answer!.error);
  assert.ok(answer!.text.trim().length > 0);
  // The one map-reduce summarizer (src/context/summarize.ts) in the worker: parts, then combined.
  const parts = Number(
    /^Covered all of notes\.txt \(lines 10–69, \d+ tokens\) in (\d+) parts\.$/.exec(answer!.note!)?.[1],
  );
  assert.ok(parts >= 3, answer!.note);
  // Like a chat answer: the turn has stats (the last step, bounded by podlens.summarize.maxTokens)
  // and the visualizer followed the summary's cache live (at least each part's final state).
  const st = answer!.stats;
  assert.ok(st && st.generatedTokens > 0 && st.generatedTokens <= 32, JSON.stringify(st));
  assert.equal(st.contextSize, 512);
  const live = views.filter((v) => v.session !== null); // null: cleared while the model reloaded
  assert.ok(live.length >= parts && live.every((v) => v.session === 'summarize'), JSON.stringify(views));
  assert.equal(api.core.cache.current.session, 'summarize');
  assert.equal(api.core.cache.current.view!.tokens, st.contextTokens);
  assert.equal(standIn.progress.length, 2, 'the context change reloaded the model once');
});

test('Summarize Selection with no selection, and a missing model file, say what to do', async () => {
  standIn.activeTextEditor = undefined;
  await standIn.commands.get('podlens.summarizeSelection')!();
  assert.match(standIn.messages.at(-1)!.text, /select some text/);

  standIn.setConfig('podlens.model.path', '/nonexistent/model.gguf');
  chat.webview.send({ kind: 'request', id: 11, method: 'chat/send', params: { text: 'hi' } });
  await until('response 11', () => frames(chat).some((f) => f.id === 11));
  const last = api.chat.session.turns.at(-1)!;
  assert.equal(last.status, 'error');
  assert.match(last.error!, /nonexistent.*Select Model/);
  assert.equal(api.core.model.status.state, 'error');
  assert.ok(standIn.messages.some((m) => m.level === 'error' && m.items.includes('Select Model…')));
  assert.match(api.statusBar.text, /\$\(error\) PodLens/);
});

test('Select Model… stores the chosen file; the next use loads it (with the KV cache from settings)', async () => {
  standIn.setConfig('podlens.kv.cache', 'pod');
  standIn.setConfig('podlens.kv.sinks', 4);
  standIn.setConfig('podlens.kv.recent', 12);
  standIn.openDialogAnswer = [Uri.file(modelPath(SMOLLM2))];
  standIn.quickPickAnswer = (items) => items.find((i) => i.label.includes('Browse…'));
  await standIn.commands.get('podlens.selectModel')!();
  assert.deepEqual(
    standIn.quickPicks
      .at(-1)!
      .items.slice(0, 2)
      .map((i) => i.label),
    ['$(folder-opened) Browse…', '$(cloud-download) Download Recommended Model…'],
  );
  assert.equal(standIn.config.get('podlens.model.path'), modelPath(SMOLLM2));
  chat.webview.send({ kind: 'request', id: 12, method: 'chat/send', params: { text: 'hi' } });
  await until('response 12', () => frames(chat).some((f) => f.id === 12));
  assert.equal(api.chat.session.turns.at(-1)!.status, 'done');
  assert.equal(api.core.model.status.state, 'ready');
  assert.match(api.core.model.status.message ?? '', /^KV cache: PoD scores \(sinks 4, recent 12/);
  const view = api.core.cache.current.view!;
  assert.equal(view.kind, 'pod');
  assert.ok(view.blocks > 0 && view.savedPercent >= 0);
});

test('closing the chat panel keeps the transcript; reopening replays it', async () => {
  chat.dispose();
  assert.equal(api.chat.panel, null);
  await standIn.commands.get('podlens.openChat')!();
  const again = standIn.panels.at(-1)!;
  assert.notEqual(again, chat);
  again.webview.send({ kind: 'ready', view: 'chat' });
  const replay = events(again, 'chat/transcript')[0]!.turns as unknown[];
  assert.equal(replay.length, api.chat.session.turns.length);
  assert.ok(replay.length >= 10);
  again.webview.send({ kind: 'request', id: 1, method: 'chat/clear', params: {} });
  await until('cleared', () => frames(again).some((f) => f.kind === 'response' && f.id === 1));
  assert.equal(api.chat.session.turns.length, 0);
  assert.deepEqual(events(again, 'chat/transcript').at(-1), { turns: [] });
});
