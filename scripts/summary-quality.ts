// Measures summary quality with the oracle of test/summary-oracle.ts over the known documents of
// test/summary-cases.ts (plus any files given): key terms found, echoed framing, repeated
// sentences, prose (of the summary, and echoes and repeats of each step's raw output). Prints each summary and one verdict line per run, then totals, so the test's
// thresholds come from measurements. Slow (a model run per case); not part of `npm test`.
//
//   npx tsc -p . && node out/scripts/summary-quality.js --model models/qwen2.5-coder-0.5b-instruct.gguf
//   options: --cases a,b (name prefixes), --file PATH[:CTX] (extra, no key terms), --temps 0,0.3 --seeds 1,2,
//            --kv pod (the profile beside the model, as the extension's auto picks it; default: full)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../src/engine/engine';
import { loadProfile, shippedProfilePath } from '../src/engine/eval/profile';
import {
  backupsCase,
  chunksCase,
  folderCase,
  rateLimiterCase,
  runCase,
  SummaryCase,
  ternCase,
} from '../test/summary-cases';
import { describeVerdict } from '../test/summary-oracle';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const model = arg('model');
  if (!model) throw new Error('--model GGUF is required');
  let cases: SummaryCase[] = [rateLimiterCase(), backupsCase(), ternCase(), chunksCase(), folderCase()];
  const only = arg('cases')?.split(',');
  if (only) cases = cases.filter((c) => only.some((o) => c.name.startsWith(o)));
  for (const spec of (arg('file') ?? '').split(',').filter(Boolean)) {
    const [file, ctx] = spec.split(':');
    cases.push({
      name: file!,
      docs: [{ path: path.basename(file!), text: fs.readFileSync(file!, 'utf8') }],
      terms: [],
      minTermShare: 0,
      ctx: Number(ctx ?? 2048),
      maxTokens: 200,
    });
  }
  const temps = (arg('temps') ?? '0').split(',').map(Number);
  const seeds = (arg('seeds') ?? '0').split(',').map(Number);
  const kv = arg('kv') === 'pod' ? loadProfile(shippedProfilePath(model), model) : undefined;
  const engines = new Map<number, Engine>();
  const totals = {
    runs: 0,
    clean: 0,
    echoes: 0,
    repeated: 0,
    notProse: 0,
    termShare: 0,
    copied: 0,
    cleaned: 0,
    rawDirty: 0,
  };
  try {
    for (const c of cases) {
      let engine = engines.get(c.ctx);
      if (!engine) {
        engine = await Engine.load(model, { contextSize: c.ctx, ...(kv ? { kv } : {}) });
        engines.set(c.ctx, engine);
      }
      for (const temperature of temps) {
        for (const seed of temperature === 0 ? [0] : seeds) {
          const t0 = performance.now();
          const { r, v, steps, need, files } = await runCase(engine, c, { temperature, seed });
          if (r.cleanup.echoes + r.cleanup.repeats + r.cleanup.loops > 0) {
            totals.cleaned++;
            console.log(`(clean-up: ${JSON.stringify(r.cleanup)})`);
          }
          if (process.argv.includes('--steps') && steps.length > 1)
            console.log(
              `\n${steps.map((s, i) => `[step ${i + 1}] ${s.text.trim()}\n  → ${describeVerdict(s.v, 0)}`).join('\n')}`,
            );
          const sec = ((performance.now() - t0) / 1000).toFixed(0);
          console.log(
            `\n=== ${c.name} | T=${temperature} seed=${seed} | ${r.parts} parts, ${r.rounds} rounds, ${sec} s\n${r.summary}\n--- ${describeVerdict(v, need)}`,
          );
          for (const f of files) console.log(`  ${f.path}: ${f.summary}\n    → ${describeVerdict(f.v, 1)}`);
          totals.runs++;
          if (!v.echoes.length && !v.repeated.length && !v.notProse) totals.clean++;
          if (v.echoes.length) totals.echoes++;
          if (v.repeated.length) totals.repeated++;
          if (v.notProse) totals.notProse++;
          totals.copied += v.copied;
          if (steps.some((st) => st.v.echoes.length || st.v.repeated.length)) totals.rawDirty++;
          if (c.terms.length) totals.termShare += v.terms.length / c.terms.length;
        }
      }
    }
  } finally {
    for (const e of engines.values()) await e.dispose();
  }
  console.log(
    `\nTOTAL ${totals.runs} runs: ${totals.clean} clean (no echo, no repeat, prose); echoes in ${totals.echoes}, repeats in ${totals.repeated}, not prose in ${totals.notProse}; mean key-term share ${(totals.termShare / totals.runs).toFixed(2)}, mean copied ${(totals.copied / totals.runs).toFixed(2)}; the clean-up removed something in ${totals.cleaned}; a raw step echoed or repeated in ${totals.rawDirty}`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
