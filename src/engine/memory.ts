// Memory estimates made before loading: packed weight bytes (what ONNX Runtime will hold), the
// KV cache at the chosen context, and a fixed runtime overhead — compared with free memory so a
// model that cannot fit is refused with numbers instead of taking the machine down. Also the
// automatic context size: the largest context that fits a budget derived from free memory.
import * as os from 'node:os';
import { GGUFFile } from './gguf/file';
import { ModelConfig } from './model/config';
import { packedBytes } from './onnx/pack';
import { anchorHeads, KVPlan, planDtype, valueHeads } from './kv/plan';
import { bytesPerElement } from './kv/dtype';
import { distantRowBytes } from './kv/distant';
import { GGMLType } from './gguf/types';

/**
 * Peak resident memory of a load is estimated as WEIGHT_RESIDENCY × the packed weight bytes W
 * (estimateForTensors' weightBytes: what the ONNX graph holds; embeddings read from the file are
 * left out) + RUNTIME_OVERHEAD + the KV cache at the whole context. Fitted to `npm run bench --
 * --memory` (context 4096, a 512-token prefill, 16 decode steps, 2 threads, onnxruntime-node
 * 1.30.0, AMD EPYC with AVX2; peak = VmHWM of the engine's own process; MB = 10^6 bytes), for the
 * first load (converts into the ONNX model cache) and the cached load:
 *
 *   model                             W        first load  cached load  larger / W
 *   SmolLM2-135M Q4_1                 112 MB   406 MB      360 MB       3.64
 *   Qwen2.5-Coder-0.5B                543 MB   1146 MB     1012 MB      2.43 (an earlier first load: 1321 MB)
 *   Qwen2.5-Coder-1.5B Q4_K_M         1374 MB  2676 MB     2345 MB      1.95
 *   Qwen2.5-7B shape, Q4_K_M, random  6065 MB  9238 MB     9791 MB      1.61
 *
 * The peak is not proportional to W: a fixed part (node, ONNX Runtime, the tokenizer, graph-build
 * buffers not yet collected, session creation's transient copies) weighs most on small models.
 * Between the two largest the slope is (9791 − 2676) / (6065 − 1374) = 1.52 per packed byte: anon
 * memory settles near 1.3–1.4 W (initializers and MatMulNBits' prepacked copies) and mapped pages
 * of the weights file add 0.15–0.2 W (reclaimable, but counted in RSS; the 7B's first load lost
 * them to memory pressure, hence its lower peak). 1.75 per byte (above that slope, for CPUs whose
 * prepacked layouts differ; exact in binary, so totals stay whole bytes) + 448 MiB covers every
 * peak above (the larger of first and cached load, and the earlier 1321 MB) by ≥ 7% before the KV
 * term is added: 0.5B 1.075×, 1.5B 1.074×, 7B 1.132×, SmolLM2 1.64×. (Until the model cache:
 * 2.25 W + 150 MiB, measured on SmolLM2 when the whole model was held twice.)
 */
export const WEIGHT_RESIDENCY = 1.75;
const RUNTIME_OVERHEAD = 448 * 2 ** 20;

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

/** KV bytes at `tokens` for a plan (pod-method.md §4, docs/pod-qwen.md §2: non-anchor units drop distant keys, local units keys and values; int8 distant rows carry one f32 scale each). */
export function kvBytesAt(c: KVShape, plan: KVPlan, tokens: number): number {
  const unit = c.headDim * bytesPerElement(planDtype(plan)); // one token, one (layer, KV head), K or V
  if (plan.kind === 'full') return 2 * c.nLayers * tokens * c.nKVHeads * unit;
  const window = Math.min(tokens, plan.sinks + plan.recent);
  if (plan.kind === 'streaming') return 2 * c.nLayers * window * c.nKVHeads * unit;
  const distUnit = distantRowBytes(plan.distantQuant, c.headDim, planDtype(plan));
  let b = 0;
  for (let l = 0; l < c.nLayers; l++) {
    const nA = anchorHeads(plan, l).length,
      nV = valueHeads(plan, l).length;
    b += 2 * window * c.nKVHeads * unit + (tokens - window) * (nV + nA) * distUnit;
  }
  return b;
}

export function estimateMemory(
  f: GGUFFile,
  c: ModelConfig,
  contextSize: number,
  plan: KVPlan = { kind: 'full' },
  freeBytes = os.freemem(),
): MemoryEstimate {
  return estimateForTensors(f.tensors, c, contextSize, plan, freeBytes);
}

/**
 * The same estimate from a tensor list instead of an open file: lets a caller size a model it
 * has not downloaded yet (the download catalog) with exactly the numbers the engine will check.
 */
export function estimateForTensors(
  tensors: readonly WeightTensor[],
  c: KVShape & Pick<ModelConfig, 'tiedEmbeddings'>,
  contextSize: number,
  plan: KVPlan = { kind: 'full' },
  freeBytes = os.freemem(),
): MemoryEstimate {
  let weightBytes = 0;
  for (const t of tensors) {
    if (t.name === 'token_embd.weight' && !c.tiedEmbeddings) continue; // embeddings are read from the file on demand
    weightBytes +=
      t.dims.length === 2 ? packedBytes(t.type, t.dims[0]!, t.dims[1]!) : t.dims.reduce((a, b) => a * b, 1) * 4;
  }
  const kvBytes = kvBytesAt(c, plan, contextSize);
  const totalBytes = weightBytes * WEIGHT_RESIDENCY + kvBytes + RUNTIME_OVERHEAD;
  return { weightBytes, kvBytes, overheadBytes: RUNTIME_OVERHEAD, totalBytes, freeBytes, machineBytes: os.totalmem() };
}

/**
 * The largest context (tokens, ≤ maxTokens) whose estimate with this plan fits in `budgetBytes`
 * (default e.freeBytes); 0 when the weights alone do not fit. `plan` may be a function of the
 * context size, for plans whose recent window follows the context (resolvePlan's default
 * max(256, context/8)): KV bytes still grow with the context, so the bisection holds.
 */
export function largestFittingContext(
  e: MemoryEstimate,
  c: KVShape,
  plan: KVPlan | ((tokens: number) => KVPlan),
  maxTokens: number,
  budgetBytes = e.freeBytes,
): number {
  const room = budgetBytes - e.weightBytes * WEIGHT_RESIDENCY - e.overheadBytes;
  const planAt = typeof plan === 'function' ? plan : (): KVPlan => plan;
  let lo = 0,
    hi = maxTokens; // KV bytes grow with tokens: bisect for the last one that fits
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (kvBytesAt(c, planAt(mid), mid) <= room) lo = mid;
    else hi = mid - 1;
  }
  return room > 0 ? lo : 0;
}

// ---- automatic context size (podlens.engine.contextSize 0, `--ctx 0`) ----------------------------

/**
 * The budget rule: an automatic context must fit weights (as ONNX Runtime holds them) + KV cache
 * (under the chosen cache kind, at the whole context) + runtime into 60% of the memory that is free
 * when the model loads (os.freemem(): MemAvailable on Linux). The other 40% is headroom: VS Code
 * itself (windows, extension host, language servers) grows while one works, the OS keeps the GGUF
 * file's pages cached, and the estimate is an estimate. The hard check in Engine.load still
 * compares with all free memory, so a fixed context may use more.
 */
export const AUTO_BUDGET_FRACTION = 0.6;
/** The smallest context an automatic size may be (or the training context, when that is smaller): a question with a file in the prompt. */
export const MIN_AUTO_CONTEXT = 1024;
/** Automatic sizes below the training context are rounded down to a multiple of this (tidy numbers; < 1% of a 32K context). */
export const AUTO_CONTEXT_STEP = 256;

export const autoMemoryBudget = (freeBytes: number): number => Math.floor(freeBytes * AUTO_BUDGET_FRACTION);

export interface AutoContext {
  /** The chosen context size in tokens. */
  contextSize: number;
  /** What the estimate had to fit: autoMemoryBudget(freeBytes). */
  budgetBytes: number;
  /** Free memory the budget was taken from. */
  freeBytes: number;
  /** The ceiling: the model's training context. */
  trainContext: number;
  /** 'training': the whole training context fits the budget; 'memory': the budget stopped it below. */
  limit: 'training' | 'memory';
  /** The estimate at the chosen context (freeBytes: the real free memory, as Engine.load checks it). */
  estimate: MemoryEstimate;
}

/** Not even the smallest automatic context fits the budget (named as any memory refusal, so callers give the same advice). */
export class AutoContextError extends Error {
  override readonly name = 'InsufficientMemoryError';
  constructor(
    readonly estimate: MemoryEstimate,
    readonly minContext: number,
    readonly budgetBytes: number,
  ) {
    const MB = (b: number): string => `${Math.round(b / 2 ** 20)} MB`;
    const e = estimate;
    super(
      `not enough memory for an automatic context size: even ${minContext} tokens need about ${MB(e.totalBytes)} ` +
        `(weights ${MB(e.weightBytes)} held about ${WEIGHT_RESIDENCY}× by ONNX Runtime, KV cache ${MB(e.kvBytes)}, runtime ${MB(e.overheadBytes)}), ` +
        `more than the budget of ${MB(budgetBytes)} (${Math.round(AUTO_BUDGET_FRACTION * 100)}% of the ${MB(e.freeBytes)} free); ` +
        `choose a smaller model, or set a fixed context size, or close other programs`,
    );
  }
}

/**
 * The largest context up to the model's training context whose estimate (weights + KV under
 * `planAt(context)` + runtime) fits autoMemoryBudget(freeBytes); below the training context it is
 * rounded down to AUTO_CONTEXT_STEP. Throws AutoContextError when min(MIN_AUTO_CONTEXT, training
 * context) does not fit.
 */
export function autoContextSize(
  tensors: readonly WeightTensor[],
  c: KVShape & Pick<ModelConfig, 'tiedEmbeddings' | 'ctxTrain'>,
  planAt: (tokens: number) => KVPlan,
  freeBytes = os.freemem(),
): AutoContext {
  const budgetBytes = autoMemoryBudget(freeBytes);
  const trainContext = c.ctxTrain;
  const minContext = Math.min(MIN_AUTO_CONTEXT, trainContext);
  const atMin = estimateForTensors(tensors, c, minContext, planAt(minContext), freeBytes);
  if (atMin.totalBytes > budgetBytes) throw new AutoContextError(atMin, minContext, budgetBytes);
  let n = largestFittingContext(atMin, c, planAt, trainContext, budgetBytes);
  if (n < trainContext) n = Math.max(minContext, Math.floor(n / AUTO_CONTEXT_STEP) * AUTO_CONTEXT_STEP);
  return {
    contextSize: n,
    budgetBytes,
    freeBytes,
    trainContext,
    limit: n >= trainContext ? 'training' : 'memory',
    estimate: estimateForTensors(tensors, c, n, planAt(n), freeBytes),
  };
}
