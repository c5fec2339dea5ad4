// `npm run bench`: PodLens vs llama.cpp (node-llama-cpp) on the same GGUF files in one run.
// For each model × thread count, one worker process per engine (isolated peak RSS and threads)
// loads the model (file already in the page cache) and runs a cold warm-up (start + first
// prefill = first-token time); the parent then alternates the two workers' measured runs (ABBA)
// so slow drifts of this shared VM hit both engines alike, and reports medians and ratios under
// the machine header (machine.ts). `node dist/bench.js --help` lists the options. Results:
// bench/results/engine-<date>.json and .md. Also the entry point of --worker and of the other
// modes (MODES at the end).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BenchOptions, parseOptions, USAGE, UsageError } from './options';
import {
  BenchModel,
  CACHE_DIR,
  decodeWeightBytes,
  ensureSynthetic,
  mainTensorType,
  promptIds,
  resolveModels,
  warmPageCache,
} from './models';
import { describeMachine, finishMachine, formatMachineHeader, MachineInfo, machineSummary } from './machine';
import { RESULTS_DIR, stamp, writeReport } from './output';
import { sleep, SWITCH_PAUSE_MS, WorkerHandle } from './pool';
import { EngineName, WorkerJob } from './protocol';
import {
  CellResult,
  computeRatios,
  EngineResult,
  formatMarkdown,
  formatTable,
  NOISY_CORES,
  sample,
  summarize,
  weightBytesNote,
} from './report';
import { errorText, workerMain } from './worker';
import { sessionMain } from './session';
import { longMain } from './long';
import { memoryMain, memoryWorkerMain } from './memory';
import { opsMain } from './ops';
import { kernelsMain } from './kernels';

const ENGINE_LABEL: Record<EngineName, string> = { podlens: 'PodLens', llamacpp: 'llama.cpp' };
const mean = (xs: readonly number[]): number | undefined =>
  xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
/** A window in which other processes used fewer than QUIET_CORES cores counts as quiet. */
const SETTLE_WINDOW_MS = 400;
const QUIET_CORES = 0.2;

/** CPU time (ms) all processes on the machine have spent busy so far. */
function machineBusyMs(): number {
  return os.cpus().reduce((s, c) => s + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
}

/**
 * Wait (at most `maxMs`) until other processes leave the CPUs nearly idle: this VM is shared and
 * a short burst elsewhere (a compiler, a test run) wrecks spin-waiting thread pools. Returns the
 * time waited; our own workers are idle while this runs.
 */
async function settle(maxMs: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < maxMs) {
    const b0 = machineBusyMs(),
      w0 = performance.now();
    await sleep(SETTLE_WINDOW_MS);
    if ((machineBusyMs() - b0) / (performance.now() - w0) < QUIET_CORES) break;
  }
  return performance.now() - t0;
}

/** One model × thread count: load each engine in its own worker, interleave their runs. */
async function benchCell(m: BenchModel, threads: number, prompt: number[], o: BenchOptions): Promise<CellResult> {
  const loadAverage = os.loadavg();
  const cell: CellResult = {
    model: {
      key: m.key,
      name: m.name,
      type: m.type,
      synthetic: m.synthetic,
      path: m.path,
      fileBytes: fs.statSync(m.path).size,
      decodeWeightBytes: decodeWeightBytes(m.path),
    },
    threads,
    engines: [],
    loadAverage,
  };
  const tag = `${m.key} t=${threads}`;
  const live = new Map<EngineName, WorkerHandle>();
  const res = new Map<EngineName, EngineResult>();
  const failed = (e: EngineName, err: unknown): void => {
    const r = res.get(e)!;
    r.ok = false;
    r.error = errorText(err);
    console.log(`  ✗ ${ENGINE_LABEL[e]} ${tag}: ${r.error}`);
    live.get(e)?.kill();
    live.delete(e);
  };
  const job = (engine: EngineName): WorkerJob => ({
    engine,
    modelPath: m.path,
    threads,
    contextSize: 1024 * Math.ceil((prompt.length + o.decodeTokens + 1) / 1024),
    prompt,
    decodeTokens: o.decodeTokens,
    prefillChunk: o.prefillChunk,
  });

  // Each engine: start its worker, then at once the warm-up run (full prefill, short decode) —
  // process start → loaded → first token, measured the same way for both engines.
  for (const e of o.engines) {
    const r: EngineResult = { engine: e, ok: true, runs: [] };
    res.set(e, r);
    cell.engines.push(r);
    try {
      if (o.settleMs > 0) await settle(o.settleMs);
      const { worker, loadMs, startMs, info } = await WorkerHandle.start(job(e), `${e} ${tag}`);
      live.set(e, worker);
      Object.assign(r, { loadMs, startMs, info });
      await sleep(SWITCH_PAUSE_MS);
      const warm = await worker.run(o.warmupDecode);
      r.firstTokenMs = startMs + warm.prefillMs;
    } catch (err) {
      failed(e, err);
    }
  }
  for (let rep = 0; rep < o.repeats; rep++) {
    const order = rep % 2 === 0 ? o.engines : [...o.engines].reverse();
    for (const e of order) {
      const w = live.get(e);
      if (!w) continue;
      try {
        const waited = o.settleMs > 0 ? await settle(o.settleMs) : await sleep(SWITCH_PAUSE_MS).then(() => 0);
        const b0 = machineBusyMs(),
          c0 = process.cpuUsage(),
          t0 = performance.now();
        const r = await w.run(o.decodeTokens);
        const c = process.cpuUsage(c0),
          wall = performance.now() - t0;
        const others = Math.max(0, (machineBusyMs() - b0 - r.cpuMs - (c.user + c.system) / 1000) / wall);
        const er = res.get(e)!;
        er.runs.push({ ...sample(r, prompt.length, others), settleMs: waited });
        er.ids ??= r.ids;
      } catch (err) {
        failed(e, err);
      }
    }
  }
  for (const [e, w] of live) {
    try {
      res.get(e)!.memory = await w.finish();
    } catch (err) {
      failed(e, err);
    }
  }
  for (const r of cell.engines) summarize(r);
  computeRatios(cell);
  const brief = cell.engines
    .map(
      (r) =>
        `${ENGINE_LABEL[r.engine]} ${r.prefillTokensPerSecond?.toFixed(0) ?? '—'}/${r.decodeTokensPerSecond?.toFixed(1) ?? '—'}` +
        ` (${(mean(r.runs.map((x) => x.engineCores)) ?? 0).toFixed(1)} cores)`,
    )
    .join(', ');
  const others = mean(cell.engines.flatMap((r) => r.runs.map((x) => x.otherCores)));
  cell.otherCores = others;
  const waited = cell.engines.reduce((t, r) => t + r.runs.reduce((u, x) => u + (x.settleMs ?? 0), 0), 0);
  console.log(
    `  ${tag}: prefill/decode tok/s ${brief}; other processes used ${others?.toFixed(2) ?? '—'} cores, ` +
      `load avg ${loadAverage.map((x) => x.toFixed(2)).join(' ')} at start` +
      `${waited >= 1000 ? ` (waited ${(waited / 1000).toFixed(0)} s for quiet)` : ''}`,
  );
  return cell;
}

async function main(argv: string[]): Promise<number> {
  let o: BenchOptions;
  try {
    const p = parseOptions(argv);
    if (p === 'help') {
      console.log(USAGE);
      return 0;
    }
    o = p;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`bench: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  const started = new Date();
  const t0 = performance.now();
  const machine = describeMachine();
  console.log(formatMachineHeader(machine));
  console.log(
    `\nprompt ${o.promptTokens} tokens, decode ${o.decodeTokens}, ${o.repeats} run(s) + 1 cold warm-up per engine, threads ${o.threads.join(',')}, ` +
      `waiting up to ${o.settleMs / 1000} s for a quiet CPU before each run (shared VM: compare within this run only)`,
  );

  let models: BenchModel[];
  try {
    models = resolveModels(o.models, o.modelsGiven);
  } catch (e) {
    console.error(`bench: ${errorText(e)}`);
    return 2;
  }

  const cells: CellResult[] = [];
  const skipped: { model: string; error: string; optional?: boolean }[] = [];
  const prompts: Record<string, { source: string; tokens: number; head: number[] }> = {};
  for (const m of models) {
    let prompt: number[];
    try {
      const secs = await ensureSynthetic(m);
      if (secs > 0) console.log(`wrote ${m.path} in ${secs.toFixed(1)} s`);
      if (!fs.existsSync(m.path)) {
        const rel = path.relative(process.cwd(), m.path);
        if (m.optional) {
          const why = `${rel} is not present (${m.fetch ?? 'bash scripts/fetch-models.sh'} adds it)`;
          console.log(`- ${m.key}: skipped — ${why}`);
          skipped.push({ model: m.key, error: why, optional: true });
          continue;
        }
        throw new Error(`${rel} not found${m.fetch ? ` (run ${m.fetch})` : ''}`);
      }
      if (m.type === '?') m.type = mainTensorType(m.path);
      const p = promptIds(m.path, o.promptTokens);
      prompt = p.ids;
      prompts[m.key] = { source: p.source, tokens: p.ids.length, head: p.ids.slice(0, 8) };
    } catch (e) {
      const error = errorText(e);
      console.log(`✗ ${m.key}: skipped — ${error}`);
      skipped.push({ model: m.key, error });
      continue;
    }
    const cached = warmPageCache(m.path);
    console.log(
      `${m.name} ${m.type} (${path.basename(m.path)}, ${(fs.statSync(m.path).size / 2 ** 20).toFixed(0)} MB` +
        `${cached >= 0.5 ? `; read into the page cache in ${cached.toFixed(1)} s` : ''})`,
    );
    for (const t of o.threads) {
      try {
        cells.push(await benchCell(m, t, prompt, o));
      } catch (e) {
        const error = errorText(e);
        console.log(`  ✗ ${m.key} t=${t}: ${error}`);
        skipped.push({ model: `${m.key} t=${t}`, error });
      }
    }
  }
  finishMachine(machine);
  const notes = tableNotes(cells, machine);

  console.log(`\n${machineSummary(machine)}`);
  console.log(formatTable(cells));
  console.log(`\n${notes.join('\n')}`);

  const out = o.out ?? path.join(RESULTS_DIR, `engine-${stamp(started)}.json`);
  const durationSeconds = (performance.now() - t0) / 1000;
  const result = {
    kind: 'podlens-engine-bench',
    version: 2,
    date: started.toISOString(),
    options: { ...o, cacheDir: CACHE_DIR },
    prompts,
    durationSeconds,
    cells,
    skipped,
  };
  const md = [
    `${o.promptTokens}-token prompt, ${o.decodeTokens} greedy decode tokens, medians of ${o.repeats} interleaved run(s); ${durationSeconds.toFixed(0)} s in all.`,
    formatMarkdown(cells),
    notes.map((n) => `- ${n}`).join('\n'),
    skipped.length ? skipped.map((x) => `- skipped ${x.model}: ${x.error}`).join('\n') : '',
    '```\n' + formatTable(cells) + '\n```',
  ]
    .filter(Boolean)
    .join('\n\n');
  try {
    const w = writeReport(out, `PodLens vs llama.cpp — ${started.toISOString()}`, machine, result, md);
    console.log(
      `\nwrote ${path.relative(process.cwd(), w.json)} and ${path.basename(w.md)} (${durationSeconds.toFixed(0)} s total)`,
    );
  } catch (e) {
    console.error(`bench: could not write ${out}: ${errorText(e)}`);
    return 1;
  }
  const missingRequired = skipped.some((x) => !x.optional);
  return cells.some((c) => c.engines.some((e) => e.runs.length > 0)) && !missingRequired ? 0 : 1;
}

/** The lines printed under the table (and listed in the markdown). */
function tableNotes(cells: readonly CellResult[], machine: MachineInfo): string[] {
  const notes = [
    'medians (± half the min–max range); ratio row: PodLens ÷ llama.cpp (speed > 1: PodLens faster; RSS, start and first-token time > 1: PodLens uses more);',
    'start: process spawn → model loaded (file in the page cache); 1st tok: start + the first, cold prefill of the prompt;',
    'greedy: leading greedy ids on which both engines agree; llama.cpp RSS includes its mmapped model file pages;',
    `*: other processes used more than ${NOISY_CORES} cores during at least one of that engine's measured runs.`,
  ];
  const variants = [
    ...new Set(
      cells
        .flatMap((c) => c.engines.map((e) => e.info?.ggmlCpuVariant))
        .filter((v): v is string => typeof v === 'string'),
    ),
  ];
  if (variants.length)
    notes.push(
      `llama.cpp's ggml CPU backend on this machine: ${variants.join(', ')} (int8 path by the flags: ${machine.int8Path}).`,
    );
  // Decode reads every weight once per token: where it is bandwidth-bound (the larger models), its
  // ratio tends to the inverse of the bytes ratio.
  const said = new Set<string>(); // once per model, not per thread count
  for (const c of cells) {
    const packed = c.engines.find((e) => e.engine === 'podlens')?.info?.packedWeightBytes;
    if (typeof packed !== 'number' || !c.model.decodeWeightBytes || said.has(c.model.key)) continue;
    said.add(c.model.key);
    notes.push(`${c.model.name}: ${weightBytesNote(packed, c.model.decodeWeightBytes)}`);
  }
  const busiest = Math.max(0, ...cells.map((c) => c.otherCores ?? 0));
  if (busiest > NOISY_CORES) {
    notes.push(
      `⚠ other processes used up to ${busiest.toFixed(2)} of ${machine.threads} cores during measured runs (see otherCores in the JSON): ` +
        'absolute numbers are depressed and ratios less reliable (spinning thread pools suffer most); rerun when the machine is quiet.',
    );
  }
  return notes;
}

const argv = process.argv.slice(2);
/** The other modes: each parses its own options (`--<mode> --help`). */
const MODES: Record<string, (argv: readonly string[]) => Promise<number>> = {
  '--memory': memoryMain,
  '--long': longMain,
  '--session': sessionMain,
  '--ops': opsMain,
  '--kernels': kernelsMain,
};
const mode = MODES[argv[0] ?? ''];
if (argv[0] === '--worker') {
  workerMain(argv[1] ?? '').catch((e: unknown) => {
    console.error(errorText(e));
    process.exit(1);
  });
} else if (argv[0] === '--memory-worker') {
  memoryWorkerMain(argv[1] ?? '').catch((e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  });
} else {
  (mode ? mode(argv.slice(1)) : main(argv)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      const detail = e instanceof Error ? (mode ? e.message : (e.stack ?? e.message)) : String(e);
      console.error(`bench${mode ? ` ${argv[0]}` : ''}: ${detail}`);
      process.exitCode = 1;
    },
  );
}
