// `npm run bench -- --long`: decode speed at long context (issue 3 item 7) — the full cache, PoD
// (uniform blocks, or a calibrated profile), StreamingLLM and llama.cpp (node-llama-cpp, f16 KV) on
// the same GGUF file and the same prompt of real text (PodLens's own sources) filling the context.
// Each cache runs in its own worker process; after one prefill each, the workers' decode rounds
// interleave (round-robin, rotating the order) so the shared VM's drifts hit every cache alike.
// Reports the median ms/token over rounds and ratios to the full cache and to llama.cpp, and the
// KV bytes each cache holds, under the machine header (machine.ts). Writes
// bench/results/long-<date>.json and .md. Not a test: nothing asserted.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GGUFFile } from '../src/engine/gguf/file';
import { Tokenizer } from '../src/engine/tokenizer';
import { describeMachine, finishMachine, formatMachineHeader, machineSummary } from './machine';
import { REAL_MODEL, ROOT } from './models';
import { RESULTS_DIR, writeReport } from './output';
import { sleep, SWITCH_PAUSE_MS, WorkerHandle } from './pool';
import { WorkerJob } from './protocol';

const USAGE = `usage: npm run bench -- --long [--ctx N] [--kv full,pod,streaming,llamacpp] [--profile P] [--rounds N] [--threads N]

  --ctx N        context size; the prompt fills it up to the decode steps      (default 8192)
  --kv list      caches to compare: full, pod, pod-int8, streaming, llamacpp   (default all but pod-int8)
  --profile P    PoD profile (podlens calibrate) for the 'pod' cache            (default uniform g=5)
  --rounds N     interleaved decode rounds of 8 tokens after the prefill      (default 6)
  --threads N    CPU threads per engine                                       (default 2)
  --model F      GGUF file                         (default models/SmolLM2-135M-Instruct.Q4_1.gguf)`;

const STEPS = 8;

interface LongOptions {
  ctx: number;
  kinds: string[];
  profile?: string;
  rounds: number;
  threads: number;
  model: string;
}

function options(argv: readonly string[]): LongOptions {
  const o: LongOptions = {
    ctx: 8192,
    kinds: ['full', 'pod', 'streaming', 'llamacpp'],
    rounds: 6,
    threads: 2,
    model: REAL_MODEL,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const a = argv[i]!,
      v = argv[i + 1];
    if (a === '--help') {
      console.log(USAGE);
      process.exit(0);
    }
    if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
    if (a === '--ctx') o.ctx = Number(v);
    else if (a === '--kv') o.kinds = v.split(',');
    else if (a === '--profile') o.profile = path.resolve(v);
    else if (a === '--rounds') o.rounds = Number(v);
    else if (a === '--threads') o.threads = Number(v);
    else if (a === '--model') o.model = path.resolve(v);
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  for (const k of o.kinds)
    if (!['full', 'pod', 'pod-int8', 'streaming', 'llamacpp'].includes(k))
      throw new Error(`unknown cache '${k}'\n${USAGE}`);
  if (!(Number.isInteger(o.ctx) && o.ctx >= 1024) || !(o.rounds >= 1) || !(o.threads >= 1))
    throw new Error(`bad --ctx/--rounds/--threads\n${USAGE}`);
  return o;
}

/** Token ids of PodLens's own sources (sorted paths), enough to fill `n`. */
function promptIds(model: string, n: number): number[] {
  const f = GGUFFile.open(model);
  try {
    const tok = Tokenizer.fromGGUF(f);
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts')) files.push(p);
      }
    };
    walk(path.join(ROOT, 'src'));
    const ids: number[] = [];
    for (const p of files) {
      ids.push(
        ...tok.encode(`// ${path.relative(ROOT, p)}\n${fs.readFileSync(p, 'utf8')}\n`, {
          addBos: ids.length === 0,
          parseSpecial: false,
        }),
      );
      if (ids.length >= n) return ids.slice(0, n);
    }
    throw new Error(`the sources give only ${ids.length} tokens, fewer than ${n}`);
  } finally {
    f.close();
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};

export async function longMain(argv: readonly string[]): Promise<number> {
  const o = options(argv);
  const machine = describeMachine();
  console.log(`${formatMachineHeader(machine)}\n`);
  const promptLen = o.ctx - STEPS * (o.rounds + 2);
  const prompt = promptIds(o.model, promptLen);
  console.log(
    `long-context decode: ${path.basename(o.model)}, context ${o.ctx}, prompt ${promptLen} tokens of src/*.ts, ${o.threads} threads, ${o.rounds} rounds × ${STEPS} tokens`,
  );
  const job = (kind: string): WorkerJob => {
    const base = {
      modelPath: o.model,
      threads: o.threads,
      contextSize: o.ctx,
      prompt,
      decodeTokens: STEPS,
      prefillChunk: 512,
    };
    if (kind === 'llamacpp') return { ...base, engine: 'llamacpp' };
    const kv =
      kind === 'full' || kind === 'streaming'
        ? ({ kind } as const)
        : {
            kind: 'pod' as const,
            profile: o.profile,
            ...(kind === 'pod-int8' ? { distantQuant: 'int8' as const } : {}),
          };
    return { ...base, engine: 'podlens', kv };
  };
  const workers: {
    kind: string;
    w: WorkerHandle;
    info: Record<string, unknown>;
    prefillTokS: number;
    kvBytes?: number;
    ms: number[];
  }[] = [];
  try {
    for (const kind of o.kinds) {
      const { worker, info } = await WorkerHandle.start(job(kind), kind);
      // prefill + warm-up steps; the prefill of a whole context may take as long as 2 tokens/s allows
      // (Qwen 1.5B at 16K on a busy 2-vCPU VM), never less than the pool's default
      const r = await worker.run(STEPS, Math.max(240_000, (promptLen / 2) * 1000));
      workers.push({
        kind,
        w: worker,
        info,
        prefillTokS: (promptLen / r.prefillMs) * 1000,
        kvBytes: r.kvBytes,
        ms: [],
      });
      console.log(
        `  ${kind.padEnd(10)} loaded; prefill ${((promptLen / r.prefillMs) * 1000).toFixed(0)} tok/s${info.kvPlan ? ` (${String(info.kvPlan)})` : ''}`,
      );
    }
    for (let round = 0; round < o.rounds; round++) {
      for (let i = 0; i < workers.length; i++) {
        const x = workers[(i + round) % workers.length]!;
        await sleep(SWITCH_PAUSE_MS);
        const r = await x.w.decode(STEPS);
        x.ms.push(r.decodeMs / STEPS);
        if (r.kvBytes !== undefined) x.kvBytes = r.kvBytes;
      }
    }
  } finally {
    for (const x of workers) await x.w.finish().catch(() => x.w.kill());
  }
  const byKind = new Map(workers.map((x) => [x.kind, median(x.ms)]));
  const full = byKind.get('full'),
    llama = byKind.get('llamacpp');
  const rows = workers.map((x) => ({
    kind: x.kind,
    plan: x.info.kvPlan,
    kvBytes: x.kvBytes,
    prefillTokS: x.prefillTokS,
    decodeMsPerToken: median(x.ms),
    rounds: x.ms,
    vsFull: full ? median(x.ms) / full : undefined,
    vsLlamaCpp: llama ? median(x.ms) / llama : undefined,
  }));
  finishMachine(machine);
  const fmt = (v: number | undefined, d: number): string => (v === undefined ? '–' : v.toFixed(d));
  const table = ['cache       KV MB   prefill tok/s   decode ms/token   ×full   ×llama.cpp'];
  for (const r of rows) {
    table.push(
      `${r.kind.padEnd(10)} ${fmt(r.kvBytes === undefined ? undefined : r.kvBytes / 2 ** 20, 1).padStart(6)}   ${r.prefillTokS.toFixed(0).padStart(13)}   ` +
        `${r.decodeMsPerToken.toFixed(1).padStart(15)}   ${fmt(r.vsFull, 2).padStart(5)}   ${fmt(r.vsLlamaCpp, 2).padStart(10)}`,
    );
  }
  console.log(`\n${machineSummary(machine)}\n${table.join('\n')}`);
  const out = path.join(RESULTS_DIR, `long-${new Date().toISOString().slice(0, 10)}.json`);
  const md = [
    `${path.basename(o.model)}, context ${o.ctx}, prompt ${promptLen} tokens of src/*.ts, ${o.threads} threads, ${o.rounds} interleaved rounds × ${STEPS} decode tokens (medians; ratios < 1 are faster).`,
    '',
    '| cache | plan | KV MB | prefill tok/s | decode ms/token | × full | × llama.cpp |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.kind} | ${typeof r.plan === 'string' ? r.plan : '–'} | ${fmt(r.kvBytes === undefined ? undefined : r.kvBytes / 2 ** 20, 1)} | ` +
        `${r.prefillTokS.toFixed(0)} | ${r.decodeMsPerToken.toFixed(1)} | ${fmt(r.vsFull, 2)} | ${fmt(r.vsLlamaCpp, 2)} |`,
    ),
  ].join('\n');
  const data = {
    date: new Date().toISOString(),
    options: { ...o, model: path.relative(ROOT, o.model) },
    promptTokens: promptLen,
    rows,
  };
  const w = writeReport(out, `bench --long — ${data.date}`, machine, data, md);
  console.log(
    `\nwrote ${path.relative(ROOT, w.json)} and ${path.basename(w.md)} (ratios < 1 are faster; medians over rounds)`,
  );
  return 0;
}
