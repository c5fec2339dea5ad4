// Worker side of the bench: load one engine on one model at one thread count, then answer the
// parent's 'run' commands (timed prefill + greedy decode from an empty cache) until 'finish',
// which reports peak RSS. Each engine is imported lazily so a worker loads only its own runtime.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as NodeLlamaCpp from 'node-llama-cpp';
import { MemoryStats, ParentMessage, RunResult, WorkerJob, WorkerMessage } from './protocol';

interface Runner {
  info: Record<string, unknown>;
  run(decodeTokens: number): Promise<RunResult>;
  /** More greedy steps after the last run's tokens (no prefill). */
  decode(decodeTokens: number): Promise<RunResult>;
  dispose(): Promise<void>;
}

function argmax(logits: Float32Array, offset = 0, n = logits.length - offset): number {
  let best = 0,
    bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = logits[offset + i]!;
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

/** n greedy steps, each fed the previous token (starting from `from`); tokens appended to ids; wall time. */
async function timedSteps(
  n: number,
  from: number,
  ids: number[],
  step: (token: number) => Promise<number>,
): Promise<{ ms: number; last: number }> {
  const t0 = performance.now();
  let t = from;
  for (let i = 0; i < n; i++) {
    t = await step(t);
    ids.push(t);
  }
  return { ms: performance.now() - t0, last: t };
}

async function podlensRunner(job: WorkerJob): Promise<Runner> {
  const { Engine } = await import('../src/engine/engine');
  const { loadProfile } = await import('../src/engine/eval/profile');
  const { describePlan } = await import('../src/engine/kv/plan');
  const k = job.kv ?? { kind: 'full' };
  const quant = k.distantQuant ? { distantQuant: k.distantQuant } : {};
  const kv = k.profile ? { ...loadProfile(k.profile, job.modelPath), ...quant } : { kind: k.kind, ...quant };
  const engine = await Engine.load(job.modelPath, {
    threads: job.threads,
    contextSize: job.contextSize,
    kv,
    profilePrefix: job.profileDir ? path.join(job.profileDir, 'ort') : undefined,
  });
  const cache = engine.createCache();
  const dec = engine.decoder;
  const prompt = job.prompt;
  let next = 0;
  const steps = async (n: number, ids: number[]): Promise<number> => {
    const r = await timedSteps(n, next, ids, async (t) => argmax(await dec.step([t], cache, [0])));
    next = r.last;
    return r.ms;
  };
  return {
    info: {
      contextSize: engine.contextSize,
      kvCache: cache.kind,
      kvPlan: describePlan(dec.plan),
      kvBytesPerElement: cache.snapshot().bytesPerElement,
      packedWeightBytes: dec.weightBytes,
    },
    async decode(decodeTokens) {
      const ids: number[] = [];
      const decodeMs = await steps(decodeTokens, ids);
      return { prefillMs: 0, decodeMs, decodeTokens, ids, cpuMs: 0, kvBytes: cache.byteSize() };
    },
    async run(decodeTokens) {
      cache.truncate(0);
      const t0 = performance.now();
      let logits: Float32Array | undefined;
      for (let i = 0; i < prompt.length; i += job.prefillChunk) {
        const part = prompt.slice(i, i + job.prefillChunk);
        logits = await dec.step(part, cache, [part.length - 1]);
      }
      const prefillMs = performance.now() - t0;
      next = argmax(logits!);
      const ids = [next];
      const decodeMs = await steps(decodeTokens, ids);
      return { prefillMs, decodeMs, decodeTokens, ids, cpuMs: 0, kvBytes: cache.byteSize() };
    },
    async dispose() {
      if (job.profileDir) dec.endProfiling(); // writes the profile files
      await engine.dispose();
    },
  };
}

/** ggml CPU backend libraries mapped into this process (llama.cpp picks one per CPU: haswell, zen4, sapphirerapids …). */
function ggmlCpuVariants(): string[] {
  let maps = '';
  try {
    maps = fs.readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return [];
  }
  return [...new Set([...maps.matchAll(/libggml-cpu-([\w-]+)\.so/g)].map((m) => m[1]!))];
}

// node-llama-cpp is ESM-only and the bench is bundled to CommonJS; a Function keeps the real
// dynamic import (esbuild and tsc would otherwise turn it into require()).
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

async function llamacppRunner(job: WorkerJob): Promise<Runner> {
  const nlc = (await importEsm('node-llama-cpp')) as typeof NodeLlamaCpp;
  const llama = await nlc.getLlama({
    gpu: false,
    build: 'never',
    maxThreads: job.threads,
    logLevel: nlc.LlamaLogLevel.error,
  });
  const model = await llama.loadModel({ modelPath: job.modelPath });
  const context = await model.createContext({
    contextSize: job.contextSize,
    batchSize: job.prefillChunk,
    threads: { ideal: job.threads, min: job.threads },
  });
  const seq = context.getSequence();
  type Item = NodeLlamaCpp.ControlledEvaluateInputItem;
  const tok = (n: number): NodeLlamaCpp.Token => n as NodeLlamaCpp.Token;
  const withNext = (t: number): Item => [tok(t), { generateNext: { token: true, options: { temperature: 0 } } }];
  const nextOf = (out: NodeLlamaCpp.ControlledEvaluateIndexOutput | undefined): number => {
    const t = out?.next.token;
    if (t === undefined || t === null) throw new Error('llama.cpp produced no token');
    return t;
  };
  const prompt = job.prompt;
  let next = 0;
  const steps = async (n: number, ids: number[]): Promise<number> => {
    const r = await timedSteps(n, next, ids, async (t) => nextOf((await seq.controlledEvaluate([withNext(t)]))[0]));
    next = r.last;
    return r.ms;
  };
  return {
    info: {
      contextSize: context.contextSize,
      batchSize: context.batchSize,
      flashAttention: context.flashAttention,
      kvCacheKeyType: nlc.GgmlType[context.kvCacheKeyType] ?? context.kvCacheKeyType,
      kvCacheValueType: nlc.GgmlType[context.kvCacheValueType] ?? context.kvCacheValueType,
      threads: context.idealThreads,
      /** node-llama-cpp's binaries release tag (as the binding reports it). */
      llamaCppRelease: llama.llamaCppRelease.release,
      buildType: llama.buildType,
      useMmap: model.useMmap,
      systemInfo: llama.systemInfo,
      ggmlCpuVariant: ggmlCpuVariants().join(',') || undefined,
    },
    async run(decodeTokens) {
      await seq.clearHistory();
      const t0 = performance.now();
      const res = await seq.controlledEvaluate(prompt.map((t, i) => (i === prompt.length - 1 ? withNext(t) : tok(t))));
      const prefillMs = performance.now() - t0;
      next = nextOf(res[prompt.length - 1]);
      const ids = [next];
      const decodeMs = await steps(decodeTokens, ids);
      return { prefillMs, decodeMs, decodeTokens, ids, cpuMs: 0 };
    },
    async decode(decodeTokens) {
      const ids: number[] = [];
      const decodeMs = await steps(decodeTokens, ids);
      return { prefillMs: 0, decodeMs, decodeTokens, ids, cpuMs: 0 };
    },
    async dispose() {
      await seq.dispose();
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}

export function readMemory(baseRss = 0): MemoryStats {
  const kb = (s: string, key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(s);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  let status = '';
  try {
    status = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    /* not Linux */
  }
  const peak = kb(status, 'VmHWM') ?? process.resourceUsage().maxRSS * 1024;
  const cpu = process.cpuUsage();
  return {
    cpuMs: (cpu.user + cpu.system) / 1000,
    baseRss,
    peakRss: peak,
    rss: kb(status, 'VmRSS') ?? process.memoryUsage().rss,
    rssAnon: kb(status, 'RssAnon') ?? 0,
    rssFile: kb(status, 'RssFile') ?? 0,
  };
}

/** Entry point of `node dist/bench.js --worker <job JSON file>`. */
export async function workerMain(jobFile: string): Promise<void> {
  const send = (m: WorkerMessage): void => {
    process.send?.(m);
  };
  /** Send a last message, then exit once it is flushed (native thread pools may keep the process alive). */
  const sendAndExit = (m: WorkerMessage, code: number): void => {
    process.send!(m, undefined, {}, () => process.exit(code));
  };
  if (!process.send) throw new Error('--worker must be started by the bench (needs an IPC channel)');
  // The parent went away (killed, or it timed out): stop too, from the start — workers orphaned
  // during a long load or prefill kept two cores busy for minutes (session 8).
  process.on('disconnect', () => process.exit(1));
  if (!process.connected) process.exit(1); // it went before this listener was added
  const baseRss = readMemory().rss;
  let runner: Runner;
  try {
    const job = JSON.parse(fs.readFileSync(jobFile, 'utf8')) as WorkerJob;
    const t0 = performance.now();
    runner = job.engine === 'podlens' ? await podlensRunner(job) : await llamacppRunner(job);
    send({ type: 'ready', loadMs: performance.now() - t0, info: runner.info });
  } catch (e) {
    sendAndExit({ type: 'error', message: errorText(e) }, 1);
    return;
  }
  process.on('message', (raw) => {
    const m = raw as ParentMessage;
    void (async () => {
      try {
        if (m.cmd === 'run' || m.cmd === 'decode') {
          const c0 = process.cpuUsage();
          const result = m.cmd === 'run' ? await runner.run(m.decodeTokens) : await runner.decode(m.decodeTokens);
          const c = process.cpuUsage(c0);
          send({ type: 'result', result: { ...result, cpuMs: (c.user + c.system) / 1000 } });
        } else if (m.cmd === 'finish') {
          const memory = readMemory(baseRss); // before disposing, which only lowers the current RSS
          await runner.dispose().catch(() => undefined);
          sendAndExit({ type: 'finished', memory }, 0);
        }
      } catch (e) {
        sendAndExit({ type: 'error', message: errorText(e) }, 1);
      }
    })();
  });
}

export function errorText(e: unknown): string {
  const msg = e instanceof Error ? `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}` : String(e);
  return msg.split('\n')[0]!.slice(0, 300);
}
