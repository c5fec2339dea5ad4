// The workspace prefix persisted by the engine worker (issue 15; src/worker/sessions.ts over
// src/context/store.ts, src/context/session.ts) with SmolLM2-135M in real worker threads, driven
// the way the extension's chat drives them: the system text and the workspace blocks the host's
// chat context chose over a small workspace folder (src/host/chat/chat-context.ts) and every request
// names the store (`persist`). A cold answer saves
// the prefix's KV state; a new worker restores it and answers exactly as the cold run did (the
// imported buffers are the saved bytes: same state, same graph, so greedy tokens are equal, no
// tolerance); restore vs cold prefill time is printed (information only, no timing assertion).
// Never used, each with one log line that says why, the prefix computed again and saved over it:
// a corrupt or truncated file, changed file contents, a state saved for other cache settings.
// The size cap: the least recently used state is evicted, and a state larger than the cap is not
// kept. PoD (f16) restores exactly too, and the restored state is its in-memory checkpoint (PoD
// also keeps the last block's start on disk); PoD with the int8 distant store cannot export its
// state yet, so nothing is saved and the log says so.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient, GenerateDone } from '../src/host/engine-client';
import { readWorkspace } from '../src/context/read';
import { NodeFileSource } from '../src/context/source';
import { buildChatContext, promptBlocks, TokenCounts } from '../src/host/chat/chat-context';
import { PromptBlock } from '../src/context/build';
import { KVSettings, PersistTarget } from '../src/worker/protocol';
import { STATE_EXT } from '../src/context/persist';
import { workspaceKey } from '../src/context/store';
import { modelPath, ROOT, SMOLLM2 } from './helpers';

const WORKER = path.join(ROOT, 'out/src/worker/main.js');
const GREEDY = { temperature: 0, topK: 0, topP: 1, minP: 0, repeatPenalty: 1, seed: 0 };
const SYSTEM = 'You answer questions about this project. Cite file paths.';
const QUESTION = 'Which file predicts the water level?';
const POD: KVSettings = { kind: 'pod', sinks: 4, recent: 32, groupSize: 5, mode: 'scores' };
const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `podlens-${name}-`));

const FILES: Record<string, string> = {
  'README.md': '# Tide Tables\nPredicts harbour water levels from the tide extremes of each day.\n',
  'src/tide.ts':
    'export function predictLevel(t: number, high: number, low: number): number {\n  return (high + low) / 2 + ((high - low) / 2) * Math.cos(t);\n}\n',
  'src/harbour.ts':
    'export interface Harbour { name: string; range: number }\nexport const harbours: Harbour[] = [{ name: "Brest", range: 7.2 }, { name: "Dover", range: 6.1 }];\n',
};
function workspace(files: Record<string, string>): string {
  const root = tmp('persist-ws');
  for (const [p, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), text);
  }
  return root;
}
const ws = workspace(FILES);
const cacheDir = tmp('persist-kv');
const TARGET: PersistTarget = { workspace: ws, dir: cacheDir, capBytes: 256 * 2 ** 20 };

interface Worker {
  client: EngineClient;
  log: string[];
}
const workers: Worker[] = [];
after(async () => {
  for (const w of workers) await w.client.dispose();
});

async function startWorker(kv?: KVSettings): Promise<Worker> {
  const log: string[] = [];
  const client = new EngineClient({ workerPath: WORKER, log: (l) => log.push(l) });
  const w = { client, log };
  workers.push(w);
  await client.load(modelPath(SMOLLM2), { contextSize: 1024, ...(kv ? { kv } : {}) });
  return w;
}

interface Prompt {
  system: string;
  blocks: PromptBlock[];
}

/** The chat's system text and workspace blocks for a folder, as ChatPrompt.prepare builds them (workspace chip only). */
async function systemMessage(w: Worker, root: string): Promise<Prompt> {
  const built = await buildChatContext(
    {
      root,
      enabled: { workspace: true, file: false, selection: false },
      budgetTokens: 600,
      count: (t) => w.client.count(t),
      // The read the host's reader thread makes (src/worker/reader-main.ts), here in-process.
      readWorkspace: (signal) =>
        readWorkspace(new NodeFileSource(root), {
          budgetTokens: 600,
          count: (t) => w.client.count(t),
          ...(signal ? { signal } : {}),
        }),
    },
    new TokenCounts(),
  );
  assert.equal(built.ws.included.length, 3, 'every file is in the context');
  return { system: SYSTEM, blocks: promptBlocks(built) };
}

async function ask(
  w: Worker,
  session: string,
  system: Prompt,
  persist: PersistTarget | undefined,
  question = QUESTION,
): Promise<{ done: GenerateDone; ttftMs: number; log: string[] }> {
  const from = w.log.length;
  const t0 = performance.now();
  let ttft = 0;
  const done = await w.client.generate(
    {
      session,
      ...system,
      messages: [{ role: 'user', content: question }],
      maxTokens: 16,
      sampler: GREEDY,
      ...(persist ? { persist } : {}),
    },
    {
      onDelta: () => {
        if (ttft === 0) ttft = performance.now() - t0;
      },
    },
  ).done;
  return { done, ttftMs: ttft || performance.now() - t0, log: w.log.slice(from) };
}

const states = (dir: string): string[] =>
  fs
    .readdirSync(dir)
    .filter((n) => n.endsWith(STATE_EXT))
    .sort();
const SAVED = /^workspace KV state saved: (\d+) tokens, [\d.]+ MB \((.+)\), \d+ ms$/;
const RESTORED = /^workspace KV state restored from disk: (\d+) tokens, [\d.]+ MB \((.+)\), \d+ ms$/;
const notUsed = (why: string): RegExp =>
  new RegExp(`^workspace KV state on disk not used: ${why}; reading the workspace again$`);
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Shared by the tests below: the cold full-cache run and the worker that restored it. */
let cold: { text: string; promptTokens: number; prefix: number; file: string; system: Prompt } | undefined;
let warm: Worker | undefined;

test('full cache: a new worker restores the saved workspace prefix and answers exactly as the cold run', async () => {
  const a = await startWorker();
  const system = await systemMessage(a, ws);
  const c = await ask(a, 'chat', system, TARGET);
  await a.client.dispose();
  assert.equal(c.done.restoredTokens, undefined);
  assert.equal(c.done.stats.reusedTokens, 0);
  assert.match(
    c.log[0]!,
    /^no workspace KV state on disk for this workspace, model and cache settings \(.+\); reading the workspace$/,
  );
  const saved = SAVED.exec(c.log[1] ?? '');
  assert.ok(saved, c.log.join('\n'));
  assert.equal(c.log.length, 2, c.log.join('\n'));
  const prefix = Number(saved[1]);
  assert.ok(prefix > 150 && prefix < c.done.stats.promptTokens, `prefix ${prefix} of ${c.done.stats.promptTokens}`);
  const file = saved[2]!;
  assert.deepEqual(states(cacheDir), [path.basename(file)]);
  assert.ok(
    path.basename(file).startsWith(workspaceKey(ws)),
    'named for the workspace folder (what Clear Workspace Cache deletes)',
  );
  assert.deepEqual(fs.readdirSync(cacheDir), [path.basename(file)], 'no temp file left');
  cold = { text: c.done.text, promptTokens: c.done.stats.promptTokens, prefix, file, system };

  // A window reload: a new worker, a new session, the same workspace.
  const b = await startWorker();
  warm = b;
  assert.deepEqual(await systemMessage(b, ws), system, 'the host builds the same prompt again');
  const r = await ask(b, 'chat', system, TARGET);
  assert.equal(r.done.restoredTokens, prefix);
  const restored = RESTORED.exec(r.log[0] ?? '');
  assert.ok(restored, r.log.join('\n'));
  assert.equal(Number(restored[1]), prefix);
  assert.equal(restored[2], file);
  assert.equal(r.log.length, 1, 'nothing saved again');
  assert.equal(r.done.stats.reusedTokens, prefix);
  assert.equal(r.done.stats.promptTokens, c.done.stats.promptTokens - prefix);
  // Exact: the restored buffers are the saved bytes, and both runs computed the tail from them.
  assert.equal(r.done.text, c.done.text);
  assert.equal(r.done.stats.generatedTokens, c.done.stats.generatedTokens);
  // Both TTFTs are a fresh worker's first answer (its first ONNX Runtime run is slow); the restore
  // itself (model hash if still running, read, checksum, import) is the ms in its log line.
  console.log(
    `# full cache, ${prefix}-token workspace prefix: cold TTFT ${c.ttftMs.toFixed(0)} ms (prefill ${c.done.stats.prefillMs.toFixed(0)} ms), ` +
      `restored TTFT ${r.ttftMs.toFixed(0)} ms (${(c.ttftMs / r.ttftMs).toFixed(1)}× faster; restore ${/(\d+) ms$/.exec(r.log[0]!)![1]} ms; information only)`,
  );
});

test('a corrupt or truncated state file is not used: rebuilt, the same answer, saved again', async () => {
  assert.ok(cold && warm, 'runs after the restore test');
  const good = fs.readFileSync(cold.file);
  const bad = Buffer.from(good);
  bad[bad.length >> 1]! ^= 0x40; // inside the K/V payload
  fs.writeFileSync(cold.file, bad);
  const r1 = await ask(warm, 'corrupt', cold.system, TARGET);
  assert.equal(r1.done.restoredTokens, undefined);
  assert.equal(r1.done.stats.reusedTokens, 0);
  assert.match(r1.log[0]!, notUsed(`${esc(path.basename(cold.file))}: checksum mismatch \\(corrupt file\\)`));
  assert.match(r1.log[1]!, SAVED);
  assert.equal(r1.done.text, cold.text);

  fs.writeFileSync(cold.file, fs.readFileSync(cold.file).subarray(0, good.length - 1000));
  const r2 = await ask(warm, 'truncated', cold.system, TARGET);
  assert.equal(r2.done.restoredTokens, undefined);
  assert.match(r2.log[0]!, notUsed(`${esc(path.basename(cold.file))}: truncated \\(\\d+ of ${good.length} bytes\\)`));
  assert.match(r2.log[1]!, SAVED);
  assert.equal(r2.done.text, cold.text);

  // What was saved over it is whole: the next new session restores it.
  const r3 = await ask(warm, 'after-rebuild', cold.system, TARGET);
  assert.equal(r3.done.restoredTokens, cold.prefix);
  assert.equal(r3.done.text, cold.text);
  assert.deepEqual(states(cacheDir), [path.basename(cold.file)]);
});

test('changed file contents: the saved state is not used; the new prefix is computed, saved over it and restored next time', async () => {
  assert.ok(cold && warm, 'runs after the restore test');
  fs.writeFileSync(
    path.join(ws, 'src/tide.ts'),
    FILES['src/tide.ts']!.replace('Math.cos(t)', 'Math.cos((2 * Math.PI * t) / 12.42)'),
  );
  try {
    const system = await systemMessage(warm, ws);
    assert.notDeepEqual(system, cold.system);
    const r1 = await ask(warm, 'edited', system, TARGET);
    assert.equal(r1.done.restoredTokens, undefined);
    assert.equal(r1.done.stats.reusedTokens, 0);
    assert.match(
      r1.log[0]!,
      notUsed(
        `the workspace context changed \\(saved ${cold.prefix} tokens, now \\d+, first difference at token \\d+\\)`,
      ),
    );
    const saved = SAVED.exec(r1.log[1] ?? '');
    assert.ok(saved, r1.log.join('\n'));
    assert.equal(saved[2], cold.file, 'saved over the old state (one file per workspace, model and plan)');
    assert.deepEqual(states(cacheDir), [path.basename(cold.file)]);
    const r2 = await ask(warm, 'edited-again', system, TARGET);
    assert.equal(r2.done.restoredTokens, Number(saved[1]));
    assert.equal(r2.done.text, r1.done.text);
  } finally {
    fs.writeFileSync(path.join(ws, 'src/tide.ts'), FILES['src/tide.ts']!);
  }
});

test('the size cap: the least recently used state is evicted; a state larger than the cap is not kept', async () => {
  assert.ok(cold && warm, 'runs after the restore test');
  const dir = tmp('persist-cap');
  const first = await ask(warm, 'cap-1', cold.system, { workspace: ws, dir, capBytes: 256 * 2 ** 20 });
  assert.match(first.log.at(-1)!, SAVED);
  const [mine] = states(dir);
  const size = fs.statSync(path.join(dir, mine!)).size;
  // Another workspace folder with the same files: the same prefix, the same size, another file.
  const other = workspace(FILES);
  try {
    const cap = Math.floor(1.5 * size);
    const second = await ask(warm, 'cap-2', await systemMessage(warm, other), { workspace: other, dir, capBytes: cap });
    assert.match(second.log.at(-1)!, SAVED);
    assert.ok(
      second.log.includes(`workspace KV state: evicted ${mine} (KV state cache over ${cap} bytes)`),
      second.log.join('\n'),
    );
    const left = states(dir);
    assert.equal(left.length, 1);
    assert.ok(left[0]!.startsWith(workspaceKey(other)), 'the newest state is kept');
    assert.ok(left.reduce((a, n) => a + fs.statSync(path.join(dir, n)).size, 0) <= cap);

    // A cap below one state: nothing is kept, and the folder keeps to the new cap.
    const tiny = await ask(warm, 'cap-3', cold.system, { workspace: ws, dir, capBytes: 2 ** 20 });
    assert.match(
      tiny.log.at(-1)!,
      /^workspace KV state not saved: the KV state \([\d.]+ MB\) is larger than the cache size cap \(1\.0 MB\); not saved$/,
    );
    assert.deepEqual(states(dir), []);
    assert.equal(tiny.done.text, cold.text);
  } finally {
    fs.rmSync(other, { recursive: true, force: true });
  }
});

test('PoD (f16): restored exactly in a new worker and used as its checkpoint; a state of other cache settings is not used; int8 distant storage is saved and restored too', async () => {
  assert.ok(cold, 'runs after the restore test');
  const p1 = await startWorker(POD);
  const c = await ask(p1, 'chat', cold.system, TARGET);
  await p1.client.dispose();
  const saved = SAVED.exec(c.log[1] ?? '');
  assert.ok(saved, c.log.join('\n'));
  assert.equal(Number(saved[1]), cold.prefix, 'the same prefix');
  const podFile = saved[2]!;
  assert.notEqual(podFile, cold.file, 'another plan, another file');
  // A cache that cannot rewind also keeps its state at the last block's start (an edit to the last file starts there).
  const stable = /^workspace KV checkpoint saved: (\d+) tokens, [\d.]+ MB \((.+)\), \d+ ms$/.exec(c.log[2] ?? '');
  assert.ok(stable && Number(stable[1]) < cold.prefix, c.log.join('\n'));
  assert.equal(c.log.length, 3, c.log.join('\n'));
  assert.deepEqual(
    states(cacheDir),
    [path.basename(cold.file), path.basename(podFile), path.basename(stable[2]!)].sort(),
  );

  const p2 = await startWorker(POD);
  const r = await ask(p2, 'chat', cold.system, TARGET);
  assert.equal(r.done.restoredTokens, cold.prefix);
  assert.match(r.log[0]!, RESTORED);
  assert.equal(r.done.text, c.done.text, 'exact: the restored PoD state is the saved one');
  console.log(
    `# PoD f16, ${cold.prefix}-token prefix: cold TTFT ${c.ttftMs.toFixed(0)} ms, restored TTFT ${r.ttftMs.toFixed(0)} ms ` +
      `(restore ${/(\d+) ms$/.exec(r.log[0]!)![1]} ms; information only)`,
  );
  // Tokens are in the distant store, so a follow-up whose history differs from the generated
  // answer cannot rewind: it restores the checkpoint at the end of the system message — the
  // state read from disk.
  const follow = await p2.client.generate({
    session: 'chat',
    maxTokens: 8,
    sampler: GREEDY,
    persist: TARGET,
    ...cold.system,
    messages: [
      { role: 'user', content: QUESTION },
      { role: 'assistant', content: 'README.md, I think.' },
      { role: 'user', content: 'And the harbours?' },
    ],
  }).done;
  assert.equal(follow.stats.reusedTokens, cold.prefix);
  assert.equal(follow.restoredTokens, undefined, 'in memory, not from disk');

  // The full cache's state under the PoD states' names: the header says another plan.
  fs.copyFileSync(cold.file, podFile);
  fs.copyFileSync(cold.file, stable[2]!);
  const m = await ask(p2, 'mismatch', cold.system, TARGET);
  assert.equal(m.done.restoredTokens, undefined);
  assert.match(m.log[0]!, notUsed(`${esc(path.basename(podFile))}: saved for a different KV cache plan`));
  assert.equal(
    m.log[1],
    `workspace KV checkpoint on disk not used: ${path.basename(stable[2]!)}: saved for a different KV cache plan`,
  );
  assert.match(m.log[2]!, SAVED);
  assert.equal(m.done.text, c.done.text);

  // int8 distant storage: saved as decoded rows and quantized again on restore (the same codes).
  await p2.client.load(modelPath(SMOLLM2), { contextSize: 1024, kv: { ...POD, distantQuant: 'int8' } });
  const before = states(cacheDir);
  const i8 = await ask(p2, 'int8', cold.system, TARGET);
  assert.ok(i8.done.stats.generatedTokens > 0);
  assert.match(i8.log[0]!, /^no workspace KV state on disk for this workspace, model and cache settings/);
  const i8saved = SAVED.exec(i8.log[1] ?? '');
  assert.ok(i8saved, i8.log.join('\n'));
  assert.equal(
    states(cacheDir).length,
    before.length + 2,
    'states of its own (another plan): the prefix and the checkpoint at the last block',
  );
  const p3 = await startWorker({ ...POD, distantQuant: 'int8' });
  const i8r = await ask(p3, 'int8', cold.system, TARGET);
  assert.equal(i8r.done.restoredTokens, cold.prefix);
  assert.equal(i8r.done.text, i8.done.text, 'the restored int8 state answers as the cold one');
});

test('without `persist` nothing is read or written', async () => {
  assert.ok(cold && warm, 'runs after the restore test');
  const before = fs.readdirSync(cacheDir).map((n) => `${n} ${fs.statSync(path.join(cacheDir, n)).mtimeMs}`);
  const r = await ask(warm, 'plain', cold.system, undefined);
  assert.deepEqual(r.log, []);
  assert.equal(r.done.restoredTokens, undefined);
  assert.equal(r.done.stats.reusedTokens, 0);
  assert.deepEqual(
    fs.readdirSync(cacheDir).map((n) => `${n} ${fs.statSync(path.join(cacheDir, n)).mtimeMs}`),
    before,
  );
});
