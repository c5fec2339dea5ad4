// The engine facade: open a GGUF file, read its config and tokenizer, build the ONNX decoder,
// create KV caches and run generation. The CLI and the extension's worker use only this.
import * as os from 'node:os';
import { GGUFFile } from './gguf/file';
import { ModelConfig, readModelConfig } from './model/config';
import { LoadStageHook, OnnxDecoder } from './decoder';
import { createCache } from './kv/create';
import { KVSpec, resolvePlan } from './kv/plan';
import { KVCache } from './kv/types';
import { generate, GenerateEvent, GenerateRequest } from './generate';
import { ChatMessage, Tokenizer } from './tokenizer';
import {
  AutoContext,
  autoContextSize,
  estimateMemory,
  kvBytesAt,
  largestFittingContext,
  MemoryEstimate,
  WEIGHT_RESIDENCY,
} from './memory';

export interface EngineOptions {
  /** Intra-op threads (default: min(2, CPU count)). */
  threads?: number;
  /**
   * Context size in tokens (default: min(training context, 4096)). 0: automatic, the largest up to
   * the training context whose memory estimate under this KV cache fits the budget (memory.ts autoContextSize).
   */
  contextSize?: number;
  profilePrefix?: string;
  /** KV cache the graph is built for (default: full cache). */
  kv?: KVSpec;
  /** Build the graph with per-layer query outputs (calibration). */
  exportQueries?: boolean;
  /** MatMulNBits accuracy level (default 4: int8 activations; 0: fp32 activations, slow, exact weights). */
  accuracyLevel?: number;
  /** Free memory the estimate must fit in (default os.freemem(); tests pass a small number). */
  freeMemoryBytes?: number;
  /** Called as loading passes a stage (the bench's --memory report). */
  onStage?: LoadStageHook;
}

const MB = (b: number): string => `${Math.round(b / 2 ** 20)} MB`;

/** What would fit instead, for the message: the largest context with this cache, and PoD's KV bytes at this context. */
export interface MemoryAlternatives {
  fittingContext: number;
  podKvBytes?: number;
}

export class InsufficientMemoryError extends Error {
  override readonly name = 'InsufficientMemoryError';
  constructor(
    readonly estimate: MemoryEstimate,
    contextSize: number,
    alt: MemoryAlternatives = { fittingContext: 0 },
  ) {
    const e = estimate;
    const ways = [
      ...(alt.fittingContext >= 16 ? [`a context of at most ${alt.fittingContext} tokens`] : []),
      ...(alt.podKvBytes !== undefined && alt.podKvBytes < e.kvBytes
        ? [`the PoD KV cache (KV ${MB(alt.podKvBytes)} at ${contextSize} tokens)`]
        : []),
      'a smaller model',
    ];
    super(
      `not enough memory: the model needs about ${MB(e.totalBytes)} (weights ${MB(e.weightBytes)} held about ${WEIGHT_RESIDENCY}× by ONNX Runtime, ` +
        `KV cache ${MB(e.kvBytes)} at ${contextSize} tokens, runtime ${MB(e.overheadBytes)}) but only ${MB(e.freeBytes)} of this machine's ` +
        `${MB(e.machineBytes)} is free; ${alt.fittingContext < 16 ? 'the weights alone do not fit: choose ' : 'choose '}${ways.join(', or ')}` +
        `${e.totalBytes <= e.machineBytes ? ', or close other programs' : ''}`,
    );
  }
}

export class Engine {
  private constructor(
    readonly path: string,
    readonly config: ModelConfig,
    readonly tokenizer: Tokenizer,
    readonly decoder: OnnxDecoder,
    readonly contextSize: number,
    readonly memory: MemoryEstimate,
    /** How the context size was chosen when it was automatic (contextSize 0); undefined for a fixed size. */
    readonly autoContext?: AutoContext,
  ) {}

  static async load(path: string, o: EngineOptions = {}): Promise<Engine> {
    const file = GGUFFile.open(path);
    try {
      const config = readModelConfig(file);
      const tokenizer = Tokenizer.fromGGUF(file);
      o.onStage?.('parse');
      const spec = o.kv ?? { kind: 'full' };
      const autoContext =
        o.contextSize === 0
          ? autoContextSize(file.tensors, config, (n) => resolvePlan(spec, config, n), o.freeMemoryBytes)
          : undefined;
      const contextSize = autoContext?.contextSize ?? o.contextSize ?? Math.min(config.ctxTrain, 4096);
      if (!Number.isInteger(contextSize) || contextSize < 16)
        throw new RangeError(`context size must be an integer ≥ 16 (got ${contextSize})`);
      const threads = o.threads ?? Math.max(1, Math.min(2, os.availableParallelism()));
      if (!Number.isInteger(threads) || threads < 1)
        throw new RangeError(`threads must be a positive integer (got ${threads})`);
      const plan = resolvePlan(spec, config, contextSize);
      const memory = estimateMemory(file, config, contextSize, plan, o.freeMemoryBytes);
      if (memory.totalBytes > memory.freeBytes) {
        const pod =
          plan.kind === 'full'
            ? kvBytesAt(config, resolvePlan({ kind: 'pod', dtype: plan.dtype }, config, contextSize), contextSize)
            : undefined;
        throw new InsufficientMemoryError(memory, contextSize, {
          fittingContext: largestFittingContext(memory, config, plan, contextSize),
          podKvBytes: pod,
        });
      }
      const decoder = await OnnxDecoder.load(file, config, {
        threads,
        contextSize,
        profilePrefix: o.profilePrefix,
        kv: plan,
        accuracyLevel: o.accuracyLevel,
        exportQueries: o.exportQueries,
        onStage: o.onStage,
      });
      return new Engine(path, config, tokenizer, decoder, contextSize, memory, autoContext);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** A new, empty cache of the kind the model was loaded for. */
  createCache(): KVCache {
    return createCache(this.config, this.decoder.plan, this.contextSize);
  }

  /** Prompt ids for one user turn through the model's chat template. */
  chatPrompt(messages: readonly ChatMessage[]): number[] {
    return this.tokenizer.encodeChat(messages, { addGenerationPrompt: true });
  }

  generate(cache: KVCache, req: GenerateRequest): AsyncGenerator<GenerateEvent> {
    return generate(this.decoder, this.tokenizer, cache, req);
  }

  async dispose(): Promise<void> {
    await this.decoder.dispose();
  }
}
