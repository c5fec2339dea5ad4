// The chat's VS Code side against the typed stand-in (test/vscode-stand-in.ts) with SmolLM2 in the
// engine worker: a transcript saved in workspaceState is replayed on ready (history survives a
// reload) and every answer is saved back; the context chips name the workspace files, the
// editor's file and its selection with the token counts of what went into the prompt, a file over
// the budget is reported as left out, and removing a chip takes it out; Regenerate replaces the
// last answer and the worker reuses the cached prompt (reusedTokens); the code-block actions use
// the host clipboard, insert into the editor the user was last in, and open a new document in
// the fence's language; a link clicked in an answer opens through vscode.env.openExternal only
// when it is https, http or mailto (javascript:, command:, file:, data:, relative… are refused and
// logged); the workspace prefix's KV state is saved in podlens.cache.directory, restored by the
// first answer after a reload (a new engine worker), and deleted by Clear Workspace Cache; New
// chat clears the saved history.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  installVscodeStandIn,
  standIn,
  StandInDocument,
  StandInEditor,
  StandInMemento,
  StandInPanel,
  StandInSelection,
  Uri,
} from './vscode-stand-in';
import { modelPath, ROOT, SMOLLM2 } from './helpers';
import { HISTORY_KEY } from '../src/host/chat/chat-history';
import { STATE_EXT } from '../src/context/persist';
import { workspaceKey } from '../src/context/store';
import type { ChatContextView } from '../src/shared/chat-context';
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
const contexts = (p: StandInPanel): ChatContextView[] => events(p, 'chat/context') as unknown as ChatContextView[];

async function until(what: string, cond: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms; // watchdog only
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let nextId = 100;
async function request(p: StandInPanel, method: string, params: Record<string, unknown>): Promise<Frame> {
  const id = nextId++;
  p.webview.send({ kind: 'request', id, method, params });
  await until(`${method} response`, () => frames(p).some((f) => f.kind === 'response' && f.id === id));
  return frames(p).find((f) => f.kind === 'response' && f.id === id)!;
}

const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-chat-ws-'));
fs.mkdirSync(path.join(ws, 'src'));
fs.writeFileSync(path.join(ws, 'README.md'), '# Tide Tables\nPredicts harbour water levels from tide extremes.\n');
fs.writeFileSync(
  path.join(ws, 'src/predict.ts'),
  'export function predictLevel(t: number): number {\n  return Math.cos(t);\n}\n',
);
fs.writeFileSync(path.join(ws, 'src/big.txt'), 'A long line of harbour records for the archive.\n'.repeat(400));
const doc = new StandInDocument(
  Uri.file(path.join(ws, 'src/predict.ts')),
  fs.readFileSync(path.join(ws, 'src/predict.ts'), 'utf8'),
  'typescript',
);
const editor = new StandInEditor(doc, new StandInSelection({ line: 1, character: 0 }, { line: 2, character: 0 }));

const kvDir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-chat-kv-'));
const states = (): string[] => fs.readdirSync(kvDir).filter((n) => n.endsWith(STATE_EXT));
const memento = new StandInMemento();
const saved = [
  { id: 1, role: 'user', text: 'Earlier question', status: 'done', origin: 'chat' },
  { id: 2, role: 'assistant', text: 'Earlier answer', status: 'done', origin: 'chat' },
];
const context = {
  subscriptions: [] as { dispose(): unknown }[],
  extensionUri: Uri.file(ROOT),
  extensionPath: ROOT,
  globalStorageUri: Uri.file(fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-storage-'))),
  workspaceState: memento,
};
let api: PodLensApi;
let chat: StandInPanel;

before(() => {
  modelPath(SMOLLM2);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'esbuild.mjs')], { cwd: ROOT, stdio: 'inherit' });
  assert.equal(r.status, 0, 'esbuild.mjs failed');
  standIn.reset();
  standIn.setConfig('podlens.model.path', modelPath(SMOLLM2)); // the development model (Qwen 0.5B) is too slow for these tests
  for (const [k, v] of Object.entries({
    'generation.temperature': 0,
    'generation.maxTokens': 16,
    'engine.contextSize': 1024,
    'cache.directory': kvDir,
  }))
    standIn.setConfig(`podlens.${k}`, v);
  standIn.workspaceFolder = Uri.file(ws);
  standIn.activeTextEditor = editor;
  standIn.visibleTextEditors.push(editor);
  void memento.update(HISTORY_KEY, { version: 1, turns: saved });
  api = ext.activate(context as unknown as vscode.ExtensionContext);
});
after(() => {
  for (const d of context.subscriptions.splice(0).reverse()) d.dispose();
  fs.rmSync(ws, { recursive: true, force: true });
});

test('the saved transcript is replayed on ready; the chips show what each would add before a model is loaded', async () => {
  await standIn.commands.get('podlens.openChat')!();
  chat = standIn.panels[0]!;
  standIn.activeTextEditor = undefined; // the chat panel has focus now
  chat.webview.send({ kind: 'ready', view: 'chat' });
  assert.deepEqual(events(chat, 'chat/transcript')[0]!.turns, saved);
  const [wsChip, file, sel] = contexts(chat)[0]!.chips;
  assert.deepEqual([wsChip!.available, file!.label, sel!.label], [true, 'predict.ts', 'Selection (lines 2–2)']);
  assert.equal(wsChip!.tokens, undefined, 'not counted before the model loads');
  assert.equal(contexts(chat)[0]!.meter.window, 0);
});

test('an answer puts the chips into the prompt, counted; the big file is left out and the meter says so', async () => {
  // What the worker's session reports for each block it tokenized (done.blockTokens), beside the blocks sent.
  const client = api.core.client;
  const generate = client.generate.bind(client);
  const runs: { blocks: { path: string; role: string }[]; done: Promise<{ blockTokens?: number[] }> }[] = [];
  client.generate = (p, h) => {
    const run = generate(p, h);
    runs.push({ blocks: p.blocks ?? [], done: run.done });
    return run;
  };
  let r: Frame;
  try {
    r = await request(chat, 'chat/send', { text: 'Which file predicts the water level?' });
  } finally {
    client.generate = generate;
  }
  assert.equal(r.ok, true, r.error);
  const v = contexts(chat).at(-1)!;
  const [wsChip, file, sel] = v.chips;
  assert.equal(wsChip!.files, 1, wsChip!.detail);
  assert.match(wsChip!.detail, /\+ README\.md \(\d+\)/);
  assert.ok(file!.tokens! > 10 && sel!.tokens! > 5 && wsChip!.tokens! > 10);
  assert.match(file!.detail, /placed last/);
  assert.deepEqual(
    v.meter.leftOut.map((l) => l.split(':')[0]),
    ['src/big.txt'],
  );
  assert.equal(v.meter.window, 1024);
  assert.equal(v.meter.reserved, 16);
  const stats = r.result!.stats as Record<string, number>;
  console.log(
    `first answer: ${stats.reusedTokens} tokens reused, ${stats.promptTokens} computed, TTFT ${stats.ttftMs!.toFixed(0)} ms`,
  );
  assert.ok(stats.contextTokens! > wsChip!.tokens! + file!.tokens! + sel!.tokens!, 'the prompt held the chips');
  // The counts shown are the session's: each chip equals the sum of its blocks' token lengths in the engine's prompt.
  const { blocks } = runs.at(-1)!;
  const session = (await runs.at(-1)!.done).blockTokens!;
  assert.equal(session.length, blocks.length);
  const sum = (role: string): number => blocks.reduce((a, b, i) => a + (b.role === role ? session[i]! : 0), 0);
  assert.deepEqual([wsChip!.tokens, file!.tokens, sel!.tokens], [sum('file'), sum('active'), sum('selection')]);
  blocks.forEach((b, i) => {
    if (b.role === 'file') assert.ok(wsChip!.detail.includes(`+ ${b.path} (${session[i]})`), wsChip!.detail);
  });
  console.log(`chips = session block lengths: ${blocks.map((b, i) => `${b.path} ${b.role} ${session[i]}`).join(', ')}`);
  const stored = memento.get<{ turns: { text: string }[] }>(HISTORY_KEY)!.turns;
  assert.equal(stored.length, 4);
  assert.equal(stored[2]!.text, 'Which file predicts the water level?');
});

test('Regenerate replaces the last answer, and the worker reuses the cached prompt', async () => {
  const before = api.chat.session.turns.map((t) => t.id);
  const r = await request(chat, 'chat/regenerate', {});
  assert.equal(r.ok, true, r.error);
  const turns = api.chat.session.turns;
  assert.equal(turns.length, before.length);
  assert.equal(turns.at(-2)!.text, 'Which file predicts the water level?');
  assert.ok(!before.includes(turns.at(-1)!.id), 'a new answer turn');
  const stats = r.result!.stats as Record<string, number>;
  // The same prompt as the dropped answer's: all of it but the last token comes from the cache.
  assert.ok(
    stats.reusedTokens! > 100 && stats.promptTokens! <= 2,
    `reused ${stats.reusedTokens}, computed ${stats.promptTokens}`,
  );
  console.log(
    `regenerate: ${stats.reusedTokens} tokens reused, ${stats.promptTokens} computed, TTFT ${stats.ttftMs!.toFixed(0)} ms`,
  );
  assert.deepEqual(
    events(chat, 'chat/transcript').at(-1)!.turns,
    turns.slice(0, -2).map((t) => ({ ...t })),
  );
});

test("a file created on disk is in the next answer's context (the file watcher invalidates the walk)", async () => {
  fs.writeFileSync(path.join(ws, 'NOTES.md'), 'Spring tides come twice a month.\n');
  standIn.fileChanged.fire(Uri.file(path.join(ws, 'NOTES.md')));
  const r = await request(chat, 'chat/send', { text: 'When are spring tides?' });
  assert.equal(r.ok, true, r.error);
  assert.match(contexts(chat).at(-1)!.chips[0]!.detail, /\+ NOTES\.md/);
});

test('the workspace prefix is saved in podlens.cache.directory, restored after a reload, and Clear Workspace Cache deletes it', async () => {
  assert.equal(states().length, 1, 'one state: this workspace, this model and cache');
  assert.ok(states()[0]!.startsWith(workspaceKey(ws)));
  assert.ok(
    standIn.log.some((l) => /workspace KV state saved: \d+ tokens/.test(l)),
    standIn.log.join('\n'),
  );
  // A window reload: the engine worker is gone; the next answer loads the model in a new one.
  await api.core.client.dispose();
  const log = standIn.log.length;
  const r = await request(chat, 'chat/send', { text: 'When are spring tides?' });
  assert.equal(r.ok, true, r.error);
  const restored = standIn.log
    .slice(log)
    .map((l) => /workspace KV state restored from disk: (\d+) tokens/.exec(l))
    .find((m) => m);
  assert.ok(restored, standIn.log.slice(log).join('\n'));
  const stats = r.result!.stats as Record<string, number>;
  assert.ok(stats.reusedTokens! >= Number(restored[1]) && Number(restored[1]) > 100, `reused ${stats.reusedTokens}`);
  assert.match(
    api.chat.session.turns.at(-1)!.note ?? '',
    /^The workspace context \(\d+ tokens\) was restored from disk, not read again\.$/,
  );
  console.log(
    `after a reload: ${stats.reusedTokens} tokens restored/reused, ${stats.promptTokens} computed, TTFT ${stats.ttftMs!.toFixed(0)} ms`,
  );
  const bytes = fs.statSync(path.join(kvDir, states()[0]!)).size;
  await standIn.commands.get('podlens.clearWorkspaceCache')!();
  const freed = bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
  assert.equal(
    standIn.messages.at(-1)!.text,
    `PodLens: cleared this workspace's cache — 1 file, ${freed} freed (${kvDir}).`,
  );
  assert.deepEqual(fs.readdirSync(kvDir), []);
});

test('removing a chip takes it out of the prompt', async () => {
  const n = contexts(chat).length;
  await request(chat, 'chat/chip', { kind: 'workspace', enabled: false });
  await until('a recount', () => contexts(chat).length > n);
  const v = contexts(chat).at(-1)!;
  assert.equal(v.chips[0]!.enabled, false);
  assert.equal(v.chips[0]!.tokens, undefined);
  assert.deepEqual(v.meter.leftOut, [], 'the workspace files are no longer considered');
  assert.equal(api.chat.prompt.enabled.workspace, false);
});

test("code blocks: Copy uses the host clipboard, Insert writes at the last editor's selection, New File opens the fence language", async () => {
  assert.equal((await request(chat, 'code/copy', { code: 'const x = 1;\n', language: 'ts' })).ok, true);
  assert.equal(standIn.clipboard, 'const x = 1;\n');
  const ins = await request(chat, 'code/insert', { code: '  return 0;\n', language: 'ts' });
  assert.equal(ins.ok, true, ins.error);
  assert.equal(doc.text, 'export function predictLevel(t: number): number {\n  return 0;\n}\n');
  assert.equal(standIn.shown.at(-1)!.document, doc, 'the editor is brought back');
  for (const [fence, lang] of [
    ['py', 'python'],
    ['bash', 'shellscript'],
    ['Rust', 'rust'],
    ['zzz', 'plaintext'],
    [undefined, 'plaintext'],
  ] as const) {
    const o = await request(chat, 'code/open', { code: 'print(1)\n', ...(fence ? { language: fence } : {}) });
    assert.equal(o.ok, true, o.error);
    const shown = standIn.shown.at(-1)!.document as StandInDocument;
    assert.deepEqual([shown.uri.scheme, shown.languageId, shown.text], ['untitled', lang, 'print(1)\n']);
  }
  standIn.visibleTextEditors.length = 0; // the editor was closed
  const none = await request(chat, 'code/insert', { code: 'x' });
  assert.equal(none.ok, false);
  assert.match(none.error!, /open a file in an editor first/);
});

test('links: https, http and mailto open through env.openExternal; other schemes are refused, logged and not opened', async () => {
  standIn.opened.length = 0;
  const open = async (href: string): Promise<Frame> => request(chat, 'link/open', { href });
  const https = await open('https://example.com/a?q=1#top');
  assert.deepEqual([https.ok, https.result], [true, { opened: true }], https.error);
  assert.deepEqual((await open('mailto:tides@example.com')).result, { opened: true });
  assert.deepEqual((await open('HTTP://Example.com')).result, { opened: true });
  assert.deepEqual(standIn.opened, [
    'https://example.com/a?q=1#top',
    'mailto:tides@example.com',
    'http://example.com/',
  ]);
  standIn.openExternalAnswer = false; // the user declined VS Code's trusted-domain prompt
  assert.deepEqual((await open('https://untrusted.example/')).result, { opened: false });
  standIn.openExternalAnswer = true;
  const opened = standIn.opened.length;
  for (const href of [
    'javascript:alert(1)',
    ' JavaScript:alert(1)',
    'java\tscript:alert(1)',
    'command:workbench.action.terminal.new',
    'file:///etc/passwd',
    'data:text/html,<script>alert(1)</script>',
    'vscode://vscode.git/clone?url=x',
    'vscode-webview://x/index.html',
    '/relative/path',
    '//evil.example/x',
    'example.com',
    '#top',
  ]) {
    const r = await open(href);
    assert.equal(r.ok, false, href);
    assert.match(r.error!, /^link not opened: /, href);
    assert.ok(
      standIn.log.some((l) => l.includes('chat: warning: link refused') && l.includes(JSON.stringify(href))),
      `logged: ${href}`,
    );
  }
  assert.equal(standIn.opened.length, opened, 'nothing else was opened');
});

test('New chat clears the transcript and the saved history', async () => {
  await request(chat, 'chat/clear', {});
  assert.deepEqual(memento.get<{ turns: unknown[] }>(HISTORY_KEY)!.turns, []);
  assert.equal(api.chat.session.turns.length, 0);
});
