// The podlens subcommands (info, tokenize, generate): each parses its flags, runs the engine and
// writes human-readable text or, with --json, exactly one JSON object to stdout. main.ts fills in
// the default --model (default-model.ts) before a command runs.
import { GGUFFile } from '../engine/gguf/file';
import { TYPE_TRAITS, typeName } from '../engine/gguf/types';
import { readModelConfig } from '../engine/model/config';
import { estimateMemory, WEIGHT_RESIDENCY } from '../engine/memory';
import { Tokenizer } from '../engine/tokenizer';
import { Engine } from '../engine/engine';
import { FlagSpecs, ParsedFlags, UsageError } from './args';
import { DEFAULT_GROUP_SIZE, DEFAULT_SINKS, DISTANT_QUANTS, DistantQuant, KVSpec } from '../engine/kv/plan';
import * as fs from 'node:fs';
import { defaultProfileFor, loadProfile, ProfileError } from '../engine/eval/profile';
import { MODEL_FLAG as MODEL, packageRoots } from './default-model';
import * as path from 'node:path';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  signal: AbortSignal;
}

export interface Command {
  summary: string;
  flags: FlagSpecs;
  /** Name of the one positional argument the command takes (usage text), if any. */
  positional?: string;
  run(flags: ParsedFlags, io: Io, positional?: readonly string[]): Promise<void>;
}

const JSON_FLAG = { type: 'bool', help: 'print one JSON object' } as const;
/** KV cache flags shared by every command that runs the model. */
export const KV_FLAGS: FlagSpecs = {
  kv: {
    type: 'string',
    help: 'KV cache: auto (default: pod when PodLens has a profile for the model, else full), full, pod or streaming',
  },
  sinks: { type: 'int', min: 0, help: `PoD/streaming sink tokens (default ${DEFAULT_SINKS})` },
  recent: { type: 'int', min: 1, help: 'PoD/streaming recent window (default max(256, ctx/8) − sinks)' },
  'group-size': { type: 'int', min: 1, help: `PoD uniform block size in layers (default ${DEFAULT_GROUP_SIZE})` },
  'share-mode': { type: 'string', help: 'PoD sharing: scores (default) or keys' },
  profile: {
    type: 'string',
    help: 'PoD profile from podlens calibrate: calibrated blocks per KV head and its S/R (implies --kv pod)',
  },
  'kv-dtype': { type: 'string', help: 'K/V storage: f16 (default) or f32' },
  'kv-quant': {
    type: 'string',
    help: 'PoD distant keys/values: none (default, the K/V dtype), int8, or int4 (Hadamard-rotated; experimental: perplexity ×1.9 of int8 on Qwen, docs/pod-qwen.md §4), each (token, head) row with its own scale',
  },
  'kv-int8': { type: 'bool', help: 'the same as --kv-quant int8' },
  'no-distant-bias': {
    type: 'bool',
    help: "PoD with --profile: ignore the profile's calibrated distant bias (plain pod-method §5)",
  },
};

/**
 * The KV cache the flags ask for, and when --kv is auto (the default) a line saying what auto chose
 * and why — to print once the model has loaded. Auto is the extension's podlens.kv.cache default,
 * same rule: PoD when a profile for the model ships (beside it or in this PodLens folder's
 * models/), else the full cache — also when the profile found is refused (another model of the
 * same size, unreadable), as the extension falls back (host/models/model.ts).
 */
export function kvChoice(f: ParsedFlags): { kv: KVSpec; note?: string } {
  const auto = resolveAuto(f);
  let note = auto.note;
  let spec: KVSpec;
  try {
    spec = kvSpecBase(auto.flags);
  } catch (e) {
    if (!auto.profile || !(e instanceof ProfileError)) throw e;
    note = `KV cache: full — auto: ${path.basename(auto.profile)} could not be used (${e.message.split('\n')[0]})`;
    spec = kvSpecBase({ ...f, kv: 'full' });
  }
  const quant = (f['kv-quant'] as string | undefined) ?? (f['kv-int8'] ? 'int8' : undefined);
  if (f['kv-int8'] && quant !== 'int8')
    throw new UsageError(`--kv-int8 is --kv-quant int8; it contradicts --kv-quant ${quant}`);
  if (quant !== undefined && quant !== 'none') {
    if (!(DISTANT_QUANTS as readonly string[]).includes(quant))
      throw new UsageError(`--kv-quant must be none, ${DISTANT_QUANTS.join(' or ')} (got "${quant}")`);
    if (spec.kind !== 'pod')
      throw new UsageError(`--kv-quant ${quant} stores PoD's distant tokens: it needs --kv pod (or --profile)`);
    spec.distantQuant = quant as DistantQuant;
  }
  if (f['no-distant-bias'] && f.profile === undefined) throw new UsageError('--no-distant-bias needs --profile');
  return { kv: spec, ...(note ? { note } : {}) };
}

/**
 * --kv auto (or no --kv, no --profile) → pod or full, with the line saying so and the profile auto
 * chose; other flags unchanged.
 */
function resolveAuto(f: ParsedFlags): { flags: ParsedFlags; note?: string; profile?: string } {
  const kind = (f.kv as string | undefined) ?? (f.profile !== undefined ? 'pod' : 'auto');
  if (kind !== 'auto') return { flags: f };
  if (f.profile !== undefined) throw new UsageError('--profile needs --kv pod');
  // --group-size asks for PoD's uniform blocks.
  if (f['group-size'] !== undefined) return { flags: { ...f, kv: 'pod' } };
  const shipped = shippedProfile(f);
  if (shipped)
    return {
      flags: { ...f, kv: 'pod', profile: shipped.file },
      note: `KV cache: PoD — auto: PodLens has a profile for this model (${path.basename(shipped.file)})`,
      profile: shipped.file,
    };
  return {
    flags: { ...f, kv: 'full' },
    note: 'KV cache: full — auto: no PoD profile for this model (podlens calibrate makes one; then --profile FILE)',
  };
}

/** The profile PodLens has for --model: beside it, or in this PodLens folder's models/ (matched by size, then sha256 at load). */
function shippedProfile(f: ParsedFlags): { file: string } | undefined {
  return typeof f.model === 'string'
    ? defaultProfileFor(
        f.model,
        packageRoots().map((r) => path.join(r, 'models')),
      )
    : undefined;
}

function kvSpecBase(f: ParsedFlags): KVSpec {
  const profile = f.profile as string | undefined;
  const kind = (f.kv as string | undefined) ?? (profile !== undefined ? 'pod' : 'full');
  if (kind !== 'full' && kind !== 'pod' && kind !== 'streaming')
    throw new UsageError(`--kv must be auto, full, pod or streaming (got "${kind}")`);
  const mode = f['share-mode'] as string | undefined;
  if (mode !== undefined && mode !== 'scores' && mode !== 'keys')
    throw new UsageError(`--share-mode must be scores or keys (got "${mode}")`);
  const dtype = f['kv-dtype'] as string | undefined;
  if (dtype !== undefined && dtype !== 'f16' && dtype !== 'f32')
    throw new UsageError(`--kv-dtype must be f16 or f32 (got "${dtype}")`);
  if (kind === 'full' && ['sinks', 'recent', 'group-size', 'share-mode'].some((k) => f[k] !== undefined)) {
    throw new UsageError('--sinks/--recent/--group-size/--share-mode need --kv pod or streaming');
  }
  // `--kv pod` alone takes the profile shipped for the model when there is one — beside it, or in
  // this PodLens folder's models/ (its measured blocks and local units are PoD's defaults for that
  // model); --group-size asks for uniform blocks.
  if (profile === undefined && kind === 'pod' && f['group-size'] === undefined) {
    const shipped = shippedProfile(f);
    if (shipped) return kvSpecBase({ ...f, profile: shipped.file });
  }
  if (profile !== undefined) {
    if (kind !== 'pod') throw new UsageError('--profile needs --kv pod');
    if (f['group-size'] !== undefined) throw new UsageError('give --profile or --group-size, not both');
    const p = loadProfile(profile, f.model as string);
    const bias = f['no-distant-bias'] ? {} : p.distantBias ? { distantBias: p.distantBias } : {};
    return {
      kind,
      anchors: p.anchors,
      sinks: (f.sinks as number | undefined) ?? p.sinks,
      recent: (f.recent as number | undefined) ?? p.recent,
      mode,
      dtype,
      ...bias,
    };
  }
  return {
    kind,
    sinks: f.sinks as number | undefined,
    recent: f.recent as number | undefined,
    groupSize: f['group-size'] as number | undefined,
    mode,
    dtype,
  };
}

const str = (f: ParsedFlags, k: string): string | undefined => f[k] as string | undefined;
const num = (f: ParsedFlags, k: string): number | undefined => f[k] as number | undefined;

const info: Command = {
  summary: 'architecture, shapes, tensor types and estimated memory of a GGUF model',
  flags: {
    model: MODEL,
    json: JSON_FLAG,
    ctx: { type: 'int', min: 16, help: 'context size for the memory estimate (default: min(training context, 4096))' },
  },
  async run(f, io) {
    const file = GGUFFile.open(str(f, 'model')!);
    try {
      const c = readModelConfig(file);
      const ctx = num(f, 'ctx') ?? Math.min(c.ctxTrain, 4096);
      const mem = estimateMemory(file, c, ctx);
      const types: Record<string, number> = {};
      for (const t of file.tensors) types[typeName(t.type)] = (types[typeName(t.type)] ?? 0) + 1;
      const tok = Tokenizer.fromGGUF(file);
      const { ropeFreqFactors, ...cfg } = c;
      const result = {
        file: file.path,
        ggufVersion: file.header.version,
        fileBytes: file.header.fileSize,
        config: { ...cfg, ropeFreqFactors: ropeFreqFactors ? Array.from(ropeFreqFactors) : null },
        tokenizer: {
          model: file.string('tokenizer.ggml.model', undefined) ?? null,
          pre: file.string('tokenizer.ggml.pre', undefined) ?? null,
          vocabSize: tok.vocabSize,
          bos: tok.bosId ?? null,
          eos: tok.eosId ?? null,
          addBos: tok.addBos,
        },
        tensorTypes: types,
        tensors: file.tensors.length,
        memory: { contextSize: ctx, ...mem },
      };
      if (f.json) {
        io.out(JSON.stringify(result));
        return;
      }
      const MB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
      io.out(
        [
          `${c.name} (${c.arch}), GGUF v${file.header.version}, ${MB(file.header.fileSize)}`,
          `  layers ${c.nLayers}, hidden ${c.dim}, heads ${c.nHeads} (KV ${c.nKVHeads}), head dim ${c.headDim}, FFN ${c.ffnDim}, vocab ${c.vocabSize}`,
          `  context (trained) ${c.ctxTrain}, RoPE θ ${c.ropeTheta} ${c.ropeStyle}${c.ropeFreqFactors ? ' + llama3 frequency factors' : ''}, RMS eps ${c.rmsEps}`,
          `  tied embeddings ${c.tiedEmbeddings}, QKV bias ${c.qkvBias}`,
          `  tokenizer ${result.tokenizer.model}${result.tokenizer.pre ? ` / ${result.tokenizer.pre}` : ''}, ${tok.vocabSize} tokens`,
          `  tensors ${file.tensors.length}: ${Object.entries(types)
            .map(([t, n]) => `${n}× ${t}`)
            .join(', ')}`,
          `  memory at ${ctx} tokens: weights ${MB(mem.weightBytes)} (held ≈${WEIGHT_RESIDENCY}× by ONNX Runtime) + KV ${MB(mem.kvBytes)} + runtime ${MB(mem.overheadBytes)} ≈ ${MB(mem.totalBytes)} (free ${MB(mem.freeBytes)})`,
        ].join('\n'),
      );
      void TYPE_TRAITS;
    } finally {
      file.close();
    }
  },
};

const tokenize: Command = {
  summary: 'token ids of a text',
  flags: {
    model: MODEL,
    text: { type: 'string', required: true, help: 'text to tokenize' },
    json: JSON_FLAG,
    'no-bos': { type: 'bool', help: "don't add BOS even if the model asks for it" },
  },
  async run(f, io) {
    const file = GGUFFile.open(str(f, 'model')!);
    try {
      const tok = Tokenizer.fromGGUF(file);
      const ids = tok.encode(str(f, 'text')!, f['no-bos'] ? { addBos: false } : {});
      if (f.json) io.out(JSON.stringify({ ids }));
      else io.out(ids.map((id) => `${id}\t${JSON.stringify(tok.tokenPiece(id))}`).join('\n'));
    } finally {
      file.close();
    }
  },
};

const generateCmd: Command = {
  summary: 'generate text from a prompt',
  flags: {
    model: MODEL,
    prompt: { type: 'string', help: 'prompt text' },
    'prompt-file': { type: 'string', help: 'read the prompt from a file' },
    chat: { type: 'bool', help: "apply the model's chat template (prompt = one user turn)" },
    system: { type: 'string', help: 'system message (with --chat)' },
    'max-tokens': { type: 'int', min: 1, help: 'tokens to generate (default 128)' },
    temperature: { type: 'number', min: 0, help: '0 = greedy (default 0.8)' },
    'top-k': { type: 'int', min: 0, help: 'top-k (default 40, 0 = off)' },
    'top-p': { type: 'number', min: 0, max: 1, help: 'top-p (default 0.95)' },
    'min-p': { type: 'number', min: 0, max: 1, help: 'min-p (default 0.05)' },
    'repeat-penalty': { type: 'number', min: 0, help: 'repetition penalty (default 1 = off)' },
    seed: { type: 'int', help: 'sampler seed (default 0)' },
    stop: { type: 'string', help: 'stop string' },
    threads: { type: 'int', min: 1, max: 256, help: 'CPU threads (default min(2, cores))' },
    ctx: { type: 'int', min: 16, help: 'context size (default min(training context, 4096))' },
    ...KV_FLAGS,
    json: JSON_FLAG,
  },
  async run(f, io) {
    const prompt = str(f, 'prompt');
    const { kv, note } = kvChoice(f);
    const file = str(f, 'prompt-file');
    if ((prompt === undefined) === (file === undefined))
      throw new UsageError('give exactly one of --prompt and --prompt-file');
    if (f.system !== undefined && !f.chat) throw new UsageError('--system needs --chat');
    const text = prompt ?? fs.readFileSync(file!, 'utf8');
    const engine = await Engine.load(str(f, 'model')!, { threads: num(f, 'threads'), contextSize: num(f, 'ctx'), kv });
    if (note) io.err(note);
    try {
      const tok = engine.tokenizer;
      const ids = f.chat
        ? engine.chatPrompt([
            ...(f.system !== undefined ? [{ role: 'system' as const, content: str(f, 'system')! }] : []),
            { role: 'user', content: text },
          ])
        : tok.encode(text);
      const cache = engine.createCache();
      const stream = engine.generate(cache, {
        prompt: ids,
        maxTokens: num(f, 'max-tokens') ?? 128,
        sampler: {
          temperature: num(f, 'temperature') ?? 0.8,
          topK: num(f, 'top-k') ?? 40,
          topP: num(f, 'top-p') ?? 0.95,
          minP: num(f, 'min-p') ?? 0.05,
          repeatPenalty: num(f, 'repeat-penalty') ?? 1,
          seed: num(f, 'seed') ?? 0,
        },
        stop: f.stop !== undefined ? [str(f, 'stop')!] : [],
        signal: io.signal,
      });
      for await (const ev of stream) {
        if (ev.type === 'token' || ev.type === 'text') {
          if (!f.json && ev.text) process.stdout.write(ev.text);
        } else if (ev.type === 'done') {
          const snap = cache.snapshot();
          const kvInfo = {
            kind: snap.kind,
            allocatedBytes: snap.allocatedBytes,
            usedBytes: snap.usedBytes,
            fullCacheBytes: snap.fullCacheBytes,
            savedFraction: snap.pod?.savedFraction ?? 0,
            tokens: snap.pod?.tokens,
          };
          if (f.json)
            io.out(
              JSON.stringify({
                tokens: ev.tokens,
                text: ev.text,
                finishReason: ev.reason,
                stats: ev.stats,
                kv: kvInfo,
              }),
            );
          else {
            const s = ev.stats;
            io.out('');
            io.err(
              `[${ev.reason}] prompt ${s.promptTokens} tok, ${s.generatedTokens} generated; TTFT ${s.ttftMs.toFixed(0)} ms, ` +
                `prefill ${s.prefillTokensPerSecond.toFixed(1)} tok/s, decode ${s.decodeTokensPerSecond.toFixed(1)} tok/s, KV ${(s.kvBytes / 2 ** 20).toFixed(1)} MB allocated` +
                (snap.pod
                  ? `, ${snap.kind} saves ${(snap.pod.savedFraction * 100).toFixed(1)}% vs full (${snap.pod.tokens.sinks}/${snap.pod.tokens.recent}/${snap.pod.tokens.distant} sink/recent/distant)`
                  : ''),
            );
          }
        }
      }
    } finally {
      await engine.dispose();
    }
  },
};

export const COMMANDS: Record<string, Command> = { info, tokenize, generate: generateCmd };
