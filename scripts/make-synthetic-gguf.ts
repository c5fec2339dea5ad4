// CLI around makeSyntheticModel (src/engine/gguf/synthetic.ts): writes a random-weight GGUF in a
// given shape with a real tokenizer, for load/scale tests and benchmarks.
//   node out/scripts/make-synthetic-gguf.js --preset qwen2.5-7b --type Q4_K_M --out /tmp/q.gguf
// Run with --help for all options.
import * as fs from 'node:fs';
import { GGUFFile } from '../src/engine/gguf/file';
import { makeSyntheticModel, SYNTHETIC_PRESETS, SyntheticPreset, SyntheticShape } from '../src/engine/gguf/synthetic';
import { GGMLType, SUPPORTED_TENSOR_TYPES } from '../src/engine/gguf/types';
import { q4kmTensors } from '../src/engine/model/qwen-shapes';

const HELP = `usage: node out/scripts/make-synthetic-gguf.js --out FILE [options]
  --preset NAME        ${Object.keys(SYNTHETIC_PRESETS).join(' | ')} (default tiny)
  --arch llama|qwen2   override the preset's architecture (qwen2 adds QKV biases)
  --type T             2-D weight type: ${SUPPORTED_TENSOR_TYPES.join(', ')} (default Q8_0),
                       or Q4_K_M (qwen2 only): llama.cpp's Q4_K_M mix as in Qwen's official files
  --embd-type T        token_embd/output type (default: --type)
  --tied | --untied    share token_embd as the output head, or write output.weight
  --rope-freqs         add a llama3 rope_freqs.weight (llama only)
  --layers N --dim N --heads N --kv-heads N --head-dim N --ffn N --vocab N --ctx N   shape overrides
  --tokenizer-from F   GGUF to copy tokenizer.* metadata from (default models/stories260K-f32.gguf
                       for vocab ≤ 512, else models/SmolLM2-135M-Instruct.Q4_1.gguf)
  --seed N             (default 1)      --std X   weight std (default 0.02)
  --gguf-version 1|2|3 (default 3)`;

function parseType(v: string): GGMLType {
  const t = GGMLType[v.toUpperCase() as keyof typeof GGMLType];
  if (t === undefined || !SUPPORTED_TENSOR_TYPES.includes(v.toUpperCase()))
    throw new Error(`unknown type ${v}; supported: ${SUPPORTED_TENSOR_TYPES.join(', ')}`);
  return t;
}

function main(argv: string[]): void {
  const shape: { -readonly [K in keyof SyntheticShape]?: SyntheticShape[K] } = {};
  let out: string | undefined,
    preset: SyntheticPreset = 'tiny',
    weightType: GGMLType | undefined,
    embeddingType: GGMLType | undefined,
    q4km = false;
  let tokenizerFrom: string | undefined,
    seed = 1,
    std: number | undefined,
    version: 1 | 2 | 3 = 3;
  const ints: Record<string, keyof SyntheticShape> = {
    '--layers': 'nLayers',
    '--dim': 'dim',
    '--heads': 'nHeads',
    '--kv-heads': 'nKVHeads',
    '--head-dim': 'headDim',
    '--ffn': 'ffnDim',
    '--vocab': 'vocabSize',
    '--ctx': 'ctxTrain',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (): number => {
      const n = Number(val());
      if (!Number.isInteger(n)) throw new Error(`${a} needs an integer`);
      return n;
    };
    if (a === '--help' || a === '-h') {
      console.log(HELP);
      return;
    } else if (a === '--out') out = val();
    else if (a === '--preset') {
      const p = val();
      if (!(p in SYNTHETIC_PRESETS))
        throw new Error(`unknown preset ${p}; presets: ${Object.keys(SYNTHETIC_PRESETS).join(', ')}`);
      preset = p as SyntheticPreset;
    } else if (a === '--arch') {
      const v = val();
      if (v !== 'llama' && v !== 'qwen2') throw new Error('--arch is llama or qwen2');
      shape.arch = v;
    } else if (a === '--type') {
      const v = val();
      q4km = v.toUpperCase() === 'Q4_K_M';
      weightType = q4km ? GGMLType.Q4_K : parseType(v);
    } else if (a === '--embd-type') embeddingType = parseType(val());
    else if (a === '--tied') shape.tiedEmbeddings = true;
    else if (a === '--untied') shape.tiedEmbeddings = false;
    else if (a === '--rope-freqs') shape.ropeFreqs = true;
    else if (a === '--tokenizer-from') tokenizerFrom = val();
    else if (a === '--seed') seed = int();
    else if (a === '--std') std = Number(val());
    else if (a === '--gguf-version') {
      const v = int();
      if (v !== 1 && v !== 2 && v !== 3) throw new Error('--gguf-version is 1, 2 or 3');
      version = v;
    } else if (a in ints) (shape as Record<string, number>)[ints[a]!] = int();
    else throw new Error(`unknown argument ${a}\n${HELP}`);
  }
  if (!out) throw new Error(`--out is required\n${HELP}`);
  let tensorType: ((name: string) => GGMLType | undefined) | undefined;
  if (q4km) {
    const s: SyntheticShape = { ...SYNTHETIC_PRESETS[preset], ...shape };
    if (s.arch !== 'qwen2')
      throw new Error('--type Q4_K_M is the layout of qwen2 files; use a qwen2.5 preset or --arch qwen2');
    if (embeddingType !== undefined)
      throw new Error('--type Q4_K_M sets the embedding types itself; leave out --embd-type');
    const types = new Map(q4kmTensors(s).map((t) => [t.name, t.type]));
    tensorType = (name) => types.get(name);
  }
  const t0 = Date.now();
  makeSyntheticModel({
    path: out,
    preset,
    shape,
    weightType,
    embeddingType,
    tensorType,
    tokenizerFrom,
    seed,
    std,
    version,
  });
  const f = GGUFFile.open(out);
  const byType = new Map<string, number>();
  for (const t of f.tensors)
    byType.set(GGMLType[t.type] ?? String(t.type), (byType.get(GGMLType[t.type] ?? '') ?? 0) + 1);
  const mb = fs.statSync(out).size / 1e6;
  console.log(
    `${out}: ${f.string('general.name')}, ${f.tensors.length} tensors (${[...byType].map(([k, n]) => `${n} ${k}`).join(', ')}), ` +
      `${mb.toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  f.close();
}

try {
  main(process.argv.slice(2));
} catch (e) {
  console.error(`make-synthetic-gguf: ${(e as Error).message}`);
  process.exit(1);
}
