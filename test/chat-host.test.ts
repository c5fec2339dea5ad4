// Host logic of the chat without a model or VS Code: the workspace context behind the chips
// (src/host/chat/chat-context.ts, chat-prompt.ts) — what the chips say is exactly what the system
// message holds (the system text and blocks the worker gets, rendered as src/context/prompt.ts
// renders them), removed chips leave the prompt, the token budget drops files and the meter says
// which; the meter's levels and dropped messages; the transcript store (round trip, damaged state
// ignored, caps); Regenerate (drops the last answer, asks again with the same prompt so the
// worker's session rewinds to it). A fake engine counts one token per 4 characters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSource } from '../src/context/source';
import { ChatPrompt, tokenMeter, workspaceBudget } from '../src/host/chat/chat-prompt';
import { ChatHistoryStore, HISTORY_KEY, MAX_TURNS } from '../src/host/chat/chat-history';
import { ChatSession } from '../src/host/chat/chat-session';
import { EditorInfo } from '../src/host/chat/chat-context';
import { readSettings } from '../src/host/settings';
import { ChatContextView } from '../src/shared/chat-context';
import { Turn } from '../src/shared/protocol';
import type { EngineClient, GenerateParams } from '../src/host/engine-client';
import { PromptBlock, renderBlock } from '../src/context/build';
import { systemContent } from '../src/context/prompt';

/** The system message the worker renders from what prepare returns. */
const full = <T extends { system: string; blocks: PromptBlock[] }>(r: T): T => ({
  ...r,
  system: systemContent(r.system, r.blocks),
});

const tokens = (t: string): number => Math.ceil(t.length / 4);
const fakeEngine = (contextSize: number, sessionCount: (t: string) => number = tokens) => {
  const calls: GenerateParams[] = [];
  const engine = {
    info: { contextSize },
    counted: 0,
    async count(texts: string[]) {
      engine.counted += texts.length;
      return texts.map(tokens);
    },
    async reset() {},
    generate(p: GenerateParams, h: { onDelta?(t: string): void }) {
      calls.push(p);
      const text = `answer ${calls.length}`;
      h.onDelta?.(text);
      const stats = {
        promptTokens: 10,
        reusedTokens: 5,
        generatedTokens: 2,
        ttftMs: 1,
        prefillMs: 1,
        prefillTokensPerSecond: 1,
        decodeMs: 1,
        decodeTokensPerSecond: 1,
        totalMs: 2,
        kvBytes: 0,
        contextTokens: 17,
      };
      return {
        id: calls.length,
        abort() {},
        done: Promise.resolve({
          type: 'done' as const,
          id: calls.length,
          reason: 'eos' as const,
          text,
          stats,
          droppedMessages: 0,
          contextSize,
          // What a worker session reports: each block's tokens as it tokenized it.
          ...(p.blocks?.length ? { blockTokens: p.blocks.map((b) => sessionCount(renderBlock(b))) } : {}),
        }),
      };
    },
  };
  return { engine, calls };
};

const files = {
  'a.ts': { data: 'export const a = 1;\n', mtimeMs: 1 },
  'b.md': { data: '# B\nsome notes about b\n', mtimeMs: 2 },
  'big.txt': { data: 'lorem ipsum dolor sit amet\n'.repeat(200), mtimeMs: 3 },
  'node_modules/x/index.js': { data: 'module.exports = 1;\n', mtimeMs: 4 },
};

function setup(
  o: { editor?: EditorInfo; contextSize?: number; maxTokens?: number; sessionCount?: (t: string) => number } = {},
) {
  const views: ChatContextView[] = [];
  const settings = readSettings({
    get: <T>(k: string) =>
      (({ 'generation.maxTokens': o.maxTokens ?? 100, 'chat.systemPrompt': 'Be brief.' }) as Record<string, unknown>)[
        k
      ] as T,
  });
  const prompt = new ChatPrompt({
    root: () => '/ws',
    editor: () => o.editor,
    settings: () => settings,
    emit: (v) => views.push(v),
    source: new MemoryFileSource(files),
  });
  return { prompt, views, ...fakeEngine(o.contextSize ?? 1024, o.sessionCount) };
}

test('chips say exactly what the system message holds; the budget drops a file and the meter names it', async () => {
  const editor: EditorInfo = {
    path: 'a.ts',
    text: 'export const a = 2; // unsaved\n',
    selection: { text: 'const a', startLine: 1, endLine: 1 },
  };
  const { prompt, engine } = setup({ editor });
  const { system, view } = full(
    await prompt.prepare(engine, [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
    ]),
  );
  const [ws, file, sel] = view.chips;
  assert.equal(ws!.files, 1, ws!.detail);
  assert.match(ws!.detail, /\+ b\.md/);
  assert.match(ws!.detail, /1 left out by the token budget:\n- big\.txt/);
  assert.doesNotMatch(system, /lorem ipsum/);
  assert.doesNotMatch(system, /node_modules/);
  // The current file is the editor's buffer, after the workspace files; the selection last.
  assert.equal(file!.label, 'a.ts');
  assert.ok(
    system.indexOf('# B') < system.indexOf('// unsaved') &&
      system.indexOf('// unsaved') < system.indexOf('### Selection: a.ts (lines 1–1)'),
  );
  assert.doesNotMatch(system, /a = 1/);
  assert.equal(sel!.label, 'Selection (lines 1–1)');
  // Token counts add up: the blocks' counts are the counts of the blocks' text in the prompt.
  const blocks = system.slice(system.indexOf('### File')).split(/(?=### )/);
  assert.equal(
    ws!.tokens! + file!.tokens! + sel!.tokens!,
    blocks.reduce((a, b) => a + tokens(b), 0),
  );
  assert.equal(
    view.meter.used,
    tokens('Be brief.') + 4 + ws!.tokens! + file!.tokens! + sel!.tokens! + tokens('hi') + tokens('hello') + 8,
  );
  assert.equal(view.meter.window, 1024);
  assert.equal(view.meter.reserved, 100);
  assert.equal(view.meter.leftOut.length, 1);
  assert.match(view.meter.leftOut[0]!, /^big\.txt: over the token budget \(1357 tokens, \d+ left\)$/);
  assert.equal(workspaceBudget(1024, 100, tokens('Be brief.') + 4), 1024 - 100 - 256 - 7);
  assert.equal(view.meter.level, 'ok');
});

test('a removed chip leaves the prompt; adding it back restores it; counts are cached', async () => {
  const editor: EditorInfo = { path: 'a.ts', text: 'export const a = 2;\n' };
  const { prompt, engine, views } = setup({ editor });
  full(await prompt.prepare(engine, []));
  const counted = engine.counted;
  prompt.enabled.workspace = false;
  const off = full(await prompt.prepare(engine, []));
  assert.doesNotMatch(off.system, /# B/);
  assert.match(off.system, /### File: a\.ts/);
  assert.equal(off.view.chips[0]!.enabled, false);
  assert.equal(off.view.chips[0]!.tokens, undefined);
  assert.match(off.view.chips[0]!.detail, /^Removed/);
  prompt.enabled.file = false;
  const none = full(await prompt.prepare(engine, []));
  assert.equal(none.system, 'Be brief.');
  assert.equal(none.view.meter.used, tokens('Be brief.') + 4);
  prompt.enabled.workspace = prompt.enabled.file = true;
  full(await prompt.prepare(engine, []));
  assert.equal(engine.counted, counted + 0, 'nothing counted twice');
  assert.equal(views.length, 4);
  assert.equal(off.view.chips[2]!.available, false, 'nothing selected');
});

test('the podlens.context include / exclude globs apply to the workspace chip', async () => {
  const { engine } = setup();
  const settings = readSettings({ get: () => undefined });
  const prompt = new ChatPrompt({
    root: () => '/ws',
    editor: () => undefined,
    settings: () => settings,
    emit: () => undefined,
    source: new MemoryFileSource(files),
    filter: () => ({ ignore: '*.md' }),
  });
  const { system, view } = full(await prompt.prepare(engine, []));
  assert.match(system, /### File: a\.ts/);
  assert.doesNotMatch(system, /b\.md/);
  assert.equal(view.chips[0]!.files, 1);
});

test('the workspace walk is reused until files change (invalidate), then read again', async () => {
  const src = new MemoryFileSource({ 'a.ts': 'export const a = 1;\n' });
  const settings = readSettings({ get: () => undefined });
  const views: ChatContextView[] = [];
  const prompt = new ChatPrompt({
    root: () => '/ws',
    editor: () => undefined,
    settings: () => settings,
    emit: (v) => views.push(v),
    source: src,
  });
  const { engine } = fakeEngine(1024);
  await prompt.refresh(engine, []);
  src.set('new.ts', 'export const n = 2;\n');
  await prompt.refresh(engine, []);
  assert.equal(views.at(-1)!.chips[0]!.files, 1, 'a selection change does not walk again');
  assert.doesNotMatch(full(await prompt.prepare(engine, [])).system, /new\.ts/, 'no file event: the walk is reused');
  prompt.invalidate();
  const { system } = full(await prompt.prepare(engine, []));
  assert.match(system, /### File: new\.ts/);
  assert.equal(views.at(-1)!.chips[0]!.files, 2);
  assert.match(full(await prompt.prepare(engine, [], undefined, 0)).system, /new\.ts/, 'max age 0: always read');
  await prompt.refresh(null, []);
  assert.equal(views.at(-1)!.meter.window, 0, 'no model: uncounted');
});

test('the meter warns near the window and says which messages are left out', () => {
  assert.equal(tokenMeter(1000, 200, 100, [100, 100], []).level, 'ok');
  assert.equal(tokenMeter(1000, 200, 600, [50], []).level, 'warn');
  const over = tokenMeter(1000, 200, 700, [150, 100, 20], ['x.ts: over the token budget']);
  assert.equal(over.level, 'over');
  assert.deepEqual(over.leftOut, ['x.ts: over the token budget', '2 earliest messages of the conversation']);
  assert.equal(over.used, 700 + 24);
  assert.equal(tokenMeter(0, 512, 0, [], []).level, 'ok', 'no model: nothing to say');
});

test('the transcript store round-trips, ignores damaged state, caps its size', () => {
  const map = new Map<string, unknown>();
  const log: string[] = [];
  const memento = {
    get: <T>(k: string) => map.get(k) as T | undefined,
    update: async (k: string, v: unknown) => {
      map.set(k, JSON.parse(JSON.stringify(v)));
    },
  };
  const store = new ChatHistoryStore(memento, (l) => log.push(l));
  const turns: Turn[] = [
    { id: 1, role: 'user', text: 'q', status: 'done', origin: 'chat' },
    { id: 2, role: 'assistant', text: 'a', status: 'streaming', origin: 'chat' },
  ];
  store.save(turns);
  assert.deepEqual(store.load(), [turns[0], { ...turns[1], status: 'stopped' }]);
  map.set(HISTORY_KEY, { version: 1, turns: [{ id: 1, role: 'system', text: 'x', status: 'done' }] });
  assert.deepEqual(store.load(), []);
  assert.match(log[0]!, /chat history ignored \(turns\[0\]\.role: expected one of user, assistant/);
  const many = Array.from({ length: MAX_TURNS + 11 }, (_, i): Turn => ({
    id: i,
    role: i % 2 ? 'assistant' : 'user',
    text: `t${i}`,
    status: 'done',
  }));
  store.save(many);
  const back = store.load();
  assert.ok(back.length <= MAX_TURNS && back.length >= MAX_TURNS - 1);
  assert.equal(back[0]!.role, 'user', 'starts with a question');
  assert.equal(back.at(-1)!.id, MAX_TURNS + 10);
});

test('Regenerate drops the last answer and asks the same question with the same prompt', async () => {
  const { prompt, engine, calls } = setup();
  const saved: Turn[][] = [];
  const events: string[] = [];
  const session = new ChatSession({
    engine: async () => engine as unknown as EngineClient,
    loadedEngine: () => engine as unknown as EngineClient,
    settings: () => readSettings({ get: () => undefined }),
    emit: (t) => events.push(t),
    onActivity: () => undefined,
    prompt,
    store: {
      load: () => [
        { id: 7, role: 'user', text: 'earlier', status: 'done', origin: 'chat' },
        { id: 8, role: 'assistant', text: 'before', status: 'done', origin: 'chat' },
      ],
      save: (t) => saved.push([...t]),
    },
  });
  assert.equal(session.turns.length, 2, 'history loaded from the store');
  await session.ask('What is b.md?');
  assert.deepEqual(
    session.turns.map((t) => t.text),
    ['earlier', 'before', 'What is b.md?', 'answer 1'],
  );
  assert.equal(session.turns.at(-1)!.id, 12 - 2, 'ids continue after the stored ones');
  const r = await session.regenerate();
  assert.equal(r.status, 'done');
  assert.deepEqual(
    session.turns.map((t) => t.text),
    ['earlier', 'before', 'What is b.md?', 'answer 2'],
  );
  assert.deepEqual(calls[1]!.messages, calls[0]!.messages, 'the same prompt: the worker session rewinds to it');
  assert.equal(calls[1]!.sampler.seed, calls[0]!.sampler.seed + 1, 'the next seed: a different answer when sampling');
  await session.regenerate();
  assert.equal(calls[2]!.sampler.seed, calls[0]!.sampler.seed + 2);
  assert.equal(calls[1]!.session, 'chat');
  assert.deepEqual(calls[1]!.blocks, calls[0]!.blocks);
  assert.equal(calls[0]!.system, 'Be brief.');
  assert.deepEqual(
    calls[0]!.blocks!.map((b) => [b.path, b.role]),
    [
      ['a.ts', 'file'],
      ['b.md', 'file'],
    ],
  );
  assert.deepEqual(
    calls[0]!.messages.map((m) => m.role),
    ['user', 'assistant', 'user'],
    'the conversation only: the worker renders the system message',
  );
  assert.ok(events.includes('chat/transcript'), 'the webview drops the old answer');
  assert.deepEqual(
    saved.at(-1)!.map((t) => t.text),
    ['earlier', 'before', 'What is b.md?', 'answer 3'],
  );
  // Summaries are not regenerated as chat questions.
  await session.task('Summarize x', async () => ({}));
  assert.equal(session.regenerable, null);
  await assert.rejects(session.regenerate(), /no chat answer to regenerate/);
});

test("after an answer the chips and meter show the engine session's own block counts", async () => {
  // A session that tokenizes differently from the counter (it never should: same tokenizer) gets its counts shown.
  const sessionCount = (t: string): number => tokens(t) + 3;
  const { prompt, engine, views } = setup({ sessionCount });
  const session = new ChatSession({
    engine: async () => engine as unknown as EngineClient,
    loadedEngine: () => engine as unknown as EngineClient,
    settings: () => readSettings({ get: () => undefined }),
    emit: () => undefined,
    onActivity: () => undefined,
    prompt,
  });
  await session.ask('What is a.ts?');
  const ws = views.at(-1)!.chips[0]!;
  const expected = [fileBlockText('a.ts'), fileBlockText('b.md')].map(sessionCount);
  assert.equal(ws.tokens, expected[0]! + expected[1]!, 'the workspace chip sums the session counts');
  assert.match(ws.detail, new RegExp(`\\+ a\\.ts \\(${expected[0]}\\)`));
  assert.match(ws.detail, new RegExp(`\\+ b\\.md \\(${expected[1]}\\)`));
  const before = views.at(-2)!;
  assert.equal(views.at(-1)!.meter.used - before.meter.used, 6, 'the meter moves by the difference (3 per block)');
  // Counts that agree send nothing more.
  const same = setup();
  const s2 = new ChatSession({
    engine: async () => same.engine as unknown as EngineClient,
    loadedEngine: () => same.engine as unknown as EngineClient,
    settings: () => readSettings({ get: () => undefined }),
    emit: () => undefined,
    onActivity: () => undefined,
    prompt: same.prompt,
  });
  await s2.ask('What is a.ts?');
  assert.equal(same.views.length, 1, 'one view: prepare, no correction');
});

const fileBlockText = (p: keyof typeof files): string => renderBlock({ path: p, role: 'file', text: files[p].data });
