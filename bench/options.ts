// Command-line options of `npm run bench -- [options]` (the default mode), and the one parser of
// the `--name value` options of --memory, --ops and --kernels (--long and --session parse their
// own). Not for running anything.
import { DEFAULT_MODELS } from './models';

export interface BenchOptions {
  models: string[];
  /** --models was given (its models are required; the default set's optional ones may be skipped). */
  modelsGiven: boolean;
  threads: number[];
  repeats: number;
  promptTokens: number;
  decodeTokens: number;
  /** Decode steps in the warm-up run (after a full prefill). */
  warmupDecode: number;
  prefillChunk: number;
  engines: ('podlens' | 'llamacpp')[];
  out: string | undefined;
  quick: boolean;
  /** Longest wait for other processes to go quiet before each measured run (ms; 0 = no wait). */
  settleMs: number;
}

export const USAGE = `usage: npm run bench -- [options]
       npm run bench -- --session [options]   (workspace session TTFTs; --session --help)
       npm run bench -- --long [options]      (decode at 8K: full vs PoD vs streaming vs llama.cpp; --long --help)
       npm run bench -- --memory [options]    (resident memory per load stage vs llama.cpp; --memory --help)
       npm run bench -- --ops [options]       (per-operator profile of prefill and decode vs llama.cpp; --ops --help)
       npm run bench -- --kernels [options]   (MatMulNBits time per weight layout; --kernels --help)

PodLens vs llama.cpp (node-llama-cpp) on the same GGUF files in one run: prefill tok/s of a
512-token code prompt, greedy decode tok/s over 128 tokens, peak RSS, start time (process start
to model loaded) and first-token time (start + the first, cold prefill); each engine × model ×
threads in its own worker process, runs interleaved between the two engines, median of the
repeats. Every report starts with the machine: CPU model, family/model/stepping, ISA flags.

  --models a,b     smollm2 (SmolLM2-135M-Instruct Q4_1), qwen0.5b, qwen1.5b (Qwen2.5-Coder
                   Instruct Q4_K_M), q8_0, f16 (synthetic SmolLM2-135M shape), or paths to
                   .gguf files          (default smollm2,qwen0.5b,qwen1.5b; qwen1.5b only when
                   its file is present: bash scripts/fetch-models.sh --1.5b)
  --threads 1,2    thread counts                                     (default 1,2)
  --repeats N      measured runs per engine, after one warm-up run   (default 3)
  --prompt N       prompt tokens                                     (default 512)
  --decode N       decode tokens                                     (default 128)
  --chunk N        prefill tokens per step/batch                     (default = prompt)
  --engines a,b    podlens, llamacpp                                 (default both)
  --settle S       before each run wait up to S seconds for other processes to
                   leave the CPUs idle (shared VM); 0 disables                 (default 5)
  --out FILE       JSON result path        (default bench/results/engine-<date>.json)
  --quick          1 repeat, threads 2, smollm2 only (explicit --models/--threads/--repeats win)
  --help`;

export class UsageError extends Error {}

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const given = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (name === 'help' || name === 'quick') {
      given.set(name, true);
      continue;
    }
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value`);
    given.set(name, value);
  }
  if (given.has('help')) return 'help';
  const known = ['models', 'threads', 'repeats', 'prompt', 'decode', 'chunk', 'engines', 'out', 'quick', 'settle'];
  for (const k of given.keys()) if (!known.includes(k)) throw new UsageError(`unknown option --${k}`);

  const str = (k: string): string | undefined => {
    const v = given.get(k);
    return typeof v === 'string' ? v : undefined;
  };
  const int = (k: string, def: number, min: number): number => {
    const v = str(k);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${k} must be an integer ≥ ${min} (got '${v}')`);
    return n;
  };
  const list = (k: string, def: string): string[] =>
    (str(k) ?? def)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);

  const quick = given.has('quick');
  const threads = list('threads', quick ? '2' : '1,2').map((t) => {
    const n = Number(t);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--threads: '${t}' is not a positive integer`);
    return n;
  });
  const engines = list('engines', 'podlens,llamacpp').map((e) => {
    if (e !== 'podlens' && e !== 'llamacpp')
      throw new UsageError(`--engines: unknown engine '${e}' (podlens, llamacpp)`);
    return e;
  });
  const promptTokens = int('prompt', 512, 1);
  const o: BenchOptions = {
    models: list('models', quick ? 'smollm2' : DEFAULT_MODELS.join(',')),
    modelsGiven: given.has('models'),
    threads,
    repeats: int('repeats', quick ? 1 : 3, 1),
    promptTokens,
    decodeTokens: int('decode', 128, 1),
    warmupDecode: 16,
    prefillChunk: int('chunk', promptTokens, 1),
    engines,
    out: str('out'),
    quick,
    settleMs: int('settle', 5, 0) * 1000,
  };
  if (o.models.length === 0 || o.threads.length === 0 || o.engines.length === 0)
    throw new UsageError('empty --models, --threads or --engines');
  return o;
}

/** The `--name value` options of a bench mode (--memory, --ops, --kernels). */
export interface ModeOptions {
  str(name: string): string | undefined;
  /** A positive integer, `def` when not given. */
  num(name: string, def: number): number;
}

/** Parse a mode's options; undefined after printing `usage` for --help. Unknown names are errors. */
export function parseModeOptions(
  argv: readonly string[],
  usage: string,
  known: readonly string[],
): ModeOptions | undefined {
  const opt = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help') {
      console.log(usage);
      return undefined;
    }
    const v = argv[i + 1];
    if (!a.startsWith('--') || v === undefined) throw new UsageError(`bad argument '${a}'\n${usage}`);
    if (!known.includes(a.slice(2))) throw new UsageError(`unknown option ${a}\n${usage}`);
    opt.set(a.slice(2), v);
    i++;
  }
  return {
    str: (k) => opt.get(k),
    num: (k, def) => {
      const n = Number(opt.get(k) ?? def);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${k} must be a positive integer`);
      return n;
    },
  };
}
