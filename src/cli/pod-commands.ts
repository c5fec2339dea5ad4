// The PoD subcommands: calibrate (write a PoD profile, pod-method.md §6), eval (perplexity and KV
// bytes of one cache kind over a text) and needle (needle-in-a-haystack accuracy). Each prints
// text or, with --json, exactly one JSON object. Not the engine's generic commands (commands.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, kvChoice, KV_FLAGS } from './commands';
import { UsageError, ParsedFlags } from './args';
import { Engine } from '../engine/engine';
import {
  calibrate,
  DEFAULT_DELTA,
  DEFAULT_MAX_BLOCK,
  DEFAULT_QUERIES,
  readCalibrationTexts,
} from '../engine/calibrate';
import { loadProfile, PodProfile, reblockProfile, writeProfile } from '../engine/eval/profile';
import { DEFAULT_MIN_CONTEXT, perplexity } from '../engine/eval/perplexity';
import { needleTrial, NeedleTrial } from '../engine/eval/needle';
import { describePlan, describeUnits, LOCAL, nonAnchorShare } from '../engine/kv/plan';
import { MODEL_FLAG as MODEL } from './default-model';

const JSON_FLAG = { type: 'bool', help: 'print one JSON object' } as const;
const THREADS = { type: 'int', min: 1, max: 256, help: 'CPU threads (default 2)' } as const;
const str = (f: ParsedFlags, k: string): string | undefined => f[k] as string | undefined;
const num = (f: ParsedFlags, k: string): number | undefined => f[k] as number | undefined;

/** Default needle haystack: real long prose shipped with a pinned dev dependency (never a calibration or eval text in the report). */
export const DEFAULT_HAYSTACK = 'node_modules/typescript/ThirdPartyNoticeText.txt';

function resolveShipped(p: string): string {
  if (fs.existsSync(p)) return p;
  const beside = path.join(__dirname, '..', p); // dist/cli.js → project root
  if (fs.existsSync(beside)) return beside;
  const up = path.join(__dirname, '..', '..', p); // out/src/cli → project root
  if (fs.existsSync(up)) return up;
  throw new Error(`${p} not found; run from the project folder (npm ci installs it) or give --haystack`);
}

/** calibrate --from: new blocks from a profile's stored measurement (checked against --model). */
function reblock(from: string, f: ParsedFlags): PodProfile {
  const p = loadProfile(from, str(f, 'model')!).profile;
  for (const k of ['sinks', 'recent', 'ctx', 'queries'])
    if (f[k] !== undefined) throw new UsageError(`--${k} changes the measurement; it needs --texts, not --from`);
  const g = num(f, 'group-size'),
    t = num(f, 'target-saving');
  return reblockProfile(
    p,
    t !== undefined
      ? { targetSaving: t }
      : g !== undefined
        ? { groupSize: g }
        : { delta: num(f, 'delta') ?? DEFAULT_DELTA, maxBlock: num(f, 'max-block') ?? DEFAULT_MAX_BLOCK },
  );
}

const calibrateCmd: Command = {
  summary: 'measure inter-layer attention similarity on texts and write a PoD profile (blocks per KV head)',
  flags: {
    model: MODEL,
    texts: { type: 'string', help: 'calibration texts: files or directories (.txt/.md/source), comma-separated' },
    from: {
      type: 'string',
      help: 'instead of --texts: re-block this profile (same measurement) with --delta/--max-block or --group-size; no model run',
    },
    out: { type: 'string', required: true, help: 'profile JSON to write' },
    delta: {
      type: 'number',
      min: 0,
      max: 1,
      help: `similarity threshold δ for joining a block (default ${DEFAULT_DELTA})`,
    },
    'max-block': { type: 'int', min: 1, help: `longest block in layers (default ${DEFAULT_MAX_BLOCK})` },
    sinks: { type: 'int', min: 0, help: 'sink tokens S (default 16)' },
    recent: { type: 'int', min: 1, help: 'recent window R (default max(256, ctx/8) − S)' },
    ctx: {
      type: 'int',
      min: 16,
      help: 'context size: texts are cut to this many tokens (default min(training context, 4096))',
    },
    queries: { type: 'int', min: 1, help: `query positions per text, the last q (default ${DEFAULT_QUERIES})` },
    'group-size': {
      type: 'int',
      min: 1,
      help: 'uniform blocks of this many layers instead of the δ rule (the distant bias is still calibrated)',
    },
    'target-saving': {
      type: 'number',
      min: 0,
      max: 0.99,
      help: 'instead of blocks: make the units whose distant tokens matter least local until the KV saving vs a full cache at --ctx reaches this (e.g. 0.35)',
    },
    threads: THREADS,
    json: JSON_FLAG,
  },
  async run(f, io) {
    const t0 = performance.now();
    const from = str(f, 'from');
    if ((from === undefined) === (str(f, 'texts') === undefined))
      throw new UsageError('give --texts (run the model) or --from (re-block an existing profile)');
    const profile =
      from !== undefined
        ? reblock(from, f)
        : await calibrate(str(f, 'model')!, readCalibrationTexts(str(f, 'texts')!), {
            contextSize: num(f, 'ctx'),
            sinks: num(f, 'sinks'),
            recent: num(f, 'recent'),
            delta: num(f, 'delta'),
            maxBlock: num(f, 'max-block'),
            queries: num(f, 'queries'),
            groupSize: num(f, 'group-size'),
            targetSaving: num(f, 'target-saving'),
            threads: num(f, 'threads') ?? 2,
            onProgress: (m) => io.err(m),
            signal: io.signal,
          });
    writeProfile(str(f, 'out')!, profile);
    const seconds = (performance.now() - t0) / 1000;
    if (f.json) {
      io.out(
        JSON.stringify({
          out: str(f, 'out'),
          anchors: profile.anchors,
          nonAnchorShare: profile.nonAnchorShare,
          texts: profile.texts,
          sinks: profile.sinks,
          recent: profile.recent,
          delta: profile.delta,
          maxBlock: profile.maxBlock,
          seconds,
        }),
      );
      return;
    }
    const H = profile.model.nKVHeads;
    const rule =
      profile.targetSaving !== undefined
        ? `target saving ${profile.targetSaving}`
        : `δ ${profile.delta}, max block ${profile.maxBlock}`;
    io.out(
      `wrote ${str(f, 'out')}: ${describeUnits(profile.anchors)} (${rule}, S ${profile.sinks}, R ${profile.recent}), ${profile.texts.length} texts, ${seconds.toFixed(0)} s`,
    );
    for (let h = 0; h < H; h++) {
      const col = profile.anchors.map((r) => r[h]!);
      const local = col.flatMap((a, l) => (a === LOCAL ? [l] : []));
      io.out(
        `  KV head ${h}: anchors at layers ${col.flatMap((a, l) => (a === l ? [l] : [])).join(' ')}${local.length ? `; local at ${local.join(' ')}` : ''}`,
      );
    }
  },
};

const evalCmd: Command = {
  summary: 'perplexity, KV bytes and speed of a KV cache kind over a text (one pass of chunked prefill)',
  flags: {
    model: MODEL,
    text: { type: 'string', required: true, help: 'text file to score' },
    ctx: {
      type: 'int',
      min: 16,
      required: true,
      help: 'context size: the first ctx tokens of the text are fed in one pass',
    },
    'min-context': { type: 'int', min: 1, help: `score tokens from this position on (default ${DEFAULT_MIN_CONTEXT})` },
    chunk: { type: 'int', min: 1, help: 'prefill chunk (default 256)' },
    threads: THREADS,
    ...KV_FLAGS,

    json: JSON_FLAG,
  },
  async run(f, io) {
    const { kv, note } = kvChoice(f);
    const ctx = num(f, 'ctx')!;
    const text = fs.readFileSync(str(f, 'text')!, 'utf8');
    const engine = await Engine.load(str(f, 'model')!, { threads: num(f, 'threads') ?? 2, contextSize: ctx, kv });
    if (note) io.err(note);
    try {
      const ids = engine.tokenizer.encode(text).slice(0, ctx);
      const cache = engine.createCache();
      const r = await perplexity(engine.decoder, cache, ids, {
        minContext: num(f, 'min-context'),
        chunk: num(f, 'chunk'),
        signal: io.signal,
      });
      const snap = cache.snapshot();
      const plan = engine.decoder.plan;
      const kvInfo = {
        plan: describePlan(plan),
        dtype: snap.bytesPerElement === 2 ? 'f16' : 'f32',
        allocatedBytes: snap.allocatedBytes,
        usedBytes: snap.usedBytes,
        fullCacheBytes: snap.fullCacheBytes,
        savedFraction: snap.pod?.savedFraction ?? 0,
        tokens: snap.pod?.tokens ?? null,
        nonAnchorShare: plan.kind === 'pod' ? nonAnchorShare(plan.anchors) : null,
        sinks: plan.kind === 'full' ? null : plan.sinks,
        recent: plan.kind === 'full' ? null : plan.recent,
      };
      const result = { text: path.basename(str(f, 'text')!), contextSize: ctx, kind: plan.kind, ...r, kv: kvInfo };
      if (f.json) {
        io.out(JSON.stringify(result));
        return;
      }
      const MB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
      io.out(
        `${kvInfo.plan}: perplexity ${r.perplexity.toFixed(3)} over tokens ${r.scoredFrom}…${r.tokens - 1} (${r.scored} scored, each with ≥ ${r.scoredFrom} tokens of context), ${r.tokensPerSecond.toFixed(0)} tok/s\n` +
          `  KV ${MB(kvInfo.usedBytes)} used (${MB(kvInfo.allocatedBytes)} allocated) vs full ${MB(kvInfo.fullCacheBytes)}: ${(kvInfo.savedFraction * 100).toFixed(1)}% saved`,
      );
    } finally {
      await engine.dispose();
    }
  },
};

const needleCmd: Command = {
  summary: 'needle-in-a-haystack accuracy: a passphrase at given depths of a long real text, asked for at the end',
  flags: {
    model: MODEL,
    ctx: { type: 'int', min: 256, required: true, help: 'context size: the prompt fills it' },
    depths: { type: 'string', help: 'needle depths in the document, comma-separated (default 0.1,0.3,0.5,0.7)' },
    trials: { type: 'int', min: 1, help: 'trials per depth, each a different passphrase (default 2)' },
    haystack: { type: 'string', help: `haystack text file (default ${DEFAULT_HAYSTACK}, repeated if short)` },
    threads: THREADS,
    ...KV_FLAGS,

    json: JSON_FLAG,
  },
  async run(f, io) {
    const { kv, note } = kvChoice(f);
    const depths = (str(f, 'depths') ?? '0.1,0.3,0.5,0.7').split(',').map((s) => Number(s.trim()));
    if (depths.some((d) => !(d >= 0 && d <= 1))) throw new UsageError('--depths must be numbers in [0, 1]');
    const trials = num(f, 'trials') ?? 2;
    const hayPath = resolveShipped(str(f, 'haystack') ?? DEFAULT_HAYSTACK);
    const source = fs.readFileSync(hayPath, 'utf8');
    const engine = await Engine.load(str(f, 'model')!, {
      threads: num(f, 'threads') ?? 2,
      contextSize: num(f, 'ctx')!,
      kv,
    });
    if (note) io.err(note);
    try {
      const all: NeedleTrial[] = [];
      for (const d of depths) {
        for (let t = 0; t < trials; t++) {
          if (io.signal.aborted) throw new Error('aborted');
          const r = await needleTrial(engine, source, d, t);
          all.push(r);
          if (!f.json)
            io.err(
              `depth ${d} trial ${t}: ${r.correct ? 'ok ' : 'MISS'} ${JSON.stringify(r.answer)} (needle ${r.distanceTokens} tokens before the end)`,
            );
        }
      }
      const perDepth = depths.map((d) => {
        const rs = all.filter((r) => r.depth === d);
        return {
          depth: d,
          correct: rs.filter((r) => r.correct).length,
          trials: rs.length,
          accuracy: rs.filter((r) => r.correct).length / rs.length,
        };
      });
      const accuracy = all.filter((r) => r.correct).length / all.length;
      const plan = engine.decoder.plan;
      const result = {
        contextSize: engine.contextSize,
        kind: plan.kind,
        plan: describePlan(plan),
        haystack: path.basename(hayPath),
        accuracy,
        perDepth,
        trials: all,
      };
      if (f.json) {
        io.out(JSON.stringify(result));
        return;
      }
      io.out(
        `${result.plan}, context ${engine.contextSize}: accuracy ${(accuracy * 100).toFixed(0)}% (${all.filter((r) => r.correct).length}/${all.length})\n` +
          perDepth.map((p) => `  depth ${p.depth}: ${p.correct}/${p.trials}`).join('\n'),
      );
    } finally {
      await engine.dispose();
    }
  },
};

export const POD_COMMANDS: Record<string, Command> = { calibrate: calibrateCmd, eval: evalCmd, needle: needleCmd };
