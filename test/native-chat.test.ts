// VS Code's own chat served by PodLens, against the typed stand-in (test/vscode-stand-in-chat.ts)
// and SmolLM2: the @podlens participant streams a real answer as markdown, keeps the history
// (prefix reuse), stops when cancelled, reads the workspace for /workspace (one block per file in
// the structured prompt, counted as the session counts them, the prefix reused on a repeat) and
// #file references;
// the "podlens" language-model provider lists the model without loading it, streams text parts,
// honours modelOptions and cancellation, and counts tokens with the model's tokenizer. Both are
// contributed in package.json; on a VS Code without the provider API the extension still
// activates (participant only). Also the message conversions on their own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancellationTokenSource, installVscodeStandIn, LanguageModelTextPart, standIn, Uri } from './vscode-stand-in';
import { chatStandIn, StandInResponseStream } from './vscode-stand-in-chat';
import { modelPath, ROOT, SMOLLM2 } from './helpers';
import { lmMessages, participantPrompt, withModelOptions, withReferences } from '../src/host/chat/native-chat-core';
import { GenerateParams } from '../src/host/engine-client';
import type { LanguageModelChatProvider } from '../src/host/chat/lm-api';
import type { PodLensApi } from '../src/extension';
import type * as vscode from 'vscode';

installVscodeStandIn();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- after the hook, so `vscode` resolves to the stand-in
const ext = require('../src/extension') as typeof import('../src/extension');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- imports vscode: after the hook too
const { languageModelApi } = require('../src/host/chat/lm-api') as typeof import('../src/host/chat/lm-api');

type Handler = (
  r: Partial<vscode.ChatRequest>,
  c: { history: unknown[] },
  s: StandInResponseStream,
  t: vscode.CancellationToken,
) => Promise<vscode.ChatResult>;
let api: PodLensApi;
const memento = (): unknown => {
  const m = new Map<string, unknown>();
  return {
    keys: () => [...m.keys()],
    get: (k: string, d?: unknown) => (m.has(k) ? m.get(k) : d),
    update: (k: string, v: unknown) => {
      m.set(k, v);
      return Promise.resolve();
    },
  };
};
const newContext = () => ({
  subscriptions: [] as { dispose(): unknown }[],
  extensionUri: Uri.file(ROOT),
  extensionPath: ROOT,
  workspaceState: memento(),
  globalState: memento(),
});
let context: ReturnType<typeof newContext>;
const participant = (): Handler => chatStandIn.participants.get('podlens.chat')!.requestHandler as unknown as Handler;
const provider = (): LanguageModelChatProvider => chatStandIn.lmProviders.get('podlens') as LanguageModelChatProvider;
const none = (): vscode.CancellationToken => new CancellationTokenSource().token;
const ask = (
  prompt: string,
  o: Partial<vscode.ChatRequest> = {},
  history: unknown[] = [],
  token = none(),
): Promise<{ r: vscode.ChatResult; s: StandInResponseStream }> => {
  const s = new StandInResponseStream();
  return participant()({ prompt, command: undefined, references: [], ...o }, { history }, s, token).then((r) => ({
    r,
    s,
  }));
};

before(() => {
  modelPath(SMOLLM2);
  standIn.reset();
  standIn.setConfig('podlens.model.path', modelPath(SMOLLM2)); // the development model (Qwen 0.5B) is too slow for these tests
  standIn.setConfig('podlens.generation.temperature', 0);
  standIn.setConfig('podlens.generation.maxTokens', 24);
  standIn.setConfig('podlens.engine.contextSize', 1024);
  // /workspace persists the workspace prefix's KV state, as the chat panel does: into a temporary folder here.
  standIn.setConfig('podlens.cache.directory', fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-native-kv-')));
  context = newContext();
  api = ext.activate(context as unknown as vscode.ExtensionContext);
});
after(() => {
  for (const d of context.subscriptions.splice(0).reverse()) d.dispose();
});

test('message conversions: participant history, LM roles and text parts, model options', () => {
  const ctx = [{ path: 'a.ts', role: 'file' as const, text: 'x' }];
  assert.deepEqual(
    participantPrompt(
      'Be brief.',
      ctx,
      [
        { kind: 'request', text: 'hi' },
        { kind: 'response', text: '' },
        { kind: 'response', text: 'hello' },
      ],
      'q',
    ),
    {
      system: 'Be brief.',
      blocks: ctx,
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
        { role: 'user', content: 'q' },
      ],
    },
  );
  assert.deepEqual(participantPrompt('', [], [], 'q'), {
    system: '',
    blocks: [],
    messages: [{ role: 'user', content: 'q' }],
  });
  // A reference holding a whole file replaces its workspace block and goes last; a selection adds to it.
  const wsBlocks = [
    { path: 'a.ts', role: 'file' as const, text: 'a' },
    { path: 'b.ts', role: 'file' as const, text: 'b' },
  ];
  const sel = { path: 'b.ts', role: 'selection' as const, text: 'b', lines: { start: 1, end: 1 } };
  assert.deepEqual(
    withReferences(wsBlocks, [{ path: 'a.ts', role: 'file', text: 'a2' }, sel]).map((b) => [b.path, b.role, b.text]),
    [
      ['b.ts', 'file', 'b'],
      ['a.ts', 'file', 'a2'],
      ['b.ts', 'selection', 'b'],
    ],
  );
  assert.deepEqual(
    lmMessages([
      { role: 3, content: [new LanguageModelTextPart('sys')] },
      {
        role: 1,
        content: [
          new LanguageModelTextPart('a'),
          { callId: 'x', name: 'tool', input: {} },
          new LanguageModelTextPart('b'),
        ],
      },
      { role: 2, content: [] },
      { role: 2, content: ['ok'] },
    ]),
    [
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'ab' },
      { role: 'assistant', content: 'ok' },
    ],
  );
  const base = { temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1, seed: 0 };
  assert.deepEqual(withModelOptions(base, 512, { temperature: 0, maxTokens: 7 }), {
    sampler: { ...base, temperature: 0 },
    maxTokens: 7,
  });
  assert.deepEqual(withModelOptions(base, 512, { temperature: -1, max_tokens: 'x' }), {
    sampler: base,
    maxTokens: 512,
  });
});

test('both are contributed in package.json and registered at activation, without loading anything', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    contributes: {
      chatParticipants: { id: string; name: string; commands: { name: string }[] }[];
      languageModelChatProviders: { vendor: string }[];
    };
    activationEvents: string[];
  };
  assert.deepEqual(
    pkg.contributes.chatParticipants.map((p) => [p.id, p.name]),
    [['podlens.chat', 'podlens']],
  );
  assert.deepEqual(
    pkg.contributes.chatParticipants[0]!.commands.map((c) => c.name),
    ['workspace'],
  );
  assert.deepEqual(
    pkg.contributes.languageModelChatProviders.map((p) => p.vendor),
    ['podlens'],
  );
  assert.ok(
    pkg.activationEvents.includes('onChatParticipant:podlens.chat') &&
      pkg.activationEvents.includes('onLanguageModelChatProvider:podlens'),
  );
  assert.deepEqual([...chatStandIn.participants.keys()], ['podlens.chat']);
  assert.deepEqual([...chatStandIn.lmProviders.keys()], ['podlens']);
  assert.ok(api.native.participant && api.native.languageModel);
  assert.equal(api.core.model.status.state, 'none');
});

test('@podlens streams a real answer as markdown and reuses the conversation on a follow-up', async () => {
  const first = await ask('What is the capital of France?');
  assert.ok(first.s.pieces.length > 1, 'streamed in pieces');
  assert.match(first.s.text, /Paris/);
  assert.deepEqual(first.s.progressLines, ['Loading the model…']);
  const stats = first.r.metadata?.stats as { generatedTokens: number; reusedTokens: number };
  assert.ok(stats.generatedTokens > 0 && stats.generatedTokens <= 24);
  // VS Code passes the participant's history: request turns (prompt) and response turns (markdown parts).
  const history = [
    { prompt: 'What is the capital of France?', participant: 'podlens.chat' },
    { response: first.s.pieces.map((p) => ({ value: { value: p } })), participant: 'podlens.chat' },
  ];
  const second = await ask('And of Italy?', {}, history);
  assert.ok(
    (second.r.metadata?.stats as { reusedTokens: number }).reusedTokens > 10,
    'the cached conversation is reused',
  );
  assert.equal(second.r.errorDetails, undefined);
});

test('@podlens stops when the request is cancelled', async () => {
  standIn.setConfig('podlens.generation.maxTokens', 300);
  const cts = new CancellationTokenSource();
  const s = new StandInResponseStream();
  const orig = s.markdown.bind(s);
  s.markdown = (v) => {
    orig(v);
    if (s.pieces.length === 10) cts.cancel();
  };
  const r = await participant()(
    { prompt: 'Tell me a very long story about a dragon.', command: undefined, references: [] },
    { history: [] },
    s,
    cts.token,
  );
  standIn.setConfig('podlens.generation.maxTokens', 24);
  const stats = r.metadata?.stats as { finishReason: string; generatedTokens: number };
  assert.equal(stats.finishReason, 'abort');
  assert.ok(stats.generatedTokens >= 10 && stats.generatedTokens < 300, `${stats.generatedTokens} tokens`);
});

test('@podlens /workspace reads the workspace into the prompt; #file references add that file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-native-'));
  try {
    fs.writeFileSync(path.join(dir, 'facts.md'), 'The launch code of project Zebra is PINEAPPLE-42.\n'.repeat(5));
    fs.writeFileSync(path.join(dir, 'other.txt'), 'Nothing to see here.\n');
    standIn.workspaceFolder = Uri.file(dir);
    const plain = await ask('What is the launch code?');
    // The generate calls the participant makes: a structured prompt, one block per file.
    const client = api.core.client;
    const generate = client.generate.bind(client);
    const calls: GenerateParams[] = [];
    client.generate = (p, h) => {
      calls.push(p);
      return generate(p, h);
    };
    let withWs, again;
    try {
      withWs = await ask('What is the launch code?', { command: 'workspace' });
      again = await ask('What is the launch code?', { command: 'workspace' });
    } finally {
      client.generate = generate;
    }
    assert.deepEqual(
      calls.map((c) => c.blocks?.map((b) => [b.path, b.role])),
      [
        [
          ['facts.md', 'file'],
          ['other.txt', 'file'],
        ],
        [
          ['facts.md', 'file'],
          ['other.txt', 'file'],
        ],
      ],
      'the workspace as blocks, oldest file first (same mtime: by path), the same both times',
    );
    assert.equal(calls[0]!.session, 'native');
    assert.equal(calls[0]!.blocks![0]!.text, fs.readFileSync(path.join(dir, 'facts.md'), 'utf8'));
    // The counts the participant budgeted and reported are the session's own block lengths.
    const sessionCounts = withWs.r.metadata?.blockTokens as number[];
    assert.equal(sessionCounts.length, 2);
    const total = sessionCounts.reduce((a, n) => a + n, 0);
    assert.ok(
      withWs.s.progressLines.includes(`2 files in the context (${total} tokens)`),
      withWs.s.progressLines.join(' | '),
    );
    // The same workspace again: the session keeps the whole prefix (system text + blocks) instead of reading it again.
    const st2 = again.r.metadata?.stats as { reusedTokens: number };
    assert.ok(st2.reusedTokens > total, `${st2.reusedTokens} reused, blocks ${total}`);
    console.log(`/workspace: blocks ${sessionCounts.join(' + ')} tokens; the repeat reused ${st2.reusedTokens}`);
    // Prompt length = tokens computed + tokens reused from the session's cached prefix.
    const promptLength = (r: vscode.ChatResult): number => {
      const st = r.metadata?.stats as { promptTokens: number; reusedTokens: number };
      return st.promptTokens + st.reusedTokens;
    };
    const p0 = promptLength(plain.r);
    const p1 = promptLength(withWs.r);
    assert.ok(p1 > p0 + 50, `prompt ${p0} → ${p1} tokens with the workspace`);
    assert.deepEqual((withWs.s.references as Uri[]).map((u) => path.basename(u.fsPath)).sort(), [
      'facts.md',
      'other.txt',
    ]);
    const withRef = await ask('What is the launch code?', {
      references: [{ id: 'file', value: Uri.file(path.join(dir, 'facts.md')) }],
    });
    const p2 = promptLength(withRef.r);
    assert.ok(p2 > p0 + 50, `prompt ${p0} → ${p2} tokens with #file`);
    standIn.workspaceFolder = undefined;
    const noFolder = await ask('hi', { command: 'workspace' });
    assert.match(noFolder.s.text, /^_No folder is open/);
  } finally {
    standIn.workspaceFolder = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the language-model provider lists the model, streams text parts, honours modelOptions, cancels, counts tokens', async () => {
  const p = provider();
  const [info] = (await p.provideLanguageModelChatInformation({ silent: true }, none()))!;
  assert.ok(info);
  assert.equal(info.id, 'podlens-local');
  assert.match(info.name, /SmolLM2-135M-Instruct/);
  assert.equal(info.maxInputTokens + info.maxOutputTokens, 1024);
  const parts: LanguageModelTextPart[] = [];
  const messages = [
    { role: 1, content: [new LanguageModelTextPart('What is the capital of France?')], name: undefined },
  ];
  await p.provideLanguageModelChatResponse(
    info,
    messages,
    { modelOptions: { maxTokens: 12 } },
    { report: (x) => parts.push(x) },
    none(),
  );
  assert.ok(parts.length > 1 && parts.length <= 12 && parts.every((x) => x instanceof LanguageModelTextPart));
  assert.match(parts.map((x) => x.value).join(''), /Paris/);
  const cts = new CancellationTokenSource();
  const long: LanguageModelTextPart[] = [];
  await p.provideLanguageModelChatResponse(
    info,
    [{ role: 1, content: [new LanguageModelTextPart('Write a long poem.')], name: undefined }],
    { modelOptions: { maxTokens: 300 } },
    {
      report: (x) => {
        long.push(x);
        if (long.length === 5) cts.cancel();
      },
    },
    cts.token,
  );
  assert.ok(long.length >= 5 && long.length < 300, `${long.length} parts after cancel`);
  const [exact] = await api.core.client.count(['Hello, world!']);
  assert.equal(await p.provideTokenCount(info, 'Hello, world!', none()), exact);
  await assert.rejects(
    Promise.resolve(
      p.provideLanguageModelChatResponse(
        info,
        [{ role: 1, content: [{ data: 1 }], name: undefined }],
        {},
        { report: () => undefined },
        none(),
      ),
    ),
    /no text messages/,
  );
});

test('on a VS Code without the provider API the extension still activates, with @podlens only', () => {
  assert.equal(languageModelApi({}), null);
  assert.equal(languageModelApi({ lm: {} }), null);
  for (const d of context.subscriptions.splice(0).reverse()) d.dispose();
  assert.equal(chatStandIn.participants.size + chatStandIn.lmProviders.size, 0, 'disposed with the extension');
  chatStandIn.lmAvailable = false;
  try {
    context = newContext();
    const again = ext.activate(context as unknown as vscode.ExtensionContext);
    assert.ok(again.native.participant);
    assert.equal(again.native.languageModel, null);
    assert.ok(standIn.log.some((l) => /no language-model provider API/.test(l)));
  } finally {
    chatStandIn.lmAvailable = true;
  }
});
