// The workspace reader (src/host/workspace/reader-client.ts → src/worker/reader-main.ts → src/context/read.ts)
// on real files: exclusion reasons on a fixture tree (binary by name and by content, a file over
// the size limit, .gitignore, .podlensignore and the built-in list, lock file, over the token
// budget: too long and not read) with the summary lines; token counts equal to the real
// tokenizer's (SmolLM2, built in this thread) block by block; progress events on a big real tree
// (node_modules/eslint/lib, ~730K Qwen tokens) arrive and are monotone; cancel stops within a
// bounded number of files and the reader keeps serving (its tokenizer cached); the shared-read
// cache (src/host/workspace/workspace-reads.ts) aborts a read only when every caller cancelled; the chat's
// prompt takes the workspace's counts from the reader (the engine counts none of its files),
// reports progress, logs the read's summary and can be stopped mid-read; and the
// host's event loop stays free while the reader tokenizes a big tree with Qwen2.5-Coder (max lag
// under a generous bound, event-loop utilization far below a same-thread control run).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileBlock } from '../src/context/build';
import { Fill, NOT_READ, progressLabel, ReadProgress, readWorkspace, TOO_LONG } from '../src/context/read';
import { exclusionKind, exclusionLines } from '../src/context/read-summary';
import { NodeFileSource } from '../src/context/source';
import { GGUFFile } from '../src/engine/gguf/file';
import { Tokenizer } from '../src/engine/tokenizer';
import { ChatPrompt } from '../src/host/chat/chat-prompt';
import { systemContent } from '../src/context/prompt';
import { ReaderClient } from '../src/host/workspace/reader-client';
import { readSettings } from '../src/host/settings';
import { ReadOutcome, StartRead, WorkspaceReads } from '../src/host/workspace/workspace-reads';
import { modelPath, ROOT, SMOLLM2 } from './helpers';

const QWEN = 'qwen2.5-coder-0.5b-instruct.gguf';
const BIG_TREE = path.join(ROOT, 'node_modules/eslint/lib');
const reader = new ReaderClient({ workerPath: path.join(ROOT, 'out/src/worker/reader-main.js') });
let ws = '';

function tokenizer(file: string): (text: string) => number {
  const f = GGUFFile.open(modelPath(file));
  const tok = Tokenizer.fromGGUF(f);
  f.close();
  return (t) => tok.encode(t, { addBos: false, parseSpecial: false }).length;
}

const put = (rel: string, data: string | Buffer, mtimeS?: number): void => {
  const p = path.join(ws, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
  if (mtimeS !== undefined) fs.utimesSync(p, mtimeS, mtimeS);
};

before(() => {
  ws = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-reader-'));
  // Counted in mtime order (oldest first): app, util, long (too long for the budget of the first
  // test), guide (fills that budget exactly), later (not read: the budget was full).
  put('src/app.ts', 'export function main(args: string[]): number {\n  return args.length;\n}\n', 1000);
  put(
    'src/util.ts',
    '// special-token text stays text: <|im_start|>system <|im_end|>\r\nexport const greet = (n: string) => `héllo ${n} 👋`;\n',
    2000,
  );
  put('src/long.ts', `export const table = [\n${'  0x1f, 0x2e, 0x3d, 0x4c,\n'.repeat(800)}];\n`, 3000);
  put(
    'docs/guide.md',
    `# Guide\n\n${'The parser reads each file, the renderer draws it, and the cache keeps what did not change.\n'.repeat(30)}`,
    4000,
  );
  put('docs/later.md', '# Later\nRead after the budget was full.\n', 5000);
  put('assets/logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
  put('data/blob.dat', Buffer.from([1, 2, 3, 0, 4, 5, 0, 6]));
  put('huge.txt', 'z'.repeat(299_999) + '\n');
  put('secret.env', 'TOKEN=abc\n');
  put('.gitignore', 'secret.env\n');
  put('.podlensignore', 'private/\n');
  put('private/notes.md', 'not for the model\n');
  put('node_modules/dep/index.js', 'module.exports = 1;\n');
  put('package-lock.json', '{}\n');
});
after(async () => {
  await reader.dispose();
  fs.rmSync(ws, { recursive: true, force: true });
});

test('exclusion reasons on a fixture tree: binary, too large, ignored (.gitignore, .podlensignore, built-in), lock, over budget; summary lines', async () => {
  // A budget that app, util and guide fill exactly (read.ts `Fill`: counting stops once it is full).
  const count = tokenizer(SMOLLM2);
  const block = (p: string): number => count(fileBlock(p, fs.readFileSync(path.join(ws, p), 'utf8')));
  const budgetTokens = block('src/app.ts') + block('src/util.ts') + block('docs/guide.md');
  assert.ok(fs.statSync(path.join(ws, 'src/long.ts')).size > budgetTokens * 16 + 64, 'long.ts cannot fit');
  const { result: r } = await reader.read({ root: ws, model: modelPath(SMOLLM2), budgetTokens }).done;
  const why = Object.fromEntries(r.excluded.map((e) => [e.path, e.reason]));
  assert.deepEqual(why, {
    'assets/logo.png': 'binary (by extension)',
    'data/blob.dat': 'binary (NUL bytes)',
    'huge.txt': 'larger than 262144 bytes (300000)',
    'package-lock.json': 'lock file',
    'secret.env': 'ignored (.gitignore)',
    'src/long.ts': TOO_LONG,
    'docs/later.md': NOT_READ,
  });
  assert.deepEqual(Object.fromEntries(r.excluded.map((e) => [e.path, exclusionKind(e.reason)])), {
    'assets/logo.png': 'binary',
    'data/blob.dat': 'binary',
    'huge.txt': 'too large',
    'package-lock.json': 'other',
    'secret.env': 'ignored',
    'src/long.ts': 'over budget',
    'docs/later.md': 'over budget',
  });
  assert.deepEqual(r.skipped, [
    { rule: 'built-in list', count: 1, examples: ['node_modules/'] },
    { rule: '.podlensignore', count: 1, examples: ['private/'] },
  ]);
  assert.deepEqual(r.notRead, ['docs/later.md']);
  // Counted in cache order (oldest first); only counted files carry their text back.
  assert.deepEqual(
    r.files.filter((f) => f.tokens !== undefined).map((f) => f.path),
    ['src/app.ts', 'src/util.ts', 'docs/guide.md'],
  );
  assert.ok(r.files.filter((f) => f.tokens === undefined).every((f) => f.text === undefined));
  const lines = exclusionLines(r);
  assert.equal(lines[0], 'excluded 7: 2 binary, 1 too large, 1 ignored, 2 over budget, 1 other');
  assert.match(
    lines.find((l) => l.startsWith('largest excluded: '))!,
    /^largest excluded: huge\.txt 293 KB \(larger than 262144 bytes\); src\/long\.ts /,
  );
  assert.ok(
    lines.includes(
      'skipped by the ignore lists (not listed): 1 by built-in list (node_modules/); 1 by .podlensignore (private/)',
    ),
    lines.join('\n'),
  );
});

test("token counts are the real tokenizer's (SmolLM2), block by block, with special-token text, CRLF and emoji", async () => {
  const count = tokenizer(SMOLLM2);
  const { result: r, memory } = await reader.read({ root: ws, model: modelPath(SMOLLM2) }).done;
  const counted = r.files.filter((f) => f.tokens !== undefined);
  assert.deepEqual(
    counted.map((f) => f.path),
    ['src/app.ts', 'src/util.ts', 'src/long.ts', 'docs/guide.md', 'docs/later.md'],
    'no budget: every text file',
  );
  for (const f of counted) assert.equal(f.tokens, count(fileBlock(f.path, f.text!)), f.path);
  assert.equal(
    r.tokens,
    counted.reduce((a, f) => a + f.tokens!, 0),
  );
  // In-thread reference: the same module on the same files gives the same result.
  const same = await readWorkspace(new NodeFileSource(ws), { count: (t) => t.map(count) });
  assert.deepEqual(
    same.files.map((f) => [f.path, f.tokens]),
    r.files.map((f) => [f.path, f.tokens]),
  );
  assert.ok(memory.peakHeapBytes > 0 && memory.maxRssBytes > 0);
});

test('progress on a big real tree: events arrive, phases scan → count, files / tokens / time monotone, last = result', async () => {
  const events: ReadProgress[] = [];
  const { result: r } = await reader.read({ root: BIG_TREE, model: modelPath(SMOLLM2), progressEveryMs: 0 }, (p) =>
    events.push(p),
  ).done;
  assert.ok(r.tokens >= 100_000, `${r.tokens} tokens: the tree must be big`);
  const scan = events.filter((e) => e.phase === 'scan'),
    count = events.filter((e) => e.phase === 'count');
  assert.ok(scan.length > 0 && count.length > 0);
  assert.ok(
    events.indexOf(count[0]!) > events.lastIndexOf(scan.at(-1)!),
    'every scan event before the first count event',
  );
  for (let i = 1; i < events.length; i++)
    assert.ok(events[i]!.elapsedMs >= events[i - 1]!.elapsedMs, `elapsed at ${i}`);
  for (const [i, e] of count.entries()) {
    assert.equal(e.filesTotal, count[0]!.filesTotal);
    if (i === 0) continue;
    assert.ok(e.filesDone >= count[i - 1]!.filesDone && e.tokens >= count[i - 1]!.tokens, `count event ${i} went back`);
  }
  const last = count.at(-1)!;
  assert.deepEqual([last.filesDone, last.filesTotal, last.tokens], [r.files.length, r.files.length, r.tokens]);
  assert.ok(
    count.some((e) => e.etaMs !== undefined),
    'an ETA once a rate is known',
  );
  console.log(`# ${BIG_TREE}: ${r.files.length} files, ${r.tokens} SmolLM2 tokens, ${events.length} progress events`);
});

test('cancel stops the read within a bounded number of files; the reader keeps its tokenizer and serves the next call', async (t) => {
  // A reader of its own: the shared one remembers the counts of eslint's files from the test above,
  // and remembered files take microseconds (the bound below is about files that cost tokenizing).
  const reader = new ReaderClient({ workerPath: path.join(ROOT, 'out/src/worker/reader-main.js') });
  t.after(() => reader.dispose());
  let seenAtAbort = -1,
    total = 0,
    t0 = 0;
  const job = reader.read({ root: BIG_TREE, model: modelPath(SMOLLM2), progressEveryMs: 0 }, (p) => {
    if (p.phase !== 'count') return;
    total = p.filesTotal;
    if (seenAtAbort < 0 && p.filesDone >= 10) {
      seenAtAbort = p.filesDone;
      t0 = performance.now();
      job.abort();
    }
  });
  const err = await job.done.then(
    () => assert.fail('the read finished'),
    (e: unknown) => e as Error,
  );
  assert.equal(err.name, 'AbortError');
  // The reader counts the files whose count ended after the abort was sent (progress messages seen
  // here lag behind the thread, so they cannot say). It yields to its messages every 20 ms of
  // counting (reader-main.ts YIELD_MS): the file being counted plus ~20 ms of files (eslint's are
  // 1–60 KB, ~1–10 ms each); 25 files is that with a wide margin for a loaded machine.
  const after = Number(/\((\d+) files counted after the request was sent\)$/.exec(err.message)?.[1] ?? NaN);
  assert.ok(after <= 25, err.message);
  assert.ok(seenAtAbort >= 10 && total > 300, `aborted when ${seenAtAbort} of ${total} files were reported`);
  console.log(
    `# abort sent when ${seenAtAbort} of ${total} files were reported; ${after} files counted after it was sent; rejected ${(performance.now() - t0).toFixed(0)} ms after`,
  );
  const early = reader.read({ root: BIG_TREE, model: modelPath(SMOLLM2) });
  early.abort();
  await assert.rejects(early.done, { name: 'AbortError' });
  const next = await reader.read({ root: ws, model: modelPath(SMOLLM2) }).done;
  assert.equal(next.memory.tokenizerMs, 0, 'the tokenizer was kept');
  assert.equal(next.result.files.length, 5);
  assert.deepEqual(await reader.probe(modelPath(SMOLLM2)), { supported: true, note: 'llama, 30 layers' });
});

test('Fill: counting stops when the blocks taken in order fill the budget (a block that does not fit is skipped), or at 64 characters per budget token', () => {
  const f = new Fill(100);
  f.add(60, 240);
  f.add(50, 200); // does not fit the 40 left: skipped, the room stays
  assert.equal(f.full, false);
  f.add(39, 150);
  assert.equal(f.full, true, '1 token left: under 2% of the budget');
  const h = new Fill(100);
  h.add(5000, 6401); // a digit-dense file: counted, does not fit, but the work is capped
  assert.equal(h.full, true);
  assert.equal(new Fill(Infinity).full, false, 'no budget: never full');
});

test('shared reads: joined by a second caller, aborted only when every caller cancelled, cached until invalidate()', async () => {
  const jobs: { aborted: boolean; resolve(o: ReadOutcome): void }[] = [];
  // A fake reader: each read settles when the test says so; abort() only records that it was asked.
  const start: StartRead = () => {
    let settle: (o: ReadOutcome) => void = () => undefined;
    const done = new Promise<ReadOutcome>((resolve) => {
      settle = resolve;
    });
    const j = { aborted: false, resolve: (o: ReadOutcome): void => settle(o) };
    jobs.push(j);
    return {
      id: jobs.length,
      done,
      abort: () => {
        j.aborted = true;
      },
    };
  };
  const out: ReadOutcome = {
    result: {
      files: [],
      excluded: [],
      unlisted: 0,
      skipped: [],
      notRead: [],
      tokens: 0,
      filesSeen: 0,
      walkMs: 0,
      countMs: 0,
    },
  };
  const reads = new WorkspaceReads(start);
  const req = { root: '/ws', budgetTokens: 100 };
  const a = new AbortController(),
    b = new AbortController();
  const pa = reads.get(req, { maxAgeMs: 60_000, signal: a.signal });
  const pb = reads.get(req, { maxAgeMs: 60_000, signal: b.signal });
  assert.equal(jobs.length, 1, 'the second caller joins the running read');
  a.abort();
  await assert.rejects(pa, { name: 'AbortError' });
  assert.equal(jobs[0]!.aborted, false, 'one caller left: the read goes on');
  jobs[0]!.resolve(out);
  assert.equal(await pb, out);
  assert.equal(await reads.get(req, { maxAgeMs: 60_000 }), out, 'cached');
  assert.equal(jobs.length, 1);
  reads.invalidate();
  const c = new AbortController();
  const pc = reads.get(req, { maxAgeMs: 60_000, signal: c.signal });
  assert.equal(jobs.length, 2, 'invalidated: read again');
  c.abort();
  await assert.rejects(pc, { name: 'AbortError' });
  assert.equal(jobs[1]!.aborted, true, 'its only caller cancelled: the read is stopped');
});

test('the chat prompt reads the workspace in the reader: real counts, none by the engine; progress; summary logged; Stop mid-read', async () => {
  const count = tokenizer(SMOLLM2);
  const engineTexts: string[] = [];
  const engine = {
    info: { contextSize: 2048 },
    modelPath: modelPath(SMOLLM2),
    async count(texts: string[]) {
      engineTexts.push(...texts);
      return texts.map(count);
    },
  };
  const settings = readSettings({
    get: <T>(k: string) =>
      (({ 'generation.maxTokens': 100, 'chat.systemPrompt': 'Be brief.' }) as Record<string, unknown>)[k] as T,
  });
  const logs: string[] = [];
  const prompt = new ChatPrompt({
    root: () => ws,
    editor: () => undefined,
    settings: () => settings,
    emit: () => undefined,
    reader,
    log: (l) => logs.push(l),
  });
  const labels: string[] = [];
  const r = await prompt.prepare(engine, [], undefined, 0, (p) => labels.push(progressLabel(p)));
  const { view } = r;
  const system = systemContent(r.system, r.blocks); // the system message the worker renders
  assert.match(system, /### File: src\/app\.ts/);
  assert.ok(
    !engineTexts.some((t) => t.startsWith('### File:')),
    'workspace files are counted in the reader, not by the engine',
  );
  const blocks = system.slice(system.indexOf('### File')).split(/(?=### File: )/);
  assert.equal(
    view.chips[0]!.tokens,
    blocks.reduce((a, b) => a + count(b), 0),
    'the chip says the real tokens of what the prompt holds',
  );
  assert.ok(
    labels.some((l) => /^reading the workspace: \d+ of \d+ files, [\d,]+ tokens/.test(l)),
    labels.join(' | '),
  );
  // The output channel's summary: what was read and counted, exclusions per kind, the largest excluded.
  const log = logs.at(-1)!.split('\n');
  assert.ok(log[0]!.startsWith(`workspace read of ${ws}: 9 files seen, 5 text files, 5 counted (`), log[0]);
  assert.equal(log[1], '  excluded 5: 2 binary, 1 too large, 1 ignored, 1 other');
  assert.ok(
    log.some((l) => l.startsWith('  largest excluded: huge.txt 293 KB (larger than 262144 bytes); ')),
    log.join('\n'),
  );
  assert.match(log.at(-1)!, /^ {2}reader thread: JS heap peak [\d.]+ MB, process peak RSS [\d.]+ MB/);
  // Stop while reading: the answer's prepare rejects as aborted; the next one works.
  const ac = new AbortController();
  await assert.rejects(
    prompt.prepare(engine, [], ac.signal, 0, () => ac.abort()),
    { name: 'AbortError' },
  );
  assert.ok((await prompt.prepare(engine, [], undefined, 0)).blocks.some((b) => b.path === 'src/app.ts'));
});

/** Max event-loop block (10 ms heartbeat, the gap at the end included) and the loop's utilization while `f` runs. */
async function hostLoad<T>(f: () => Promise<T>): Promise<{ value: T; maxLagMs: number; elu: number }> {
  let last = performance.now(),
    max = 0;
  const beat = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last - 10);
    last = now;
  }, 10);
  await new Promise((r) => setTimeout(r, 30));
  const e0 = performance.eventLoopUtilization();
  const value = await f();
  max = Math.max(max, performance.now() - last - 10);
  const elu = performance.eventLoopUtilization(e0).utilization;
  clearInterval(beat);
  return { value, maxLagMs: max, elu };
}

test("the host event loop is not blocked while the reader builds Qwen's tokenizer and tokenizes a big tree", async () => {
  const fresh = new ReaderClient({ workerPath: path.join(ROOT, 'out/src/worker/reader-main.js') });
  try {
    const off = await hostLoad(() => fresh.read({ root: BIG_TREE, model: modelPath(QWEN) }).done);
    // Control: the same read on this thread (what the host did before the reader worker).
    const on = await hostLoad(async () => {
      const count = tokenizer(QWEN);
      return readWorkspace(new NodeFileSource(BIG_TREE), { count: (t) => t.map(count) });
    });
    const r = off.value.result;
    console.log(
      `# ${r.files.length} files, ${r.tokens} Qwen tokens; reader thread: host max lag ${off.maxLagMs.toFixed(0)} ms, loop utilization ${off.elu.toFixed(2)}; ` +
        `same read on the host thread: max lag ${on.maxLagMs.toFixed(0)} ms, utilization ${on.elu.toFixed(2)}`,
    );
    assert.equal(on.value.tokens, r.tokens, 'same counts on either thread');
    // Off-thread the host only receives progress messages and the result (a few ms of work); the
    // bound leaves room for a shared 2-core VM descheduling this thread (gaps up to ~400 ms were
    // seen at load 7.5). On the host thread the same read blocks for the tokenizer build plus the
    // whole count phase (≈ 2.5 s here).
    assert.ok(off.maxLagMs < 1000, `host max lag ${off.maxLagMs.toFixed(0)} ms with the reader thread`);
    // Utilization is a ratio, not a time: ~1 when the work is on this thread, small when it is not.
    assert.ok(
      off.elu < 0.5 && on.elu > 2 * off.elu,
      `loop utilization ${off.elu.toFixed(2)} (reader) vs ${on.elu.toFixed(2)} (same thread)`,
    );
  } finally {
    await fresh.dispose();
  }
});
