// Measures one workspace read in the reader worker (src/host/workspace/reader-client.ts → src/worker/
// reader-main.ts) the way the extension does it: what gets in and what is excluded and why, wall
// time (walk and tokenize), the reader's memory, and the event-loop lag of this (the "host")
// thread while it runs; then model discovery's GGUF header check of the model file. With
// --in-thread it also runs the same read and header check on this thread (what the host did
// before the reader worker) to show the lag the worker avoids. The numbers in
// docs/workspace-reading.md come from it. Not part of `npm test` (test/walk-reader.test.ts
// asserts the properties; this prints the measurement).
//
//   npx tsc -p . && node out/scripts/measure-workspace-read.js FOLDER [--model GGUF] [--budget N] [--in-thread]
//   --model: tokenizer (default models/qwen2.5-coder-0.5b-instruct.gguf); --budget: prompt tokens
//   (default: none, every text file is tokenized); --in-thread: also the same read on this thread.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildContext, fileBlock } from '../src/context/build';
import { progressLabel, readWorkspace } from '../src/context/read';
import { exclusionLines, formatBytes, thousands } from '../src/context/read-summary';
import { MemoryFileSource, NodeFileSource } from '../src/context/source';
import { GGUFFile } from '../src/engine/gguf/file';
import { Tokenizer } from '../src/engine/tokenizer';
import { ReaderClient } from '../src/host/workspace/reader-client';
import { checkGGUF } from '../src/worker/gguf-probe';

const ROOT = path.resolve(__dirname, '..', '..');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`;

/**
 * The longest time this thread's event loop was blocked while `f` ran: a 10 ms heartbeat timer,
 * and the gap since its last beat at the end (so a block that ends with `f` counts too;
 * monitorEventLoopDelay alone misses a block right after enable() or right before disable()).
 * p99 comes from monitorEventLoopDelay.
 */
async function lagDuring<T>(f: () => Promise<T>): Promise<{ value: T; maxMs: number; p99Ms: number; ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  let last = performance.now(),
    max = 0;
  const beat = setInterval(() => {
    const now = performance.now();
    max = Math.max(max, now - last - 10);
    last = now;
  }, 10);
  await new Promise((r) => setTimeout(r, 30));
  const t0 = performance.now();
  const value = await f();
  const ms = performance.now() - t0;
  max = Math.max(max, performance.now() - last - 10);
  await new Promise((r) => setTimeout(r, 30));
  clearInterval(beat);
  h.disable();
  return { value, maxMs: Math.max(0, max), p99Ms: h.percentile(99) / 1e6, ms };
}

async function main(): Promise<void> {
  const folder = process.argv[2];
  if (!folder || folder.startsWith('--') || !fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory())
    throw new Error('usage: measure-workspace-read FOLDER [--model GGUF] [--budget N] [--in-thread]');
  const root = path.resolve(folder);
  const model = path.resolve(arg('model') ?? path.join(ROOT, 'models/qwen2.5-coder-0.5b-instruct.gguf'));
  const budget = arg('budget') !== undefined ? Number(arg('budget')) : undefined;
  const baseRss = process.memoryUsage.rss();
  console.log(
    `folder ${root}\nmodel ${path.basename(model)}, budget ${budget ?? 'none (every text file tokenized)'}, ${new Date().toISOString()}`,
  );

  const reader = new ReaderClient({ workerPath: path.join(ROOT, 'out/src/worker/reader-main.js') });
  let peakRss = baseRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 50);
  let events = 0,
    lastLine = '';
  const run = await lagDuring(
    () =>
      reader.read({ root, model, ...(budget !== undefined ? { budgetTokens: budget } : {}) }, (p) => {
        events++;
        const line = progressLabel(p);
        if (line !== lastLine && events % 10 === 1) console.log(`  ${line}`);
        lastLine = line;
      }).done,
  );
  clearInterval(sampler);
  const { result: r, memory } = run.value;
  const counted = r.files.filter((f) => f.tokens !== undefined);
  console.log(
    `\nreader worker: ${(run.ms / 1000).toFixed(2)} s wall (walk ${(r.walkMs / 1000).toFixed(2)} s, tokenize ${(r.countMs / 1000).toFixed(2)} s, tokenizer build ${(memory.tokenizerMs / 1000).toFixed(2)} s), ${events} progress events`,
  );
  console.log(
    `files seen ${r.filesSeen}; text files ${r.files.length}; counted ${counted.length}: ${thousands(r.tokens)} tokens, ${formatBytes(counted.reduce((a, f) => a + f.bytes, 0))}`,
  );
  for (const l of exclusionLines(r)) console.log(`  ${l}`);
  if (budget !== undefined) {
    // What the chat's prompt would hold (src/host/chat/chat-context.ts: buildContext over the counted files, no editor).
    const known = new Map(counted.map((f) => [fileBlock(f.path, f.text!), f.tokens!]));
    const ctx = await buildContext(
      new MemoryFileSource(Object.fromEntries(counted.map((f) => [f.path, { data: f.text!, mtimeMs: f.mtimeMs }]))),
      {
        budgetTokens: budget,
        count: (t) => known.get(t) ?? budget + 1,
      },
    );
    const used = ctx.included.reduce((a, e) => a + e.tokens, 0);
    console.log(
      `in the prompt: ${ctx.included.length} files, ${thousands(used)} of ${thousands(budget)} tokens (${ctx.included
        .map((e) => e.path)
        .slice(0, 8)
        .join(', ')}${ctx.included.length > 8 ? ', …' : ''})`,
    );
  }
  console.log(
    `memory: reader thread JS heap peak ${mb(memory.peakHeapBytes)}; process RSS before ${mb(baseRss)}, peak ${mb(Math.max(peakRss, memory.maxRssBytes))} (+${mb(Math.max(peakRss, memory.maxRssBytes) - baseRss)})`,
  );
  console.log(`host event loop while reading: max lag ${run.maxMs.toFixed(0)} ms, p99 ${run.p99Ms.toFixed(0)} ms`);
  // Model discovery's header check of the same GGUF file: in the reader thread, then (with --in-thread) here.
  const probe = await lagDuring(() => reader.probe(model));
  console.log(
    `GGUF header check (discovery) in the reader thread: ${probe.ms.toFixed(0)} ms, "${probe.value.note}", host max lag ${probe.maxMs.toFixed(0)} ms`,
  );
  await reader.dispose();

  if (process.argv.includes('--in-thread')) {
    const p = await lagDuring(async () => checkGGUF(model));
    console.log(`GGUF header check on this thread: ${p.ms.toFixed(0)} ms, host max lag ${p.maxMs.toFixed(0)} ms`);
    const t = await lagDuring(async () => {
      const f = GGUFFile.open(model);
      const tok = Tokenizer.fromGGUF(f);
      f.close();
      return readWorkspace(new NodeFileSource(root), {
        count: (texts) =>
          texts.map((x) => (x.length === 0 ? 0 : tok.encode(x, { addBos: false, parseSpecial: false }).length)),
        ...(budget !== undefined ? { budgetTokens: budget } : {}),
      });
    });
    console.log(
      `\nsame read on this thread (before the reader worker): ${(t.ms / 1000).toFixed(2)} s, ${thousands(t.value.tokens)} tokens (${t.value.tokens === r.tokens ? 'equal' : 'DIFFERENT'}), max lag ${t.maxMs.toFixed(0)} ms, p99 ${t.p99Ms.toFixed(0)} ms`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
