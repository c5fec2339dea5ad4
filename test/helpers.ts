// Shared test helpers: where the model files are (a missing model fails loudly; CI fetches them
// with scripts/fetch-models.sh), and logits-comparison helpers for the decoder oracle tests.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OnnxDecoder, weightSource } from '../src/engine/decoder';
import { GGUFFile } from '../src/engine/gguf/file';
import { ModelConfig } from '../src/engine/model/config';
import { buildDecoderSegment } from '../src/engine/onnx/decoder-graph';
import { createCache } from '../src/engine/kv/create';
import { KVPlan, LOCAL } from '../src/engine/kv/plan';

export const ROOT = path.resolve(__dirname, '..', '..');
export const MODELS = path.join(ROOT, 'models');
export const SMOLLM2 = 'SmolLM2-135M-Instruct.Q4_1.gguf';

/** Source files of the repo (ts/js family, no .d.ts, no node_modules) under `dir`, as repo-relative posix paths. */
export const SOURCE_FILE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
export function sourceFiles(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  return fs.readdirSync(abs, { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(rel);
    return SOURCE_FILE.test(e.name) && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

export function modelPath(name: string): string {
  const p = path.join(MODELS, name);
  if (!fs.existsSync(p)) throw new Error(`${p} is missing: run scripts/fetch-models.sh`);
  return p;
}

/** Logits for every position of `tokens`, fed to a fresh cache of the decoder's plan in chunks of `chunk`. */
export async function stepLogits(dec: OnnxDecoder, tokens: readonly number[], chunk: number): Promise<Float32Array[]> {
  const cache = createCache(dec.config, dec.plan, dec.options.contextSize);
  const V = dec.config.vocabSize;
  const out: Float32Array[] = [];
  for (let i = 0; i < tokens.length; i += chunk) {
    const part = tokens.slice(i, i + chunk);
    const logits = await dec.step(
      part,
      cache,
      part.map((_, j) => j),
    );
    for (let j = 0; j < part.length; j++) out.push(logits.slice(j * V, (j + 1) * V));
  }
  return out;
}

/** Largest |a − b| relative to max(1, max|b|) of the position, over all positions. */
export function maxRelDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  if (a.length !== b.length) throw new Error(`${a.length} vs ${b.length} positions`);
  let worst = 0;
  for (let p = 0; p < b.length; p++) {
    let scale = 1,
      d = 0;
    for (let i = 0; i < b[p]!.length; i++) scale = Math.max(scale, Math.abs(b[p]![i]!));
    for (let i = 0; i < b[p]!.length; i++) d = Math.max(d, Math.abs(a[p]![i]! - b[p]![i]!));
    worst = Math.max(worst, d / scale);
  }
  return worst;
}

/**
 * A PoD plan for stories260K (5 layers, 4 KV heads) with every kind of unit: layer 2 all local;
 * layer 3 mixes a local unit, anchors and a member of layer 1's block; layer 4 anchors, a member
 * and a local unit. Sinks 2, recent 6, scores mode, f16 storage unless overridden.
 */
export const STORIES_MIXED_ANCHORS: readonly (readonly number[])[] = [
  [0, 0, 0, 0],
  [0, 1, 0, 1],
  [LOCAL, LOCAL, LOCAL, LOCAL],
  [3, LOCAL, 3, 1],
  [3, 4, LOCAL, 4],
];
export const storiesPod = (o: Partial<Extract<KVPlan, { kind: 'pod' }>> = {}): KVPlan => ({
  kind: 'pod',
  sinks: 2,
  recent: 6,
  anchors: STORIES_MIXED_ANCHORS,
  mode: 'scores',
  dtype: 'f16',
  ...o,
});

/** The whole model as one graph segment for `kv` (64 positions, accuracy level 4): the encoded ONNX bytes. */
export function wholeModelGraph(f: GGUFFile, config: ModelConfig, kv: KVPlan): Uint8Array {
  return buildDecoderSegment(config, weightSource(f), {
    firstLayer: 0,
    endLayer: config.nLayers,
    isLast: true,
    maxPositions: 64,
    accuracyLevel: 4,
    kv,
  }).bytes;
}
