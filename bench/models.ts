// The bench's model files and prompt: the real SmolLM2-135M-Instruct Q4_1 and Qwen2.5-Coder
// 0.5B / 1.5B Instruct Q4_K_M files in models/ (the default set; the 1.5B only when present), plus
// synthetic SmolLM2-135M-shaped files (random weights, SmolLM2's tokenizer) of other tensor types,
// written once into a cache directory. The prompt is a fixed real text tokenized with PodLens's
// tokenizer. Not for fetching models (scripts/fetch-models.sh does that).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GGUFFile } from '../src/engine/gguf/file';
import { readModelConfig } from '../src/engine/model/config';
import { makeSyntheticModel } from '../src/engine/gguf/synthetic';
import { GGMLType, typeName } from '../src/engine/gguf/types';
import { Tokenizer } from '../src/engine/tokenizer';

export interface BenchModel {
  /** Key used by --models. */
  key: string;
  /** Display name. */
  name: string;
  /** Tensor type of the big weights (display only). */
  type: string;
  synthetic: boolean;
  path: string;
  /** Other names accepted by --models. */
  aliases?: string[];
  /** How to get the file when it is missing. */
  fetch?: string;
  /** In the default set only when its file is present (skipped with a note otherwise). */
  optional?: boolean;
}

export const ROOT = path.resolve(__dirname, '..');
export const REAL_MODEL = path.join(ROOT, 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');
const FETCH = 'bash scripts/fetch-models.sh';
/** The models `npm run bench` measures without --models. */
export const DEFAULT_MODELS = ['smollm2', 'qwen0.5b', 'qwen1.5b'];
export const CACHE_DIR = process.env.PODLENS_BENCH_CACHE ?? path.join(os.homedir(), '.cache', 'podlens', 'bench');

/** Known models by key; anything else given to --models is taken as a path to a GGUF file. */
export function knownModels(): BenchModel[] {
  const synth = (type: string): BenchModel => ({
    key: type.toLowerCase(),
    name: 'SmolLM2-135M (synthetic)',
    type,
    synthetic: true,
    path: path.join(CACHE_DIR, `smollm2-135m-${type}.gguf`),
  });
  const real = (
    key: string,
    name: string,
    type: string,
    file: string,
    aliases: string[],
    fetch = FETCH,
  ): BenchModel => ({ key, name, type, synthetic: false, path: path.join(ROOT, 'models', file), aliases, fetch });
  return [
    real('smollm2', 'SmolLM2-135M-Instruct', 'Q4_1', 'SmolLM2-135M-Instruct.Q4_1.gguf', ['q4_1', 'smollm2-135m']),
    real('qwen0.5b', 'Qwen2.5-Coder-0.5B-Instruct', 'Q4_K_M', 'qwen2.5-coder-0.5b-instruct.gguf', [
      'qwen0.5',
      'qwen2.5-coder-0.5b',
    ]),
    {
      ...real(
        'qwen1.5b',
        'Qwen2.5-Coder-1.5B-Instruct',
        'Q4_K_M',
        'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf',
        ['qwen1.5', 'qwen2.5-coder-1.5b'],
        `${FETCH} --1.5b`,
      ),
      optional: true,
    },
    synth('Q8_0'),
    synth('F16'),
  ];
}

/**
 * The models for `keys` (keys, aliases or paths to GGUF files; a path to a known file gets its
 * name). `explicit` false means the default set: optional models stay optional (skipped with a
 * note when missing); a model named explicitly is never optional.
 */
export function resolveModels(keys: readonly string[], explicit: boolean): BenchModel[] {
  const known = knownModels();
  return keys.map((k) => {
    const lower = k.toLowerCase();
    const byKey = known.find((x) => x.key === lower || x.aliases?.includes(lower));
    const byPath = known.find((x) => !x.synthetic && x.path === path.resolve(k));
    const m = byKey ?? byPath;
    if (m) return { ...m, optional: !explicit && m.optional };
    if (k.endsWith('.gguf') || fs.existsSync(k))
      return { key: k, name: path.basename(k, '.gguf'), type: '?', synthetic: false, path: path.resolve(k) };
    throw new Error(`unknown model '${k}' (known: ${known.map((x) => x.key).join(', ')}, or a path to a .gguf file)`);
  });
}

/**
 * Make sure a synthetic model file exists, writing it (random weights in SmolLM2-135M's shape,
 * tokenizer metadata copied from the real file) when missing. Returns the seconds spent writing.
 */
export async function ensureSynthetic(m: BenchModel): Promise<number> {
  if (!m.synthetic || fs.existsSync(m.path)) return 0;
  if (!fs.existsSync(REAL_MODEL))
    throw new Error(`${REAL_MODEL} is missing (run scripts/fetch-models.sh); it provides the tokenizer`);
  fs.mkdirSync(path.dirname(m.path), { recursive: true });
  const t0 = performance.now();
  await writeSynthetic(m.type, m.path);
  return (performance.now() - t0) / 1000;
}

const SYNTHETIC_TYPES: Record<string, GGMLType> = {
  Q8_0: GGMLType.Q8_0,
  F16: GGMLType.F16,
  Q4_0: GGMLType.Q4_0,
  Q4_1: GGMLType.Q4_1,
};

async function writeSynthetic(type: string, out: string): Promise<void> {
  const weightType = SYNTHETIC_TYPES[type];
  if (weightType === undefined) throw new Error(`no synthetic writer setting for type ${type}`);
  // The writer streams to a temporary name and renames when complete: no half-written cache files.
  makeSyntheticModel({ path: out, preset: 'smollm2-135m', weightType, tokenizerFrom: REAL_MODEL, seed: 1 });
}

/**
 * GGUF bytes of the weights one decoded token reads: every 2-D tensor except the token embedding
 * (one row of it is read), unless the model ties it to the output projection.
 */
export function decodeWeightBytes(file: string): number {
  const f = GGUFFile.open(file);
  try {
    const tied = readModelConfig(f).tiedEmbeddings;
    return f.header.tensors
      .filter((t) => t.dims.length === 2 && (tied || t.name !== 'token_embd.weight'))
      .reduce((a, t) => a + t.nBytes, 0);
  } finally {
    f.close();
  }
}

/** The tensor type holding most of the bytes of a model's 2-D weights (for models given by path). */
export function mainTensorType(modelPath: string): string {
  const f = GGUFFile.open(modelPath);
  try {
    const bytes = new Map<number, number>();
    for (const t of f.tensors) if (t.dims.length === 2) bytes.set(t.type, (bytes.get(t.type) ?? 0) + t.nBytes);
    const top = [...bytes].sort((a, b) => b[1] - a[1])[0];
    return top ? typeName(top[0]) : '?';
  } finally {
    f.close();
  }
}

/** The prompt text: a large, pinned, real source file (TypeScript's ES5 lib declarations). */
export const PROMPT_SOURCE = path.join(ROOT, 'node_modules', 'typescript', 'lib', 'lib.es5.d.ts');

/** The first `n` token ids of PROMPT_SOURCE under `modelPath`'s tokenizer (no BOS), and that tokenizer's vocabulary size. */
export function promptIds(modelPath: string, n: number): { ids: number[]; vocabSize: number; source: string } {
  const text = fs.readFileSync(PROMPT_SOURCE, 'utf8');
  const f = GGUFFile.open(modelPath);
  try {
    const tok = Tokenizer.fromGGUF(f);
    // ~3 characters per token for code: tokenize a prefix long enough, not the whole 200 KB file.
    for (let chars = n * 6; ; chars *= 2) {
      const ids = tok.encode(text.slice(0, chars), { addBos: false, parseSpecial: false });
      if (ids.length > n || chars >= text.length) {
        if (ids.length < n) throw new Error(`${PROMPT_SOURCE} gives only ${ids.length} tokens, fewer than ${n}`);
        return { ids: ids.slice(0, n), vocabSize: tok.vocabSize, source: path.relative(ROOT, PROMPT_SOURCE) };
      }
    }
  } finally {
    f.close();
  }
}

/**
 * Read a model file once so it sits in the page cache before either engine loads it: otherwise
 * the engine that loads first pays the disk reads and the load times are not comparable.
 * Returns the seconds spent (about 0 when the file was already cached).
 */
export function warmPageCache(file: string): number {
  const t0 = performance.now();
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(8 << 20);
    while (fs.readSync(fd, buf, 0, buf.length, null) > 0) {
      /* only the reads matter */
    }
  } finally {
    fs.closeSync(fd);
  }
  return (performance.now() - t0) / 1000;
}
