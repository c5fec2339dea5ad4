// The generation loop: chunked prefill of the prompt, then sample → decode one token at a time,
// as an async stream of events. Cancellation (AbortSignal) is checked before every model step,
// so it takes effect within one step; the KV cache only ever holds completed steps.
import { OnnxDecoder } from './decoder';
import { KVCache } from './kv/types';
import { Sampler, SamplerOptions } from './sampler';
import { StopMatcher } from './stop';
import { Tokenizer } from './tokenizer';

export interface GenerateRequest {
  /** Prompt token ids, appended after whatever the cache already holds. */
  prompt: readonly number[];
  maxTokens: number;
  sampler?: Partial<SamplerOptions>;
  stop?: readonly string[];
  /** Tokens per prefill step (default 256). */
  prefillChunk?: number;
  signal?: AbortSignal;
}

export type FinishReason = 'eos' | 'stop' | 'length' | 'context' | 'abort';

export interface GenerateStats {
  promptTokens: number;
  /** Tokens already in the cache before this prompt (reused, not recomputed). */
  reusedTokens: number;
  generatedTokens: number;
  ttftMs: number;
  prefillMs: number;
  prefillTokensPerSecond: number;
  decodeMs: number;
  decodeTokensPerSecond: number;
  totalMs: number;
  kvBytes: number;
  contextTokens: number;
}

export type GenerateEvent =
  | { type: 'prefill'; done: number; total: number }
  | { type: 'token'; id: number; text: string }
  /** Text held back until the end (a partial stop string or character), released at the finish. */
  | { type: 'text'; text: string }
  | { type: 'done'; reason: FinishReason; text: string; tokens: number[]; stats: GenerateStats };

export class PromptTooLongError extends Error {
  override readonly name = 'PromptTooLongError';
  constructor(
    readonly promptTokens: number,
    readonly cachedTokens: number,
    readonly contextSize: number,
  ) {
    super(
      `the prompt has ${promptTokens} tokens${cachedTokens ? ` (+${cachedTokens} cached)` : ''} but the context holds ${contextSize}; shorten it or raise the context size`,
    );
  }
}

export async function* generate(
  dec: OnnxDecoder,
  tok: Tokenizer,
  cache: KVCache,
  req: GenerateRequest,
): AsyncGenerator<GenerateEvent> {
  const ctx = dec.options.contextSize;
  const t0 = performance.now();
  const reused = cache.length;
  if (req.prompt.length === 0) throw new RangeError('empty prompt');
  if (reused + req.prompt.length >= ctx) throw new PromptTooLongError(req.prompt.length, reused, ctx);
  const sampler = new Sampler(req.sampler ?? {});
  const chunk = Math.max(1, req.prefillChunk ?? 256);
  const history: number[] = [...req.prompt];
  const generated: number[] = [];
  const stream = tok.createStreamDecoder({ skipSpecial: true });
  const stops = new StopMatcher(req.stop ?? []);
  let text = '';
  let reason: FinishReason = 'length';
  let ttft = 0,
    prefillMs = 0,
    decodeSteps = 0;
  const aborted = () => req.signal?.aborted === true;

  let logits: Float32Array | undefined;
  for (let i = 0; i < req.prompt.length; i += chunk) {
    if (aborted()) {
      reason = 'abort';
      break;
    }
    const part = req.prompt.slice(i, i + chunk);
    logits = await dec.step(part, cache, [part.length - 1]);
    yield { type: 'prefill', done: Math.min(i + chunk, req.prompt.length), total: req.prompt.length };
  }
  prefillMs = performance.now() - t0;
  const tDecode = performance.now();

  while (reason !== 'abort' && logits) {
    const id = sampler.sample(logits, history);
    if (generated.length === 0) ttft = performance.now() - t0;
    if (tok.isEog(id)) {
      reason = 'eos';
      break;
    }
    generated.push(id);
    history.push(id);
    const r = stops.push(stream.push(id));
    if (r.emit) {
      text += r.emit;
      yield { type: 'token', id, text: r.emit };
    } else yield { type: 'token', id, text: '' };
    if (r.stopped) {
      reason = 'stop';
      break;
    }
    if (generated.length >= req.maxTokens) {
      reason = 'length';
      break;
    }
    if (cache.length >= ctx) {
      reason = 'context';
      break;
    }
    if (aborted()) {
      reason = 'abort';
      break;
    }
    logits = await dec.step([id], cache, [0]);
    decodeSteps++;
  }
  if (reason !== 'stop') {
    const tail = stops.push(stream.flush()).emit + stops.flush();
    if (tail) {
      text += tail;
      yield { type: 'text', text: tail };
    }
  }
  const decodeMs = performance.now() - tDecode;
  yield {
    type: 'done',
    reason,
    text,
    tokens: generated,
    stats: {
      promptTokens: req.prompt.length,
      reusedTokens: reused,
      generatedTokens: generated.length,
      ttftMs: ttft,
      prefillMs,
      prefillTokensPerSecond: prefillMs > 0 ? (req.prompt.length / prefillMs) * 1000 : 0,
      decodeMs,
      decodeTokensPerSecond: decodeMs > 0 && decodeSteps > 0 ? (decodeSteps / decodeMs) * 1000 : 0,
      totalMs: performance.now() - t0,
      kvBytes: cache.byteSize(),
      contextTokens: cache.length,
    },
  };
}
