// Memory estimates made before loading: packed weight bytes (what ONNX Runtime will hold), the
// KV cache at the chosen context, and a fixed runtime overhead — compared with free memory so a
// model that cannot fit is refused with numbers instead of taking the machine down.
import * as os from 'node:os';
import { GGUFFile } from './gguf/file';
import { ModelConfig } from './model/config';
import { packedBytes } from './onnx/pack';
import { anchorHeads, KVPlan, planDtype, valueHeads } from './kv/plan';
import { bytesPerElement } from './kv/dtype';
import { GGMLType } from './gguf/types';

/**
 * ONNX Runtime keeps each quantized weight twice (the initializer and MatMulNBits' prepacked
 * copy: measured ≈ 2.25 × packed bytes on SmolLM2), plus arenas, graph buffers and the JS heap.
 */
const WEIGHT_RESIDENCY = 2.25;
const RUNTIME_OVERHEAD = 150 * 2 ** 20;

export interface MemoryEstimate {
  weightBytes: number;
  kvBytes: number;
  overheadBytes: number;
  totalBytes: number;
  /** What the estimate is compared with: os.freemem() (MemAvailable on Linux) unless given. */
  freeBytes: number;
  /** os.totalmem(): when totalBytes exceeds it, no amount of closing programs helps. */
  machineBytes: number;
}

/** What the KV cache's size depends on. */
export type KVShape = Pick<ModelConfig, 'nLayers' | 'nKVHeads' | 'headDim'>;

/** One tensor as the estimate sees it (GGUF dims: [ne0 = in, ne1 = out]). */
export interface WeightTensor {
  readonly name: string;
  readonly type: GGMLType;
  readonly dims: readonly number[];
}

/** KV bytes at `tokens` for a plan (pod-method.md §4, §9: non-anchor units drop distant keys, local units keys and values; int8 distant rows carry one f32 scale each). */
export function kvBytesAt(c: KVShape, plan: KVPlan, tokens: number): number {
  const unit = c.headDim * bytesPerElement(planDtype(plan)); // one token, one (layer, KV head), K or V
  if (plan.kind === 'full') return 2 * c.nLayers * tokens * c.nKVHeads * unit;
  const window = Math.min(tokens, plan.sinks + plan.recent);
  if (plan.kind === 'streaming') return 2 * c.nLayers * window * c.nKVHeads * unit;
  const distUnit = plan.distantInt8 ? c.headDim + 4 : unit;
  let b = 0;
  for (let l = 0; l < c.nLayers; l++) {
    const nA = anchorHeads(plan, l).length, nV = valueHeads(plan, l).length;
    b += 2 * window * c.nKVHeads * unit + (tokens - window) * (nV + nA) * distUnit;
  }
  return b;
}

export function estimateMemory(f: GGUFFile, c: ModelConfig, contextSize: number, plan: KVPlan = { kind: 'full' },
  freeBytes = os.freemem()): MemoryEstimate {
  return estimateForTensors(f.tensors, c, contextSize, plan, freeBytes);
}

/**
 * The same estimate from a tensor list instead of an open file: lets a caller size a model it
 * has not downloaded yet (the download catalog) with exactly the numbers the engine will check.
 */
export function estimateForTensors(tensors: readonly WeightTensor[], c: KVShape & Pick<ModelConfig, 'tiedEmbeddings'>, contextSize: number,
  plan: KVPlan = { kind: 'full' }, freeBytes = os.freemem()): MemoryEstimate {
  let weightBytes = 0;
  for (const t of tensors) {
    if (t.name === 'token_embd.weight' && !c.tiedEmbeddings) continue; // embeddings are read from the file on demand
    weightBytes += t.dims.length === 2 ? packedBytes(t.type, t.dims[0]!, t.dims[1]!) : t.dims.reduce((a, b) => a * b, 1) * 4;
  }
  const kvBytes = kvBytesAt(c, plan, contextSize);
  const totalBytes = weightBytes * WEIGHT_RESIDENCY + kvBytes + RUNTIME_OVERHEAD;
  return { weightBytes, kvBytes, overheadBytes: RUNTIME_OVERHEAD, totalBytes, freeBytes, machineBytes: os.totalmem() };
}

/** The largest context (tokens, ≤ maxTokens) whose estimate with this plan fits in e.freeBytes; 0 when the weights alone do not fit. */
export function largestFittingContext(e: MemoryEstimate, c: KVShape, plan: KVPlan, maxTokens: number): number {
  const room = e.freeBytes - e.weightBytes * WEIGHT_RESIDENCY - e.overheadBytes;
  let lo = 0, hi = maxTokens; // KV bytes grow with tokens: bisect for the last one that fits
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (kvBytesAt(c, plan, mid) <= room) lo = mid; else hi = mid - 1;
  }
  return room > 0 ? lo : 0;
}
