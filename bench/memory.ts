// `npm run bench -- --memory`: where PodLens's resident memory goes, stage by stage (GGUF parse,
// graph build and session create per segment, KV cache, first run, steady decode), next to
// llama.cpp (node-llama-cpp) on the same GGUF file at the same context in the same run. Each
// engine × model runs in its own process (`--memory-worker`), so VmHWM is that engine's peak.
// Every sample: VmRSS, VmHWM, RssAnon, RssFile (/proc/self/status) and process.memoryUsage()'s
// arrayBuffers and external. Nothing here is timed. Results: bench/results/memory-<date>.json/.md.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as NodeLlamaCpp from 'node-llama-cpp';
import { promptIds, resolveModels, warmPageCache } from './models';
import { describeMachine, finishMachine, formatMachineHeader } from './machine';
import { parseModeOptions } from './options';
import { RESULTS_DIR, stamp, writeReport } from './output';

const USAGE = `usage: npm run bench -- --memory [--models a,b] [--ctx N] [--prompt N] [--decode N] [--engines podlens-first,podlens,llamacpp] [--out FILE]

Peak and per-stage resident memory of PodLens vs llama.cpp on the same GGUF files, each engine ×
model in its own process: after GGUF parse, each segment's graph build and session create, the
KV cache, the first run (a prefill of --prompt tokens in one step) and --decode greedy steps;
then after a forced GC (what is still referenced). llama.cpp: model load, context create, first
run, decode. RSS includes mapped file pages (llama.cpp mmaps the GGUF). PodLens runs against a
converted-model cache of its own in a temporary directory: podlens-first is the first load, which
converts the GGUF into it; podlens is a later load that finds it (after an unrecorded conversion
if podlens-first did not run).

  --models a,b     qwen0.5b, qwen1.5b, smollm2 or .gguf paths   (default qwen0.5b,qwen1.5b)
                   (a Qwen2.5-7B-shaped file, random weights in the official Q4_K_M mix, 4.7 GB:
                   node out/scripts/make-synthetic-gguf.js --preset qwen2.5-7b --type Q4_K_M --out F)
  --ctx N          context size of both engines                  (default 4096)
  --prompt N       first-run prompt tokens                       (default 512)
  --decode N       decode steps                                  (default 16)
  --engines a,b    podlens-first, podlens, llamacpp              (default all three)
  --out FILE       JSON result path      (default bench/results/memory-<date>.json)`;

/** podlens-first: a load that converts the GGUF; podlens: a load from the converted-model cache. */
type Engine = 'podlens-first' | 'podlens' | 'llamacpp';
const ENGINES: readonly Engine[] = ['podlens-first', 'podlens', 'llamacpp'];

interface MemoryJob {
  engine: 'podlens' | 'llamacpp';
  modelPath: string;
  contextSize: number;
  prompt: number[];
  decode: number;
}

export interface MemorySample {
  stage: string;
  /** VmRSS, VmHWM, RssAnon, RssFile (bytes). */
  rss: number;
  hwm: number;
  anon: number;
  file: number;
  /** process.memoryUsage(): JS ArrayBuffers (incl. Buffers) and all memory V8 knows is held outside its heap. */
  arrayBuffers: number;
  external: number;
}

export function sampleMemory(stage: string): MemorySample {
  let status = '';
  try {
    status = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    /* not Linux */
  }
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  };
  const mu = process.memoryUsage();
  return {
    stage,
    rss: kb('VmRSS') || mu.rss,
    hwm: kb('VmHWM') || process.resourceUsage().maxRSS * 1024,
    anon: kb('RssAnon'),
    file: kb('RssFile'),
    arrayBuffers: mu.arrayBuffers,
    external: mu.external,
  };
}

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

async function podlensStages(job: MemoryJob, out: MemorySample[]): Promise<Record<string, unknown>> {
  const { Engine } = await import('../src/engine/engine');
  out.push(sampleMemory('start'));
  const engine = await Engine.load(job.modelPath, {
    contextSize: job.contextSize,
    threads: 2,
    onStage: (stage, detail) => out.push(sampleMemory(detail ? `${stage} (${detail})` : stage)),
  });
  const cache = engine.createCache();
  out.push(sampleMemory('KV cache'));
  let next = argmax(await engine.decoder.step(job.prompt, cache, [job.prompt.length - 1]));
  out.push(sampleMemory('first run'));
  for (let i = 0; i < job.decode; i++) next = argmax(await engine.decoder.step([next], cache, [0]));
  out.push(sampleMemory('steady decode'));
  (globalThis as { gc?: () => void }).gc?.();
  out.push(sampleMemory('after gc'));
  const info = {
    packedWeightBytes: engine.decoder.weightBytes,
    segments: engine.decoder.segmentRanges,
    kvBytes: cache.byteSize(),
  };
  await engine.dispose();
  return info;
}

// node-llama-cpp is ESM-only and the bench is bundled to CommonJS (see worker.ts).
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

async function llamacppStages(job: MemoryJob, out: MemorySample[]): Promise<Record<string, unknown>> {
  const nlc = (await importEsm('node-llama-cpp')) as typeof NodeLlamaCpp;
  const llama = await nlc.getLlama({ gpu: false, build: 'never', maxThreads: 2, logLevel: nlc.LlamaLogLevel.error });
  out.push(sampleMemory('start'));
  const model = await llama.loadModel({ modelPath: job.modelPath });
  out.push(sampleMemory('model load'));
  const context = await model.createContext({
    contextSize: job.contextSize,
    batchSize: job.prompt.length,
    threads: { ideal: 2, min: 2 },
  });
  out.push(sampleMemory('context create'));
  const seq = context.getSequence();
  type Item = NodeLlamaCpp.ControlledEvaluateInputItem;
  const tok = (n: number): NodeLlamaCpp.Token => n as NodeLlamaCpp.Token;
  const withNext = (t: number): Item => [tok(t), { generateNext: { token: true, options: { temperature: 0 } } }];
  const res = await seq.controlledEvaluate(
    job.prompt.map((t, i) => (i === job.prompt.length - 1 ? withNext(t) : tok(t))),
  );
  let next = res[job.prompt.length - 1]?.next.token ?? 0;
  out.push(sampleMemory('first run'));
  for (let i = 0; i < job.decode; i++) next = (await seq.controlledEvaluate([withNext(next)]))[0]?.next.token ?? 0;
  out.push(sampleMemory('steady decode'));
  const info = { useMmap: model.useMmap, kvType: nlc.GgmlType[context.kvCacheKeyType] };
  await seq.dispose();
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  return info;
}

/** Entry point of `node --expose-gc dist/bench.js --memory-worker <job JSON file>`: prints one JSON line. */
export async function memoryWorkerMain(jobFile: string): Promise<void> {
  const job = JSON.parse(fs.readFileSync(jobFile, 'utf8')) as MemoryJob;
  const samples: MemorySample[] = [];
  const info = job.engine === 'podlens' ? await podlensStages(job, samples) : await llamacppStages(job, samples);
  fs.writeSync(1, `@@memory ${JSON.stringify({ samples, info })}\n`);
  process.exit(0); // native thread pools may keep the process alive
}

const MB = (b: number): string => (b / 2 ** 20).toFixed(0);

export async function memoryMain(argv: readonly string[]): Promise<number> {
  const opt = parseModeOptions(argv, USAGE, ['models', 'ctx', 'prompt', 'decode', 'engines', 'out']);
  if (!opt) return 0;
  const num = opt.num;
  const models = resolveModels((opt.str('models') ?? 'qwen0.5b,qwen1.5b').split(','), true);
  const engines = (opt.str('engines') ?? ENGINES.join(',')).split(',') as Engine[];
  for (const e of engines) if (!ENGINES.includes(e)) throw new Error(`unknown engine '${e}' (${ENGINES.join(', ')})`);
  engines.sort((a, b) => ENGINES.indexOf(a) - ENGINES.indexOf(b)); // the first load fills the cache
  const contextSize = num('ctx', 4096);
  const machine = describeMachine();
  console.log(formatMachineHeader(machine));
  const started = new Date();
  const results: { model: string; fileBytes: number; engine: string; samples: MemorySample[]; info: unknown }[] = [];
  const tmp = fs.mkdtempSync(path.join(RESULTS_DIR, '.memory-'));
  try {
    for (const m of models) {
      warmPageCache(m.path);
      const prompt = promptIds(m.path, num('prompt', 512)).ids;
      const modelCache = path.join(tmp, `onnx-${m.key}`);
      const run = (engine: Engine): { samples: MemorySample[]; info: unknown } => {
        const jobFile = path.join(tmp, 'job.json');
        const job: MemoryJob = {
          engine: engine === 'llamacpp' ? 'llamacpp' : 'podlens',
          modelPath: m.path,
          contextSize,
          prompt,
          decode: num('decode', 16),
        };
        fs.writeFileSync(jobFile, JSON.stringify(job));
        if (engine === 'podlens-first') fs.rmSync(modelCache, { recursive: true, force: true });
        const r = spawnSync(process.execPath, ['--expose-gc', __filename, '--memory-worker', jobFile], {
          encoding: 'utf8',
          maxBuffer: 64 << 20,
          env: { ...process.env, PODLENS_ONNX_CACHE: modelCache },
        });
        const line = r.stdout.split('\n').find((l) => l.startsWith('@@memory '));
        if (!line) throw new Error(`${engine} on ${m.key} failed (exit ${r.status}): ${r.stderr.trim().slice(-2000)}`);
        return JSON.parse(line.slice(9)) as { samples: MemorySample[]; info: unknown };
      };
      for (const engine of engines) {
        if (engine === 'podlens' && !fs.existsSync(modelCache)) run('podlens-first'); // convert, unrecorded
        const got = run(engine);
        results.push({ model: m.key, fileBytes: fs.statSync(m.path).size, engine, ...got });
        console.log(`${m.key} ${engine}: peak ${MB(got.samples.at(-1)!.hwm)} MB`);
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  finishMachine(machine);
  const md: string[] = [
    `context ${contextSize}, first run = one prefill step of ${num('prompt', 512)} tokens, then ${num('decode', 16)} decode steps; MB = MiB.`,
    'RSS/HWM: VmRSS/VmHWM after the stage (HWM = peak so far); anon/file: RssAnon/RssFile; AB: JS ArrayBuffers; ext: V8 external.',
    '',
  ];
  for (const m of models) {
    const rows = results.filter((r) => r.model === m.key);
    md.push(`## ${m.key} (${MB(fs.statSync(m.path).size)} MB file)`, '');
    md.push('| engine | stage | RSS | HWM | anon | file | AB | ext |', '|---|---|---:|---:|---:|---:|---:|---:|');
    for (const r of rows)
      for (const s of r.samples)
        md.push(
          `| ${r.engine} | ${s.stage} | ${MB(s.rss)} | ${MB(s.hwm)} | ${MB(s.anon)} | ${MB(s.file)} | ${MB(s.arrayBuffers)} | ${MB(s.external)} |`,
        );
    const peak = (e: string): number | undefined => rows.find((r) => r.engine === e)?.samples.at(-1)?.hwm;
    const l = peak('llamacpp');
    md.push('');
    for (const e of ['podlens-first', 'podlens'] as const) {
      const p = peak(e);
      if (p !== undefined && l !== undefined)
        md.push(`peak RSS: ${e} ${MB(p)} MB, llama.cpp ${MB(l)} MB, ratio ${(p / l).toFixed(2)}×`, '');
    }
    for (const r of rows) md.push(`${r.engine}: ${JSON.stringify(r.info)}`, '');
  }
  const out = opt.str('out') ?? path.join(RESULTS_DIR, `memory-${stamp(started)}.json`);
  const w = writeReport(
    out,
    `PodLens vs llama.cpp memory — ${started.toISOString()}`,
    machine,
    { results },
    md.join('\n'),
  );
  console.log(md.join('\n'));
  console.log(`wrote ${w.json} and ${w.md}`);
  return 0;
}
