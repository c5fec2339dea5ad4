// The engine facade: open a GGUF file, read its config and tokenizer, build the ONNX decoder,
// create KV caches and run generation. The CLI and the extension's worker use only this.
import * as os from 'node:os';
import { GGUFFile } from './gguf/file';
import { ModelConfig, readModelConfig } from './model/config';
import { OnnxDecoder } from './decoder';
import { createCache } from './kv/create';
import { KVSpec, resolvePlan } from './kv/plan';
import { KVCache } from './kv/types';
import { generate, GenerateEvent, GenerateRequest } from './generate';
import { ChatMessage, Tokenizer } from './tokenizer';
import { estimateMemory, MemoryEstimate } from './memory';

export interface EngineOptions {
  /** Intra-op threads (default: min(2, CPU count)). */
  threads?: number;
  /** Context size in tokens (default: min(training context, 4096)). */
  contextSize?: number;
  profilePrefix?: string;
  /** KV cache the graph is built for (default: full cache). */
  kv?: KVSpec;
  /** Build the graph with per-layer query outputs (calibration). */
  exportQueries?: boolean;
  /** MatMulNBits accuracy level (default 4: int8 activations; 0: fp32 activations, slow, exact weights). */
  accuracyLevel?: number;
}

const MB = (b: number): string => `${Math.round(b / 2 ** 20)} MB`;

export class InsufficientMemoryError extends Error {
  override readonly name = 'InsufficientMemoryError';
  constructor(readonly estimate: MemoryEstimate, contextSize: number) {
    super(`not enough memory: the model needs about ${MB(estimate.totalBytes)} (weights ${MB(estimate.weightBytes)}, ` +
      `KV cache ${MB(estimate.kvBytes)} at ${contextSize} tokens) but only ${MB(estimate.freeBytes)} is available; ` +
      'choose a smaller model or context size, or close other programs');
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
  ) {}

  static async load(path: string, o: EngineOptions = {}): Promise<Engine> {
    const file = GGUFFile.open(path);
    try {
      const config = readModelConfig(file);
      const tokenizer = Tokenizer.fromGGUF(file);
      const contextSize = o.contextSize ?? Math.min(config.ctxTrain, 4096);
      if (!Number.isInteger(contextSize) || contextSize < 16) throw new RangeError(`context size must be an integer ≥ 16 (got ${contextSize})`);
      const threads = o.threads ?? Math.max(1, Math.min(2, os.availableParallelism()));
      if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer (got ${threads})`);
      const plan = resolvePlan(o.kv ?? { kind: 'full' }, config, contextSize);
      const memory = estimateMemory(file, config, contextSize, plan);
      if (memory.totalBytes > memory.freeBytes) throw new InsufficientMemoryError(memory, contextSize);
      const decoder = await OnnxDecoder.load(file, config, { threads, contextSize, profilePrefix: o.profilePrefix, kv: plan, accuracyLevel: o.accuracyLevel, exportQueries: o.exportQueries });
      return new Engine(path, config, tokenizer, decoder, contextSize, memory);
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
    const text = this.tokenizer.applyChatTemplate(messages, { addGenerationPrompt: true });
    return this.tokenizer.encode(text, { addBos: false, parseSpecial: true });
  }

  generate(cache: KVCache, req: GenerateRequest): AsyncGenerator<GenerateEvent> {
    return generate(this.decoder, this.tokenizer, cache, req);
  }

  async dispose(): Promise<void> {
    await this.decoder.dispose();
  }
}
