// The workspace session (src/context/session.ts) with SmolLM2 on a fixture workspace on disk:
// prefix reuse across turns ("N reused, M computed" exact), an edit to the last file recomputes
// exactly from that file's block on — truncation for the full cache, a checkpoint for PoD, whose
// cache cannot rewind — and answers after reuse equal a fresh session's (greedy, f32 KV and
// MatMulNBits accuracy level 0: the same positions computed in other chunkings then agree to
// ~4e-5 in the logits, far from flipping a greedy choice; at the default level 4 the int8
// activation quantization depends on the chunk and moves logits by up to ~0.8, measured).
// Persistence: a restart loads the saved prefix; corrupted, truncated, mismatched (another model
// or format version) and ill-fitting files are reported in one line, deleted and rebuilt, never used.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../src/engine/engine';
import { KVSpec } from '../src/engine/kv/plan';
import { buildContext, WorkspaceContext } from '../src/context/build';
import { NodeFileSource } from '../src/context/source';
import { WorkspaceSession } from '../src/context/session';
import { FilePrefixStore } from '../src/context/store';
import { saveState } from '../src/context/persist';
import { modelPath, SMOLLM2 } from './helpers';

const ASK = { maxTokens: 8, sampler: { temperature: 0 } };
const engines: Engine[] = [];
after(async () => { for (const e of engines) await e.dispose(); });

async function engine(kv: KVSpec): Promise<Engine> {
  const e = await Engine.load(modelPath(SMOLLM2), { threads: 2, contextSize: 2048, kv, accuracyLevel: 0 });
  engines.push(e);
  return e;
}

function fixtureDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-ws-'));
  const files: [string, string, number][] = [
    ['README.md', '# Tiny shop\nA command-line shop with a cart and prices in cents.\n', 1],
    ['src/price.ts', 'export function price(cents: number): string {\n  return `$${(cents / 100).toFixed(2)}`;\n}\n', 2],
    ['src/cart.ts', "import { price } from './price';\nexport class Cart {\n  private items: number[] = [];\n  add(cents: number): void { this.items.push(cents); }\n  total(): string { return price(this.items.reduce((a, b) => a + b, 0)); }\n}\n", 3],
    ['src/main.ts', "import { Cart } from './cart';\nconst c = new Cart();\nc.add(250);\nc.add(199);\nconsole.log('total', c.total());\n", 4],
  ];
  for (const [p, text, t] of files) {
    fs.mkdirSync(path.join(dir, path.dirname(p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), text);
    fs.utimesSync(path.join(dir, p), t * 1000, t * 1000);
  }
  fs.writeFileSync(path.join(dir, '.gitignore'), 'dist/\n');
  return dir;
}

const build = (e: Engine, dir: string): Promise<WorkspaceContext> =>
  buildContext(new NodeFileSource(dir), { encode: (t) => e.tokenizer.encode(t, { addBos: false, parseSpecial: false }), budgetTokens: 1500 });

function edit(dir: string): void {
  const f = path.join(dir, 'src/main.ts');
  fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('c.add(199);', 'c.add(199);\nc.add(1);'));
  fs.utimesSync(f, 5000, 5000);
}

for (const [name, kv, rewind] of [['full', { kind: 'full', dtype: 'f32' }, 'truncated'], ['pod', { kind: 'pod', sinks: 4, recent: 64, dtype: 'f32' }, 'checkpoint']] as const) {
  test(`${name}: follow-ups reuse the prefix; an edit to the last file recomputes from its block; answers equal a fresh session's`, async () => {
    const e = await engine(kv);
    const dir = fixtureDir();
    const s = new WorkspaceSession(e);
    s.setWorkspace(await build(e, dir));
    const q1 = 'What does the cart do?';
    const p1 = s.promptIds(q1);
    assert.equal(s.ws?.blocks.at(-1)?.path, 'src/main.ts');
    const r1 = await s.ask(q1, ASK);
    assert.deepEqual([r1.reused, r1.computed], [0, p1.prefix.length + p1.tail.length]);

    const q2 = 'How are prices formatted?';
    const p2 = s.promptIds(q2);
    const r2 = await s.ask(q2, ASK);
    assert.ok(r2.reused >= p2.prefix.length, `${r2.reused} reused, prefix ${p2.prefix.length} (${r2.how})`);
    assert.equal(r2.reused + r2.computed, p2.prefix.length + p2.tail.length);
    if (name === 'pod') assert.ok(e.createCache().kind === 'pod' && s.cache.snapshot().pod!.tokens.distant > 0, 'distant tokens exist: rewinding needs a checkpoint');

    edit(dir);
    s.setWorkspace(await build(e, dir));
    const q3 = 'What is the total now?';
    const p3 = s.promptIds(q3);
    let firstChange = 0;
    while (p2.prefix[firstChange] === p3.prefix[firstChange]) firstChange++;
    assert.ok(firstChange > p3.lastBlockStart && firstChange < p3.prefix.length, 'the edit is inside the last block');
    const r3 = await s.ask(q3, ASK);
    // The full cache rewinds to the first changed token; PoD to its checkpoint at the last block's start.
    assert.equal(r3.reused, name === 'full' ? firstChange : p3.lastBlockStart, `${r3.how}`);
    assert.ok(r3.how.startsWith(rewind), r3.how);
    assert.equal(r3.computed, p3.prefix.length + p3.tail.length - r3.reused);

    // Oracle: a fresh session with the same workspace and conversation computes everything itself.
    const fresh = new WorkspaceSession(e);
    fresh.setWorkspace(await build(e, dir));
    fresh.history.push(...s.history.slice(0, 4));
    const rf = await fresh.ask(q3, ASK);
    assert.equal(rf.reused, 0);
    assert.equal(rf.text, r3.text);
  });
}

test('persistence: restart loads the prefix; corrupt, truncated, mismatched and ill-fitting files are rebuilt', async () => {
  const e = await engine({ kind: 'full', dtype: 'f16' });
  const dir = fixtureDir();
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-kv-'));
  const ws = await build(e, dir);
  const start = async (): Promise<{ s: WorkspaceSession; store: FilePrefixStore; loaded: boolean }> => {
    const store = await FilePrefixStore.open(e, dir, { dir: cache });
    const s = new WorkspaceSession(e, { store });
    s.setWorkspace(ws);
    return { s, store, loaded: await s.restore() };
  };
  const q = 'Which file prints the total?';
  const a = await start();
  assert.equal(a.loaded, false);
  const ra = await a.s.ask(q, ASK);
  const prefix = a.s.promptIds(q).prefix.length;
  assert.equal(ra.reused, 0);
  assert.ok(fs.existsSync(a.store.file));

  const b = await start();
  assert.equal(b.loaded, true);
  assert.deepEqual(b.s.notes, [`loaded persisted KV state: ${prefix} tokens`]);
  const rb = await b.s.ask(q, ASK);
  assert.equal(rb.reused, prefix);
  assert.equal(rb.text, ra.text); // same cache contents, same tail

  const good = fs.readFileSync(a.store.file);
  const damaged: [string, () => void, RegExp][] = [
    ['corrupt', () => { const x = Buffer.from(good); x[x.length - 100]! ^= 1; fs.writeFileSync(a.store.file, x); }, /checksum mismatch/],
    ['truncated', () => fs.writeFileSync(a.store.file, good.subarray(0, good.length >> 1)), /truncated/],
    ['wrong version', () => {
      const v9 = Buffer.from(good.toString('latin1').replace('"format":1', '"format":9'), 'latin1').subarray(0, good.length - 32);
      fs.writeFileSync(a.store.file, Buffer.concat([v9, createHash('sha256').update(v9).digest()]));
    }, /format version 9, this PodLens reads 1/],
    ['other model', () => saveState(a.store.file, { ...a.store.id, modelSha256: '0'.repeat(64) }, [1, 2], b.s.cache.exportState()), /different model file/],
    ['ill-fitting', () => { const st = b.s.cache.exportState(); saveState(a.store.file, a.store.id, [1], { ...st, length: 1, ints: Int32Array.of(1) }); }, /buffer 0 has \d+ elements, expected/],
  ];
  for (const [what, damage, why] of damaged) {
    damage();
    const c = await start();
    assert.equal(c.loaded, false, what);
    assert.equal(c.s.notes.length, 1, what);
    assert.match(c.s.notes[0]!, why);
    assert.match(c.s.notes[0]!, /^persisted KV state not used: .*; rebuilding$/);
    const rc = await c.s.ask(q, ASK);
    assert.equal(rc.reused, 0, what);
    assert.equal(rc.text, ra.text, what);
    assert.deepEqual(fs.readFileSync(a.store.file).subarray(0, 8), good.subarray(0, 8), `${what}: the rebuilt state was saved again`);
  }
});

test('PoD persistence: after a restart, an edit to the last file restores the persisted last-block checkpoint', async () => {
  const e = await engine({ kind: 'pod', sinks: 4, recent: 64, dtype: 'f32' });
  const dir = fixtureDir();
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-kv-'));
  const a = new WorkspaceSession(e, { store: await FilePrefixStore.open(e, dir, { dir: cache }) });
  a.setWorkspace(await build(e, dir));
  await a.ask('What does the cart do?', ASK);
  assert.deepEqual(fs.readdirSync(cache).sort().map((f) => f.replace(/^[0-9a-f]+/, 'K')), ['K.kvstate', 'K.stable.kvstate']);

  const store = await FilePrefixStore.open(e, dir, { dir: cache });
  const b = new WorkspaceSession(e, { store });
  b.setWorkspace(await build(e, dir));
  assert.equal(await b.restore(), true);
  edit(dir);
  b.setWorkspace(await build(e, dir));
  const q = 'What is the total now?';
  const p = b.promptIds(q);
  const r = await b.ask(q, ASK);
  assert.equal(r.reused, p.lastBlockStart, r.how);
  assert.equal(r.how, `checkpoint at ${p.lastBlockStart}`);
  const fresh = new WorkspaceSession(e);
  fresh.setWorkspace(await build(e, dir));
  assert.equal((await fresh.ask(q, ASK)).text, r.text);
});
