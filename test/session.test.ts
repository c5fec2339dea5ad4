// The one chat session (src/context/session.ts over prompt.ts) with SmolLM2 on a fixture workspace
// on disk: the ids the session holds are the tokenizer's ids of the rendered chat prompt (each
// block tokenized on its own gives exactly the whole text's ids for a byte-level BPE tokenizer);
// prefix reuse across turns ("N reused, M computed" exact); an edit to a file recomputes exactly
// from that file's block on — truncation for the full cache, a block-boundary checkpoint for PoD,
// whose cache cannot rewind — for the last file and for a file in the middle; answers after reuse
// equal a fresh session's (greedy, f32 KV and MatMulNBits accuracy level 0: the same positions
// computed in other chunkings then agree to ~4e-5 in the logits, far from flipping a greedy
// choice; at the default level 4 the int8 activation quantization depends on the chunk and moves
// logits by up to ~0.8, measured). Persistence: a restart restores the saved prefix; corrupted,
// truncated, mismatched (another model or format version) and ill-fitting files are reported in
// one line, deleted and rebuilt, never used; PoD restores its last-block checkpoint after an edit.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../src/engine/engine';
import { KVSpec } from '../src/engine/kv/plan';
import { ChatMessage } from '../src/engine/tokenizer';
import { buildContext, renderBlock, WorkspaceContext } from '../src/context/build';
import { NodeFileSource } from '../src/context/source';
import { PromptTokenizer, SessionPrompt, systemContent } from '../src/context/prompt';
import { AskResult, PromptSession } from '../src/context/session';
import { FilePrefixStore, PrefixStore } from '../src/context/store';
import { saveState } from '../src/context/persist';
import { modelPath, SMOLLM2 } from './helpers';

const ASK = { maxTokens: 8, sampler: { temperature: 0 } };
const SYSTEM = 'You are a helpful assistant for the code below. Answer concisely and cite file paths.';
const engines: Engine[] = [];
after(async () => {
  for (const e of engines) await e.dispose();
});

async function engine(kv: KVSpec): Promise<Engine> {
  const e = await Engine.load(modelPath(SMOLLM2), { threads: 2, contextSize: 2048, kv, accuracyLevel: 0 });
  engines.push(e);
  return e;
}

function fixtureDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-ws-'));
  const files: [string, string, number][] = [
    ['README.md', '# Tiny shop\nA command-line shop with a cart and prices in cents.\n', 1],
    [
      'src/price.ts',
      'export function price(cents: number): string {\n  return `$${(cents / 100).toFixed(2)}`;\n}\n',
      2,
    ],
    [
      'src/cart.ts',
      "import { price } from './price';\nexport class Cart {\n  private items: number[] = [];\n  add(cents: number): void { this.items.push(cents); }\n  total(): string { return price(this.items.reduce((a, b) => a + b, 0)); }\n}\n",
      3,
    ],
    [
      'src/main.ts',
      "import { Cart } from './cart';\nconst c = new Cart();\nc.add(250);\nc.add(199);\nconsole.log('total', c.total());\n",
      4,
    ],
  ];
  for (const [p, text, t] of files) {
    fs.mkdirSync(path.join(dir, path.dirname(p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), text);
    fs.utimesSync(path.join(dir, p), t * 1000, t * 1000);
  }
  fs.writeFileSync(path.join(dir, '.gitignore'), 'dist/\n');
  return dir;
}

const build = (tokens: PromptTokenizer, dir: string): Promise<WorkspaceContext> =>
  buildContext(new NodeFileSource(dir), { count: (t) => tokens.text(t).length, budgetTokens: 1500 });

function edit(dir: string, file = 'src/main.ts', keepTime = false): void {
  const f = path.join(dir, file);
  const st = fs.statSync(f);
  fs.writeFileSync(
    f,
    fs
      .readFileSync(f, 'utf8')
      .replace(
        file === 'src/main.ts' ? 'c.add(199);' : 'toFixed(2)',
        file === 'src/main.ts' ? 'c.add(199);\nc.add(1);' : 'toFixed(3)',
      ),
  );
  fs.utimesSync(f, keepTime ? st.mtime : new Date(5_000_000), keepTime ? st.mtime : new Date(5_000_000));
}

/** A chat over a folder as the CLI runs it: the workspace read again before every question, the conversation kept. */
class Chat {
  readonly history: ChatMessage[] = [];
  readonly log: string[] = [];
  readonly session: PromptSession;
  readonly tokens: PromptTokenizer;

  constructor(
    readonly e: Engine,
    readonly dir: string,
    readonly store?: PrefixStore,
  ) {
    this.tokens = new PromptTokenizer(e.tokenizer);
    this.session = new PromptSession(e, this.tokens, (l) => this.log.push(l));
  }

  async prompt(q: string): Promise<SessionPrompt> {
    return {
      system: SYSTEM,
      blocks: (await build(this.tokens, this.dir)).blocks,
      messages: [...this.history, { role: 'user', content: q }],
    };
  }

  async ask(q: string): Promise<AskResult> {
    const r = await this.session.ask(await this.prompt(q), { ...ASK, ...(this.store ? { store: this.store } : {}) });
    this.history.push({ role: 'user', content: q }, { role: 'assistant', content: r.text.trim() });
    return r;
  }
}

for (const [name, kv, rewind] of [
  ['full', { kind: 'full', dtype: 'f32' }, 'truncated'],
  ['pod', { kind: 'pod', sinks: 4, recent: 64, dtype: 'f32' }, 'checkpoint'],
] as const) {
  test(`${name}: follow-ups reuse the prefix; an edit to the last file recomputes from its block; answers equal a fresh session's`, async () => {
    const e = await engine(kv);
    const dir = fixtureDir();
    const c = new Chat(e, dir);
    const q1 = 'What does the cart do?';
    const pr1 = await c.prompt(q1);
    assert.equal(pr1.blocks?.at(-1)?.path, 'src/main.ts');
    const p1 = c.session.render(pr1);
    const r1 = await c.ask(q1);
    assert.deepEqual([r1.reused, r1.computed], [0, p1.ids.length]);

    const q2 = 'How are prices formatted?';
    const p2 = c.session.render(await c.prompt(q2));
    const r2 = await c.ask(q2);
    assert.ok(r2.reused >= p2.prefix, `${r2.reused} reused, prefix ${p2.prefix} (${r2.how})`);
    assert.equal(r2.reused + r2.computed, p2.ids.length);
    if (name === 'pod')
      assert.ok(
        c.session.cache.snapshot().pod!.tokens.distant > 0,
        'distant tokens exist: rewinding needs a checkpoint',
      );

    edit(dir);
    const q3 = 'What is the total now?';
    const p3 = c.session.render(await c.prompt(q3));
    const lastBlockStart = p3.starts.at(-1)!;
    let firstChange = 0;
    while (p2.ids[firstChange] === p3.ids[firstChange]) firstChange++;
    assert.ok(firstChange > lastBlockStart && firstChange < p3.prefix, 'the edit is inside the last block');
    const r3 = await c.ask(q3);
    // The full cache rewinds to the first changed token; PoD to its checkpoint at the last block's start.
    assert.equal(r3.reused, name === 'full' ? firstChange : lastBlockStart, `${r3.how}`);
    assert.ok(r3.how.startsWith(rewind), r3.how);
    assert.equal(r3.computed, p3.ids.length - r3.reused);

    // Oracle: a fresh session with the same workspace and conversation computes everything itself.
    const fresh = new Chat(e, dir);
    fresh.history.push(...c.history.slice(0, 4));
    const rf = await fresh.ask(q3);
    assert.equal(rf.reused, 0);
    assert.equal(rf.text, r3.text);
  });
}

for (const [name, kv] of [
  ['full', { kind: 'full', dtype: 'f32' }],
  ['pod', { kind: 'pod', sinks: 4, recent: 16, dtype: 'f32' }],
] as const) {
  test(`${name}: the session holds the tokenizer's ids of the rendered prompt; editing the middle file recomputes only from its block`, async () => {
    const e = await engine(kv);
    const dir = fixtureDir();
    const c = new Chat(e, dir);
    const q1 = 'What does the cart do?';
    const pr1 = await c.prompt(q1);
    const r1 = await c.ask(q1);
    // The oracle: the model's tokenizer on the whole rendered chat prompt (system message with the workspace, then the question).
    const rendered = e.tokenizer.encodeChat(
      [{ role: 'system', content: systemContent(SYSTEM, pr1.blocks!) }, ...pr1.messages],
      { addGenerationPrompt: true },
    );
    assert.deepEqual(c.session.ids.slice(0, rendered.length), rendered, 'the cache holds the real ids of the prompt');
    assert.equal(
      c.session.ids.length,
      rendered.length + r1.stats.generatedTokens - 1,
      'then the answer (its last token not yet fed)',
    );
    // Each block starts where the rendering says, with its own text's ids.
    assert.deepEqual(
      r1.starts.map((s, i) => rendered.slice(s, r1.starts[i + 1] ?? r1.prefix)),
      pr1.blocks!.map((b) => e.tokenizer.encode(renderBlock(b), { addBos: false, parseSpecial: false })),
    );

    edit(dir, 'src/price.ts', true); // in place: the block order stays
    const q2 = 'How are prices formatted now?';
    const pr2 = await c.prompt(q2);
    assert.deepEqual(
      pr2.blocks!.map((b) => b.path),
      ['README.md', 'src/price.ts', 'src/cart.ts', 'src/main.ts'],
    );
    const p2 = c.session.render(pr2);
    const middle = p2.starts[1]!;
    let firstChange = 0;
    while (rendered[firstChange] === p2.ids[firstChange]) firstChange++;
    assert.ok(firstChange > middle && firstChange < p2.starts[2]!, 'the edit is inside the second of four blocks');
    const r2 = await c.ask(q2);
    if (name === 'pod') {
      assert.ok(
        r1.stats.generatedTokens + p2.ids.length - firstChange > 16,
        'the recent window (16) cannot reach back to the edit',
      );
      assert.equal(r2.how, `checkpoint at ${middle}`);
    } else assert.equal(r2.how, 'truncated');
    assert.equal(r2.reused, name === 'pod' ? middle : firstChange);
    assert.equal(r2.computed, p2.ids.length - r2.reused);
    assert.deepEqual(c.session.ids.slice(0, p2.ids.length), p2.ids);

    const fresh = new Chat(e, dir);
    fresh.history.push(...c.history.slice(0, 2));
    assert.equal((await fresh.ask(q2)).text, r2.text);
  });
}

const SAVED = /^workspace KV state saved: \d+ tokens, [\d.]+ MB \(.+\), \d+ ms$/;

test('persistence: restart loads the prefix; corrupt, truncated, mismatched and ill-fitting files are rebuilt', async () => {
  const e = await engine({ kind: 'full', dtype: 'f16' });
  const dir = fixtureDir();
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-kv-'));
  const start = async (): Promise<{ c: Chat; store: FilePrefixStore }> => {
    const store = await FilePrefixStore.open(e, dir, { dir: cache });
    return { c: new Chat(e, dir, store), store };
  };
  const q = 'Which file prints the total?';
  const a = await start();
  const ra = await a.c.ask(q);
  assert.equal(ra.reused, 0);
  assert.equal(ra.restoredTokens, 0);
  assert.match(a.c.log[0]!, /^no workspace KV state on disk for this workspace, model and cache settings/);
  assert.match(a.c.log[1]!, SAVED);
  assert.ok(fs.existsSync(a.store.file));
  const prefixIds = a.c.session.ids.slice(0, ra.prefix);

  const b = await start();
  const rb = await b.c.ask(q);
  assert.equal(b.c.log.length, 1, b.c.log.join('\n'));
  assert.match(b.c.log[0]!, new RegExp(`^workspace KV state restored from disk: ${ra.prefix} tokens, `));
  assert.equal(rb.restoredTokens, ra.prefix);
  assert.equal(rb.reused, ra.prefix);
  assert.equal(rb.how, 'restored from disk');
  assert.equal(rb.text, ra.text); // same cache contents, same tail

  const good = fs.readFileSync(a.store.file);
  const damaged: [string, () => void, RegExp][] = [
    [
      'corrupt',
      () => {
        const x = Buffer.from(good);
        x[x.length - 100]! ^= 1;
        fs.writeFileSync(a.store.file, x);
      },
      /checksum mismatch/,
    ],
    ['truncated', () => fs.writeFileSync(a.store.file, good.subarray(0, good.length >> 1)), /truncated/],
    [
      'wrong version',
      () => {
        const v9 = Buffer.from(good.toString('latin1').replace('"format":1', '"format":9'), 'latin1').subarray(
          0,
          good.length - 32,
        );
        fs.writeFileSync(a.store.file, Buffer.concat([v9, createHash('sha256').update(v9).digest()]));
      },
      /format version 9, this PodLens reads 1/,
    ],
    [
      'other model',
      () =>
        saveState(
          a.store.file,
          { ...a.store.id, modelSha256: '0'.repeat(64) },
          prefixIds,
          b.c.session.cache.exportState(),
        ),
      /different model file/,
    ],
    [
      'other contents',
      () =>
        saveState(a.store.file, a.store.id, [prefixIds[0]! + 7, ...prefixIds.slice(1)], {
          ...b.c.session.cache.exportState(),
          length: prefixIds.length,
        }),
      /the workspace context changed \(saved \d+ tokens, now \d+, first difference at token 0\)/,
    ],
    [
      'ill-fitting',
      () => {
        const st = b.c.session.cache.exportState();
        saveState(a.store.file, a.store.id, prefixIds, {
          ...st,
          length: prefixIds.length,
          ints: Int32Array.of(prefixIds.length),
        });
      },
      /buffer 0 has \d+ elements, expected/,
    ],
  ];
  for (const [what, damage, why] of damaged) {
    damage();
    const c = (await start()).c;
    const rc = await c.ask(q);
    assert.equal(rc.restoredTokens, 0, what);
    assert.equal(rc.reused, 0, what);
    assert.match(c.log[0]!, why, what);
    assert.match(c.log[0]!, /^workspace KV state on disk not used: .*; reading the workspace again$/, what);
    assert.match(c.log[1]!, SAVED, what);
    assert.equal(c.log.length, 2, what);
    assert.equal(rc.text, ra.text, what);
    assert.deepEqual(
      fs.readFileSync(a.store.file).subarray(0, 8),
      good.subarray(0, 8),
      `${what}: the rebuilt state was saved again`,
    );
  }
});

test('PoD persistence: after a restart, an edit to the last file restores the persisted last-block checkpoint', async () => {
  const e = await engine({ kind: 'pod', sinks: 4, recent: 64, dtype: 'f32' });
  const dir = fixtureDir();
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-kv-'));
  const a = new Chat(e, dir, await FilePrefixStore.open(e, dir, { dir: cache }));
  await a.ask('What does the cart do?');
  assert.deepEqual(
    fs
      .readdirSync(cache)
      .sort()
      .map((f) => f.replace(/^[0-9a-f]+/, 'K')),
    ['K.kvstate', 'K.stable.kvstate'],
  );

  const b = new Chat(e, dir, await FilePrefixStore.open(e, dir, { dir: cache }));
  edit(dir);
  const q = 'What is the total now?';
  const p = b.session.render(await b.prompt(q));
  const r = await b.ask(q);
  const lastBlockStart = p.starts.at(-1)!;
  assert.equal(r.reused, lastBlockStart, r.how);
  assert.equal(r.restoredTokens, lastBlockStart);
  assert.equal(r.how, 'restored from disk');
  assert.match(b.log[0]!, /^workspace KV state on disk not used: the workspace context changed/);
  assert.match(b.log[1]!, new RegExp(`^workspace KV checkpoint restored from disk: ${lastBlockStart} tokens`));
  assert.equal((await new Chat(e, dir).ask(q)).text, r.text);
});
