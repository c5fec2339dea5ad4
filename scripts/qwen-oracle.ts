// Measures how close our engine's next-token distributions are to the exact model, beside
// llama.cpp's, on chat prompts about code (test/next-token-oracle.ts): teacher-forced on
// llama.cpp's greedy answer, agreement of the argmax and KL(exact ‖ ·), one table per model.
// For the Qwen2.5-Coder 1.5B, too slow for `npm test`; test/qwen-engine.test.ts asserts the same
// measurement on the 0.5B. Not a benchmark (no timings compared) and not part of `npm test`.
//
//   npx tsc -p . && node out/scripts/qwen-oracle.js --model models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
//   options: --model PATH (repeatable), --tokens N (answer tokens per prompt, default 48),
//            --prompts K (the first K of CODE_PROMPTS, default all), --threads T (default 1), --misses
import * as path from 'node:path';
import {
  CODE_PROMPTS,
  describeMisses,
  formatTable,
  loadOracleModels,
  measurePrompt,
  PromptResult,
  summarize,
} from '../test/next-token-oracle';

function args(name: string): string[] {
  const out: string[] = [];
  process.argv.forEach((a, i) => {
    if (a === `--${name}`) out.push(process.argv[i + 1] ?? '');
  });
  return out;
}

function intArg(name: string, fallback: number): number {
  const v = args(name)[0];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer (got ${v})`);
  return n;
}

async function main(): Promise<void> {
  const models = args('model');
  if (models.length === 0) throw new Error('--model GGUF is required (repeat it for several models)');
  const tokens = intArg('tokens', 48);
  const prompts = CODE_PROMPTS.slice(0, intArg('prompts', CODE_PROMPTS.length));
  const threads = intArg('threads', 1);
  for (const file of models) {
    const t0 = performance.now();
    const m = await loadOracleModels(path.resolve(file), threads);
    const loaded = performance.now();
    const results: PromptResult[] = [];
    try {
      for (const p of prompts) {
        results.push(await measurePrompt(m, p, tokens));
        process.stderr.write('.');
      }
    } finally {
      await m.dispose();
    }
    process.stderr.write('\n');
    const s = summarize(results);
    console.log(
      `\n## ${path.basename(file)}: ${prompts.length} prompts × ≤ ${tokens} answer tokens, teacher-forced on llama.cpp's greedy answer\n`,
    );
    console.log(
      'ours = default engine (MatMulNBits accuracy level 4, int8 activations; f16 full KV); exact = ours at level 0 (fp32 activations), f32 KV; llama.cpp = node-llama-cpp 3.21.1, f16 KV.\n',
    );
    console.log(formatTable(results));
    console.log(
      `\nΔlog p: over tokens the exact model gives > 1%. Worst disagreement (ours ≠ llama.cpp greedy): the exact model prefers llama.cpp's token by ${s.worstMargin.toFixed(3)} nats`,
    );
    if (process.argv.includes('--misses')) {
      for (const r of results)
        for (const line of describeMisses(r)) console.log(`${JSON.stringify(r.prompt.slice(0, 30))} ${line}`);
      for (const r of results)
        console.log(
          `${JSON.stringify(r.prompt.slice(0, 30))} (${r.promptIds.length} prompt tokens) → ${JSON.stringify(r.answer)}`,
        );
    }
    console.log(
      `\n(load ${((loaded - t0) / 1000).toFixed(1)} s, measure ${((performance.now() - loaded) / 1000).toFixed(1)} s, ${threads} thread(s) each)`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
