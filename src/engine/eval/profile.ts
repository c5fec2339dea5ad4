// PoD profiles (pod-method.md §6 steps 4–5): the greedy bottom-up blocks built from a per-KV-head
// layer-similarity matrix, and the schema-versioned JSON file calibration writes and the engine
// loads (validated against the model file by sha256). Not the calibration run itself
// (calibrate.ts) and not the cache (kv/pod.ts); a loaded profile is just a KVSpec with anchors.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blockViolation, KVSpec, LOCAL, nonAnchorShare, uniformAnchors } from '../kv/plan';
import { localAnchors, localShareFor } from './unit-error';

/** 2 added distantLse and groupSize; 3 local units (anchor −1), unitError and targetSaving. Older files still load. */
export const PROFILE_SCHEMA_VERSION = 3;
const READABLE_VERSIONS = [1, 2, 3];

export interface PodProfile {
  schemaVersion: number;
  kind: 'podlens-pod-profile';
  model: {
    file: string;
    sha256: string;
    /** The GGUF's size in bytes (profiles since session 9): how a shipped profile finds its model under another name. */
    bytes?: number;
    arch: string;
    name: string;
    nLayers: number;
    nHeads: number;
    nKVHeads: number;
    headDim: number;
  };
  /** Partition used while measuring (pod-method.md §2): S sinks, R recent, context size. */
  sinks: number;
  recent: number;
  contextSize: number;
  /** Block rule: δ and the longest block in layers. */
  delta: number;
  maxBlock: number;
  /** Query positions per text (the last q of each text). */
  queriesPerText: number;
  /** anchors[layer][kvHead] = anchor layer of the block (same layout as KVSpec.anchors). */
  anchors: number[][];
  /** similarity[kvHead][l][m] = mean (1 − JSD₂) of the distant attention of layers l and m. */
  similarity: number[][][];
  /**
   * distantLse[layer][queryHead] = mean natural log-sum-exp of the layer's own logits over D(i); the
   * calibrated distant bias of a non-anchor unit is its entry minus its anchor's (schema ≥ 2).
   */
  distantLse?: number[][];
  /** Set when the blocks are uniform (calibrate --group-size) instead of the δ rule. */
  groupSize?: number;
  /**
   * unitError[layer][kvHead]: mean residual-stream error of dropping the unit's distant tokens
   * (eval/unit-error.ts; schema ≥ 3). What local units are chosen by.
   */
  unitError?: number[][];
  /** Set when the units were chosen for a KV saving (calibrate --target-saving): local units (anchor −1) + own anchors. */
  targetSaving?: number;
  /** Share of non-anchor (layer, KV head) units, ρ in pod-method.md §4. */
  nonAnchorShare: number;
  texts: { name: string; tokens: number }[];
  date: string;
}

export class ProfileError extends Error {
  override readonly name = 'ProfileError';
}

/**
 * Greedy bottom-up blocks per KV head (§6 step 4): a block starts at its anchor a; layer l joins
 * while sim(a, l) ≥ δ and the block stays ≤ maxBlock layers, else l becomes a new anchor.
 * Returns anchors[layer][kvHead].
 */
export function greedyBlocks(
  similarity: readonly (readonly (readonly number[])[])[],
  delta: number,
  maxBlock: number,
): number[][] {
  if (!Number.isInteger(maxBlock) || maxBlock < 1)
    throw new RangeError(`max block must be an integer ≥ 1 (got ${maxBlock})`);
  const H = similarity.length;
  const L = similarity[0]?.length ?? 0;
  const anchors = Array.from({ length: L }, () => new Array<number>(H).fill(0));
  for (let h = 0; h < H; h++) {
    let a = 0;
    for (let l = 0; l < L; l++) {
      if (l > a && (similarity[h]![a]![l]! < delta || l - a + 1 > maxBlock)) a = l;
      anchors[l]![h] = a;
    }
  }
  return anchors;
}

/**
 * The same measurement with other blocks: uniform groups of `groupSize` layers, the δ rule with
 * `delta`/`maxBlock`, or local units for a `targetSaving` (schema ≥ 3). Similarity and distantLse do not depend on the blocks, so no model run is needed.
 */
export function reblockProfile(
  p: PodProfile,
  b: { groupSize: number } | { delta: number; maxBlock: number } | { targetSaving: number },
): PodProfile {
  const { groupSize: _g, targetSaving: _t, ...rest } = p;
  if ('targetSaving' in b) {
    if (!p.unitError)
      throw new ProfileError(
        'this profile has no per-unit measurement (schema < 3); recalibrate with --texts to use --target-saving',
      );
    const anchors = localAnchors(p.unitError, localShareFor(b.targetSaving, p.contextSize, p.sinks + p.recent));
    return { ...rest, anchors, targetSaving: b.targetSaving, nonAnchorShare: nonAnchorShare(anchors) };
  }
  if ('groupSize' in b) {
    const anchors = uniformAnchors(p.model.nLayers, p.model.nKVHeads, b.groupSize);
    return { ...rest, anchors, groupSize: b.groupSize, nonAnchorShare: nonAnchorShare(anchors) };
  }
  const anchors = greedyBlocks(p.similarity, b.delta, b.maxBlock);
  return { ...rest, anchors, delta: b.delta, maxBlock: b.maxBlock, nonAnchorShare: nonAnchorShare(anchors) };
}

/** The suffix of a profile file; `podlens calibrate`, Calibrate Model and shipped profiles use it. */
export const PROFILE_SUFFIX = '.pod-profile.json';

/** The profile shipped beside a model: `dir/name.gguf` → `dir/name.pod-profile.json` (PoD's default blocks for that model). */
export function shippedProfilePath(modelFile: string): string {
  return path.join(path.dirname(modelFile), path.basename(modelFile).replace(/\.gguf$/i, '') + PROFILE_SUFFIX);
}

/**
 * A profile PodLens ships in `dir` (the models/ folder of the extension or the checkout) for this
 * model file under any name or folder — the same bytes downloaded from Hugging Face, or found in
 * LM Studio's or llama.cpp's cache: the first `*.pod-profile.json` there measured on a file of this
 * size. The size only picks the candidate; loadProfile checks the sha256 and refuses another
 * file of the same size (a fine-tune of the same shape and quantization). Unreadable files and
 * profiles without `model.bytes` are skipped.
 */
export function bundledProfileFor(modelFile: string, dir: string): string | undefined {
  try {
    const size = fs.statSync(modelFile).size;
    return bundledIndex(dir).find((p) => p.bytes === size)?.file;
  } catch {
    return undefined;
  }
}

/**
 * The profiles in `dir` with the model size each records, in name order: read once and again only
 * when the folder changes (the extension asks on every model use; the profiles are ≈ 50 KB each).
 */
const bundled = new Map<string, { mtimeMs: number; profiles: { file: string; bytes: unknown }[] }>();
function bundledIndex(dir: string): { file: string; bytes: unknown }[] {
  const mtimeMs = fs.statSync(dir).mtimeMs;
  const hit = bundled.get(dir);
  if (hit && hit.mtimeMs === mtimeMs) return hit.profiles;
  const profiles = fs
    .readdirSync(dir)
    .filter((n) => n.endsWith(PROFILE_SUFFIX))
    .sort()
    .map((n) => {
      const file = path.join(dir, n);
      try {
        return {
          file,
          bytes: (JSON.parse(fs.readFileSync(file, 'utf8')) as { model?: { bytes?: unknown } }).model?.bytes,
        };
      } catch {
        return { file, bytes: undefined }; // not a readable profile: never a candidate
      }
    });
  bundled.set(dir, { mtimeMs, profiles });
  return profiles;
}

/**
 * The profile PoD takes for a model when none is named: beside the model (shippedProfilePath),
 * else one shipped in the first of `bundledDirs` that has one (bundledProfileFor). The CLI's
 * `--kv pod` and the extension's `auto` both use it.
 */
export function defaultProfileFor(
  modelFile: string,
  bundledDirs: readonly string[],
  exists: (p: string) => boolean = fs.existsSync,
): { file: string; where: 'beside' | 'bundled' } | undefined {
  const beside = shippedProfilePath(modelFile);
  if (exists(beside)) return { file: beside, where: 'beside' };
  for (const d of bundledDirs) {
    const file = bundledProfileFor(modelFile, d);
    if (file) return { file, where: 'bundled' };
  }
  return undefined;
}

/** sha256 of a file, hex (streamed in 4 MB pieces). */
export function sha256File(p: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(p, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

export function writeProfile(p: string, profile: PodProfile): void {
  fs.mkdirSync(path.dirname(path.resolve(p)), { recursive: true });
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  const body = {
    ...profile,
    ...(profile.unitError ? { unitError: profile.unitError.map((r) => r.map((x) => Number(x.toPrecision(6)))) } : {}),
    similarity: profile.similarity.map((m) => m.map((r) => r.map(round))),
    ...(profile.distantLse ? { distantLse: profile.distantLse.map((r) => r.map(round)) } : {}),
  };
  fs.writeFileSync(p, JSON.stringify(body, null, 1) + '\n');
}

const isInt = (x: unknown, min = 0): x is number => typeof x === 'number' && Number.isInteger(x) && x >= min;

/** Parse and check a profile's schema and internal shapes (not the model identity). */
export function parseProfile(text: string, where: string): PodProfile {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new ProfileError(`${where}: not JSON (${(e as Error).message})`);
  }
  const bad = (msg: string): never => {
    throw new ProfileError(`${where}: ${msg}; recreate it with 'podlens calibrate'`);
  };
  if (typeof j !== 'object' || j === null) return bad('not a PoD profile object');
  const p = j as Partial<PodProfile>;
  if (p.kind !== 'podlens-pod-profile') bad('not a PoD profile (kind is not "podlens-pod-profile")');
  if (!READABLE_VERSIONS.includes(p.schemaVersion as number))
    bad(
      `schema version ${String(p.schemaVersion)} is not supported (this build reads ${READABLE_VERSIONS.join(', ')})`,
    );
  const m = p.model;
  if (
    !m ||
    typeof m.sha256 !== 'string' ||
    !/^[0-9a-f]{64}$/.test(m.sha256) ||
    !isInt(m.nLayers, 1) ||
    !isInt(m.nKVHeads, 1) ||
    !isInt(m.nHeads, 1) ||
    !isInt(m.headDim, 1)
  )
    bad('model identity (sha256, layers, heads) is missing or malformed');
  if (m!.bytes !== undefined && !isInt(m!.bytes, 1)) bad('model.bytes must be the GGUF size in bytes');
  const L = m!.nLayers,
    H = m!.nKVHeads;
  if (!isInt(p.sinks) || !isInt(p.recent, 1) || !isInt(p.maxBlock, 1) || typeof p.delta !== 'number')
    bad('sinks/recent/delta/maxBlock missing or malformed');
  const a = p.anchors;
  if (
    !Array.isArray(a) ||
    a.length !== L ||
    a.some((r) => !Array.isArray(r) || r.length !== H || r.some((x) => !isInt(x) && x !== LOCAL))
  )
    bad(`anchors must be ${L} layers × ${H} KV heads of integers (−1: local)`);
  for (let h = 0; h < H; h++) {
    for (let l = 0; l < L; l++) {
      const why = blockViolation(a!, l, h);
      if (why) bad(`layer ${l} KV head ${h}: anchor ${a![l]![h]} does not form a block of consecutive layers (${why})`);
    }
  }
  const ue = p.unitError;
  if (
    ue !== undefined &&
    (!Array.isArray(ue) ||
      ue.length !== L ||
      ue.some((r) => !Array.isArray(r) || r.length !== H || r.some((x) => typeof x !== 'number' || !(x >= 0))))
  )
    bad(`unitError must be ${L} layers × ${H} KV heads of numbers ≥ 0`);
  const s = p.similarity;
  if (
    !Array.isArray(s) ||
    s.length !== H ||
    s.some(
      (mat) =>
        !Array.isArray(mat) ||
        mat.length !== L ||
        mat.some((r) => !Array.isArray(r) || r.length !== L || r.some((x) => typeof x !== 'number')),
    )
  )
    bad(`similarity must be ${H} × ${L} × ${L} numbers`);
  const lse = p.distantLse;
  if (
    lse !== undefined &&
    (!Array.isArray(lse) ||
      lse.length !== L ||
      lse.some(
        (r) =>
          !Array.isArray(r) || r.length !== m!.nHeads || r.some((x) => typeof x !== 'number' || !Number.isFinite(x)),
      ))
  ) {
    bad(`distantLse must be ${L} layers × ${m!.nHeads} query heads of finite numbers`);
  }
  return p as PodProfile;
}

/** The calibrated distant bias of a profile's blocks: distantLse[l][hq] − distantLse[anchor][hq] (KVPlan.distantBias). */
export function profileDistantBias(p: PodProfile): number[][] | undefined {
  const lse = p.distantLse;
  if (!lse) return undefined;
  const G = p.model.nHeads / p.model.nKVHeads;
  return lse.map((row, l) =>
    row.map((x, hq) => {
      const a = p.anchors[l]![Math.floor(hq / G)]!;
      return a === LOCAL ? 0 : x - lse[a]![hq]!; // a local unit has no distant logits to shift
    }),
  );
}

/**
 * Load a profile for a model file: schema and shape checked, and the model's sha256 must equal
 * the profile's (a profile measured on another model is refused). Returns the PoD KVSpec (anchors,
 * and the profile's S and R, which flags may override).
 */
export function loadProfile(profilePath: string, modelPath: string): KVSpec & { profile: PodProfile } {
  let text: string;
  try {
    text = fs.readFileSync(profilePath, 'utf8');
  } catch (e) {
    throw new ProfileError(`cannot read profile ${profilePath}: ${(e as Error).message}`);
  }
  const p = parseProfile(text, profilePath);
  const sha = sha256File(modelPath);
  if (sha !== p.model.sha256) {
    throw new ProfileError(
      `profile ${profilePath} was calibrated for ${p.model.file} (sha256 ${p.model.sha256.slice(0, 12)}…), ` +
        `but ${path.basename(modelPath)} has sha256 ${sha.slice(0, 12)}…; calibrate this model with 'podlens calibrate'`,
    );
  }
  const distantBias = profileDistantBias(p);
  return {
    kind: 'pod',
    anchors: p.anchors,
    sinks: p.sinks,
    recent: p.recent,
    ...(distantBias ? { distantBias } : {}),
    profile: p,
  };
}
