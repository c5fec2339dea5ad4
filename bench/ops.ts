// `npm run bench -- --ops`: where PodLens's time goes, per operator, next to llama.cpp on the same
// GGUF and prompt. Per model, one worker at a time (2 cores): llama.cpp, PodLens, and PodLens with
// ONNX Runtime's profiler on; each does a warm-up run, then one measured run (a prefill of the
// prompt, then greedy decode steps). The profiled run's kernels are summed per node group
// (ops-profile.ts) for the prefill and the decode apart; the unprofiled runs give the ratios and
// the profiler's own overhead. Results: bench/results/ops-<date>.json and .md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeWeightBytes, promptIds, resolveModels, warmPageCache } from './models';
import { describeMachine, finishMachine, formatMachineHeader } from './machine';
import { parseModeOptions } from './options';
import { RESULTS_DIR, stamp, writeReport } from './output';
import { WorkerHandle } from './pool';
import { RunResult, WorkerJob } from './protocol';
import { weightBytesNote } from './report';
import { mergePhases, PhaseProfile, readProfile, summarizeSession } from './ops-profile';

const USAGE = `usage: npm run bench -- --ops [--models a,b] [--prompt N] [--decode N] [--threads N]

Per-operator profile of PodLens (ONNX Runtime's profiler) for one prefill and one greedy decode,
beside unprofiled PodLens and llama.cpp runs on the same GGUF and prompt, one model at a time.

  --models a,b   qwen0.5b, qwen1.5b, smollm2, or .gguf paths     (default qwen0.5b,qwen1.5b)
  --prompt N     prompt tokens (one prefill step)                 (default 512)
  --decode N     decode steps measured                            (default 32)
  --threads N    threads per engine                               (default 2)
  --rows N       operator rows shown per phase (the rest summed)  (default 14)`;

const WARMUP_DECODE = 8;

interface ModelOps {
  model: string;
  promptTokens: number;
  decodeTokens: number;
  llamacpp: RunResult;
  podlens: RunResult;
  profiled: RunResult;
  packedWeightBytes: number | undefined;
  ggufDecodeBytes: number;
  prefill: PhaseProfile;
  decode: PhaseProfile;
}

/** Warm-up run, measured run, finish: one engine in its own process. */
async function measure(job: WorkerJob, label: string): Promise<{ run: RunResult; info: Record<string, unknown> }> {
  const { worker, info } = await WorkerHandle.start(job, label);
  try {
    await worker.run(WARMUP_DECODE);
    const run = await worker.run(job.decodeTokens);
    await worker.finish();
    return { run, info };
  } finally {
    worker.kill();
  }
}

function phaseTable(p: PhaseProfile, perToken: number, unit: string, rows: number): string[] {
  const out = [`| node group | operator | nodes per run | ${unit} | share of run time |`, '|---|---|---:|---:|---:|'];
  const pct = (ms: number): string => `${((100 * ms) / p.runMs).toFixed(1)}%`;
  const row = (group: string, op: string, nodes: string, ms: number): void => {
    out.push(`| ${group} | ${op} | ${nodes} | ${(ms / perToken).toFixed(3)} | ${pct(ms)} |`);
  };
  for (const r of p.rows.slice(0, rows)) row(r.group, r.op, String(r.nodes), r.ms);
  const rest = p.rows.slice(rows);
  if (rest.length)
    row(
      `other (${rest.length} groups)`,
      '',
      '',
      rest.reduce((s, r) => s + r.ms, 0),
    );
  row('between kernels', '(ORT executor: allocation, scheduling)', '', p.runMs - p.kernelMs);
  row('**run total**', '', '', p.runMs);
  return out;
}

function modelMarkdown(r: ModelOps, rows: number): string[] {
  const tokS = (x: RunResult): string => ((r.promptTokens * 1000) / x.prefillMs).toFixed(1);
  const msTok = (x: RunResult): string => (x.decodeMs / r.decodeTokens).toFixed(2);
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  const md = [
    `## ${r.model}`,
    '',
    `| engine | prefill tok/s (${r.promptTokens} tokens) | decode ms/token (${r.decodeTokens} steps) |`,
    '|---|---:|---:|',
    `| llama.cpp | ${tokS(r.llamacpp)} | ${msTok(r.llamacpp)} |`,
    `| PodLens | ${tokS(r.podlens)} (${ratio(r.llamacpp.prefillMs, r.podlens.prefillMs)}) | ${msTok(r.podlens)} (${ratio(r.llamacpp.decodeMs, r.podlens.decodeMs)}) |`,
    `| PodLens, profiled | ${tokS(r.profiled)} | ${msTok(r.profiled)} |`,
    '',
    '(×: llama.cpp time / PodLens time, ≥ 1 is as fast or faster.)',
    '',
  ];
  if (r.packedWeightBytes !== undefined) md.push(weightBytesNote(r.packedWeightBytes, r.ggufDecodeBytes), '');
  // The profiler's own cost is per node: it inflates many small nodes more than a few large ones.
  const nodes = r.decode.rows.reduce((s, x) => s + x.nodes, 0);
  const extra = (r.profiled.decodeMs - r.podlens.decodeMs) / r.decodeTokens;
  md.push(
    `Profiling added ${extra.toFixed(2)} ms per decode step over ${nodes} nodes (${((1000 * extra) / nodes).toFixed(1)} µs per node): ` +
      'shares below are of the profiled run; a group of many small nodes weighs less without the profiler.',
    '',
  );
  md.push(
    `### Decode (profiled, ${r.decode.runs} steps)`,
    '',
    ...phaseTable(r.decode, r.decode.runs, 'ms per token', rows),
    '',
  );
  md.push(
    `### Prefill (profiled, ${r.prefill.runs} run of ${r.promptTokens} tokens)`,
    '',
    ...phaseTable(r.prefill, 1, 'ms', rows),
    '',
  );
  return md;
}

export async function opsMain(argv: readonly string[]): Promise<number> {
  const opt = parseModeOptions(argv, USAGE, ['models', 'prompt', 'decode', 'threads', 'rows']);
  if (!opt) return 0;
  const num = opt.num;
  const models = resolveModels((opt.str('models') ?? 'qwen0.5b,qwen1.5b').split(','), true);
  const promptTokens = num('prompt', 512);
  const decodeTokens = num('decode', 32);
  const threads = num('threads', 2);
  const rows = num('rows', 14);
  const machine = describeMachine();
  console.log(formatMachineHeader(machine));
  const started = new Date();
  const results: ModelOps[] = [];
  const tmp = fs.mkdtempSync(path.join(RESULTS_DIR, '.ops-'));
  try {
    for (const m of models) {
      warmPageCache(m.path);
      const prompt = promptIds(m.path, promptTokens).ids;
      const job: WorkerJob = {
        engine: 'podlens',
        modelPath: m.path,
        threads,
        contextSize: 4096,
        prompt,
        decodeTokens,
        prefillChunk: promptTokens,
      };
      const llamacpp = await measure({ ...job, engine: 'llamacpp' }, 'llama.cpp');
      console.log(`${m.key}: llama.cpp done`);
      const podlens = await measure(job, 'PodLens');
      console.log(`${m.key}: PodLens done`);
      const profileDir = path.join(tmp, m.key);
      fs.mkdirSync(profileDir, { recursive: true });
      const profiled = await measure({ ...job, profileDir }, 'PodLens (profiled)');
      const files = fs.readdirSync(profileDir).filter((f) => f.endsWith('.json'));
      if (!files.length) throw new Error(`${m.key}: ONNX Runtime wrote no profile into ${profileDir}`);
      const sessions = files.map((f) => summarizeSession(readProfile(path.join(profileDir, f)), 1, decodeTokens));
      const packed = podlens.info.packedWeightBytes;
      results.push({
        model: m.name,
        promptTokens,
        decodeTokens,
        llamacpp: llamacpp.run,
        podlens: podlens.run,
        profiled: profiled.run,
        packedWeightBytes: typeof packed === 'number' ? packed : undefined,
        ggufDecodeBytes: decodeWeightBytes(m.path),
        prefill: mergePhases(sessions.map((s) => s.prefill)),
        decode: mergePhases(sessions.map((s) => s.decode)),
      });
      console.log(`${m.key}: profiled (${files.length} session profile${files.length > 1 ? 's' : ''})`);
      fs.rmSync(profileDir, { recursive: true, force: true }); // ≈ 1 MB per run
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  finishMachine(machine);
  const md = [
    `${threads} threads, context 4096, full f16 KV cache, prompt = the first ${promptTokens} tokens of the bench prompt;`,
    'each engine in its own process: a warm-up run, then the measured run. Node groups are graph node names without',
    'their layer number (one row = that node in every layer); times are ONNX Runtime kernel times of the profiled run.',
    '',
    ...results.flatMap((r) => modelMarkdown(r, rows)),
  ];
  const w = writeReport(
    path.join(RESULTS_DIR, `ops-${stamp(started)}.json`),
    `PodLens per-operator profile vs llama.cpp — ${started.toISOString()}`,
    machine,
    { results },
    md.join('\n'),
  );
  console.log(md.join('\n'));
  console.log(`wrote ${w.json} and ${w.md}`);
  return 0;
}
