// PoD calibration (pod-method.md §6): run the model with a full f32 cache over calibration texts,
// take the last q query positions of each, measure every layer's and query head's attention over
// the distant tokens D(i) (renormalised), average 1 − JSD₂ between layers per KV head, and build
// greedy bottom-up blocks (eval/profile.ts). In the same pass it measures what each (layer, KV
// head) unit's distant tokens are worth (eval/unit-error.ts) and, with a target saving, makes the
// cheapest units local (docs/pod-qwen.md §2). Produces the profile object; the CLI writes it.
// Not for running PoD (kv/pod.ts) and not the profile file format (eval/profile.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from './engine';
import { FullKVCache } from './kv/full';
import { KVArray } from './kv/dtype';
import { DEFAULT_SINKS, nonAnchorShare, uniformAnchors } from './kv/plan';
import { halfToFloat } from './gguf/half';
import { ModelConfig } from './model/config';
import { distantAttention, distantRange, jsd2Fast, negEntropy2 } from './eval/jsd';
import { greedyBlocks, PodProfile, PROFILE_SCHEMA_VERSION, sha256File } from './eval/profile';
import { localAnchors, localShareFor, UnitErrorAccumulator } from './eval/unit-error';
import { GGUFFile } from './gguf/file';
import { dequantize } from './gguf/quants';
import { layerTensorNames } from './model/config';

export interface CalibrationText {
  name: string;
  text: string;
}

export interface CalibrateOptions {
  contextSize?: number;
  sinks?: number;
  /** Recent window R (default max(256, ctx/8) − S, as the engine). */
  recent?: number;
  delta?: number;
  maxBlock?: number;
  /** Uniform blocks of this many layers instead of the greedy δ rule (the distant bias is still measured). */
  groupSize?: number;
  /**
   * Target KV saving vs a full cache at the calibration context (0–1): the units whose distant
   * tokens are measured to matter least become local until it is met (docs/pod-qwen.md §2); the
   * others keep their own distant keys and values. Replaces the δ / group-size blocks.
   */
  targetSaving?: number;
  /** Query positions per text: the last q (default 32). */
  queries?: number;
  threads?: number;
  /** Tokens per prefill step before the final q (default 256). */
  prefillChunk?: number;
  onProgress?: (msg: string) => void;
  signal?: AbortSignal;
}

export const DEFAULT_DELTA = 0.5;
export const DEFAULT_MAX_BLOCK = 6;
export const DEFAULT_QUERIES = 32;

/** Running sums of similarity per KV head (the measurement, before blocks). */
export class SimilarityAccumulator {
  readonly sum: Float64Array[]; // [h] → L×L
  readonly count: number[];
  /** Σ over positions of each (layer, query head)'s log-sum-exp of its own distant logits, [l·Hq + hq]. */
  readonly lseSum: Float64Array;
  private positions = 0;
  private dist = new Float64Array(0);

  constructor(
    readonly nLayers: number,
    readonly nHeads: number,
    readonly nKVHeads: number,
    readonly headDim: number,
  ) {
    this.sum = Array.from({ length: nKVHeads }, () => new Float64Array(nLayers * nLayers));
    this.count = new Array<number>(nKVHeads).fill(0);
    this.lseSum = new Float64Array(nLayers * nHeads);
  }

  /**
   * Add query rows t = 0 … q−1 at absolute positions firstPos + t. queries[l]: [q, Hq, D] rotated;
   * keys[l]: [tokens, Hkv, D] rotated (pod-method.md §4: keys stored after RoPE). Query head hq
   * reads KV head ⌊hq / G⌋. Positions whose D(i) is empty add nothing. Returns positions used.
   */
  add(
    queries: readonly Float32Array[],
    keys: readonly Float32Array[],
    firstPos: number,
    q: number,
    sinks: number,
    recent: number,
  ): number {
    const { nLayers: L, nHeads: Hq, nKVHeads: Hkv, headDim: D } = this;
    const G = Hq / Hkv;
    let used = 0;
    for (let t = 0; t < q; t++) {
      const { from, to } = distantRange(firstPos + t, sinks, recent);
      const n = to - from;
      if (n <= 0) continue;
      used++;
      this.positions++;
      if (this.dist.length < L * n) this.dist = new Float64Array(L * n);
      const dist = this.dist;
      for (let hq = 0; hq < Hq; hq++) {
        const h = Math.floor(hq / G);
        for (let l = 0; l < L; l++)
          this.lseSum[l * Hq + hq]! += distantAttention(
            queries[l]!,
            (t * Hq + hq) * D,
            keys[l]!,
            Hkv,
            h,
            D,
            from,
            to,
            dist,
            l * n,
          );
        const s = this.sum[h]!;
        const ent = Array.from({ length: L }, (_, l) => negEntropy2(dist, n, l * n));
        for (let l = 0; l < L; l++) {
          s[l * L + l]! += 1;
          for (let m = l + 1; m < L; m++) {
            const v = 1 - jsd2Fast(dist, dist, n, l * n, m * n, ent[l]!, ent[m]!);
            s[l * L + m]! += v;
            s[m * L + l]! += v;
          }
        }
        this.count[h]!++;
      }
    }
    return used;
  }

  /** distantLse[l][hq]: mean log-sum-exp of layer l's own logits over D(i) for query head hq. */
  meanLse(): number[][] {
    const { nLayers: L, nHeads: Hq } = this;
    return Array.from({ length: L }, (_, l) =>
      Array.from({ length: Hq }, (_, hq) => (this.positions > 0 ? this.lseSum[l * Hq + hq]! / this.positions : 0)),
    );
  }

  /** similarity[h][l][m], the mean over everything added. */
  mean(): number[][][] {
    const L = this.nLayers;
    return this.sum.map((s, h) =>
      Array.from({ length: L }, (_, l) =>
        Array.from({ length: L }, (_, m) => (this.count[h]! > 0 ? s[l * L + m]! / this.count[h]! : 0)),
      ),
    );
  }
}

const TEXT_EXT = new Set([
  '.txt',
  '.md',
  '.markdown',
  '.rst',
  '.ts',
  '.tsx',
  '.js',
  '.mjs',
  '.cjs',
  '.py',
  '.rs',
  '.go',
  '.java',
  '.c',
  '.h',
  '.cc',
  '.cpp',
  '.hpp',
  '.json',
  '.html',
  '.css',
  '.sh',
  '.yaml',
  '.yml',
  '.toml',
]);

/** Texts from a comma-separated list of files and directories (a directory: its text/source files, recursively, sorted). */
export function readCalibrationTexts(spec: string): CalibrationText[] {
  const out: CalibrationText[] = [];
  const visit = (p: string): void => {
    const st = fs.statSync(p);
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(p).sort()) {
        const q = path.join(p, e);
        if (
          fs.statSync(q).isDirectory()
            ? !e.startsWith('.') && e !== 'node_modules'
            : TEXT_EXT.has(path.extname(e).toLowerCase())
        )
          visit(q);
      }
    } else out.push({ name: p, text: fs.readFileSync(p, 'utf8') });
  };
  for (const p of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!fs.existsSync(p)) throw new Error(`calibration text ${p} does not exist`);
    visit(p);
  }
  if (out.length === 0) throw new Error(`no calibration texts in ${spec} (looked for ${[...TEXT_EXT].join(' ')})`);
  return out;
}

function asF32(a: KVArray): Float32Array {
  if (a instanceof Float32Array) return a;
  const o = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) o[i] = halfToFloat(a[i]!);
  return o;
}

/** Run calibration on a model file; returns the profile (write it with writeProfile). */
export async function calibrate(
  modelPath: string,
  texts: readonly CalibrationText[],
  o: CalibrateOptions = {},
): Promise<PodProfile> {
  const log = o.onProgress ?? (() => {});
  const engine = await Engine.load(modelPath, {
    threads: o.threads ?? 2,
    contextSize: o.contextSize,
    kv: { kind: 'full', dtype: 'f32' },
    exportQueries: true,
  });
  try {
    const c: ModelConfig = engine.config;
    const ctx = engine.contextSize;
    const S = o.sinks ?? DEFAULT_SINKS;
    const R = o.recent ?? Math.max(256, Math.floor(ctx / 8)) - S;
    const q = o.queries ?? DEFAULT_QUERIES;
    const delta = o.delta ?? DEFAULT_DELTA;
    const maxBlock = o.maxBlock ?? DEFAULT_MAX_BLOCK;
    const chunk = o.prefillChunk ?? 256;
    if (!(delta >= 0 && delta <= 1)) throw new RangeError(`delta must be in [0, 1] (got ${delta})`);
    if (!Number.isInteger(q) || q < 1 || q > ctx)
      throw new RangeError(`queries must be an integer in [1, ${ctx}] (got ${q})`);
    const acc = new SimilarityAccumulator(c.nLayers, c.nHeads, c.nKVHeads, c.headDim);
    const unitErr = new UnitErrorAccumulator(c.nLayers, c.nHeads, c.nKVHeads, c.headDim, c.dim);
    const file = GGUFFile.open(modelPath);
    /** W_o of layer l, [dim, Hq·D] (dequantized one layer at a time). */
    const wo = (l: number): Float32Array => {
      const info = file.requireTensor(layerTensorNames(l).o);
      return dequantize(info.type, file.readTensorBytes(info), info.nElements);
    };
    const used: { name: string; tokens: number }[] = [];
    for (const t of texts) {
      if (o.signal?.aborted) throw new Error('calibration aborted');
      const ids = engine.tokenizer.encode(t.text).slice(0, ctx);
      const n = ids.length;
      if (n - q - R < S + 1) {
        log(`skip ${t.name}: ${n} tokens, no distant tokens for its last ${q} queries (needs > ${S + R + q})`);
        continue;
      }
      const cache = engine.createCache();
      if (!(cache instanceof FullKVCache)) throw new Error('calibration needs the full cache');
      const t0 = performance.now();
      for (let i = 0; i < n - q; i += chunk) {
        if (o.signal?.aborted) throw new Error('calibration aborted'); // within a text too: one prefill chunk at most
        const part = ids.slice(i, Math.min(i + chunk, n - q));
        await engine.decoder.step(part, cache, [part.length - 1]);
      }
      await engine.decoder.step(ids.slice(n - q), cache, [q - 1]);
      const t1 = performance.now();
      const queries = Array.from({ length: c.nLayers }, (_, l) => engine.decoder.lastQueries(l));
      const keys = Array.from({ length: c.nLayers }, (_, l) => asF32(cache.layer(l).keys));
      const positions = acc.add(queries, keys, n - q, q, S, R);
      for (let l = 0; l < c.nLayers; l++)
        unitErr.addLayer(l, queries[l]!, keys[l]!, asF32(cache.layer(l).values), wo(l), n - q, q, S, R);
      unitErr.endText(positions);
      used.push({ name: path.basename(t.name), tokens: n });
      log(
        `${t.name}: ${n} tokens, ${positions} query positions; model ${((t1 - t0) / 1000).toFixed(1)} s, similarity ${((performance.now() - t1) / 1000).toFixed(1)} s`,
      );
    }
    if (used.length === 0)
      throw new Error(
        `no calibration text is longer than S + R + q = ${S + R + q} tokens; give longer texts or a smaller --recent/--queries`,
      );
    file.close();
    const sim = acc.mean();
    const unitError = unitErr.meanError();
    const anchors =
      o.targetSaving !== undefined
        ? localAnchors(unitError, localShareFor(o.targetSaving, ctx, S + R))
        : o.groupSize !== undefined
          ? uniformAnchors(c.nLayers, c.nKVHeads, o.groupSize)
          : greedyBlocks(sim, delta, maxBlock);
    return {
      schemaVersion: PROFILE_SCHEMA_VERSION,
      kind: 'podlens-pod-profile',
      model: {
        file: path.basename(modelPath),
        sha256: sha256File(modelPath),
        bytes: fs.statSync(modelPath).size,
        arch: c.arch,
        name: c.name,
        nLayers: c.nLayers,
        nHeads: c.nHeads,
        nKVHeads: c.nKVHeads,
        headDim: c.headDim,
      },
      sinks: S,
      recent: R,
      contextSize: ctx,
      delta,
      maxBlock,
      queriesPerText: q,
      anchors,
      similarity: sim,
      distantLse: acc.meanLse(),
      unitError,
      nonAnchorShare: nonAnchorShare(anchors),
      ...(o.targetSaving !== undefined
        ? { targetSaving: o.targetSaving }
        : o.groupSize !== undefined
          ? { groupSize: o.groupSize }
          : {}),
      texts: used,
      date: new Date().toISOString(),
    };
  } finally {
    await engine.dispose();
  }
}
