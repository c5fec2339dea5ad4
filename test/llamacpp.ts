// Test helper: llama.cpp (through the node-llama-cpp devDependency, CPU only, prebuilt binary) as
// the external yardstick for our engines — greedy ids and full next-token distributions for a
// fixed list of token ids, so comparisons need no tokenizer of ours. Never used by src/.
import type * as NodeLlamaCpp from 'node-llama-cpp';

// node-llama-cpp is ESM-only and tests compile to CommonJS, where tsc would turn `import()` into
// `require()`; a Function keeps the real dynamic import.
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

export interface LlamaCppRunner {
  /** Greedy continuation of `prompt` (ids), `n` tokens, not stopping at end-of-generation ids. */
  greedy(prompt: readonly number[], n: number): Promise<number[]>;
  /**
   * Natural-log next-token probabilities (temperature 1, no filters) after each of `tokens[from..]`,
   * evaluated from an empty sequence: result[i] is the distribution predicting tokens[from + i + 1].
   * With `chunk`, the positions with outputs are evaluated `chunk` at a time (node-llama-cpp returns
   * each distribution as a Map over the whole vocabulary: 150K entries per position for Qwen).
   */
  logProbs(tokens: readonly number[], from: number, chunk?: number): Promise<Float64Array[]>;
  detokenize(ids: readonly number[]): string;
  dispose(): Promise<void>;
}

/** Open `modelPath` in llama.cpp; `vocabSize` sizes the returned distributions (node-llama-cpp does not expose it). */
export async function openLlamaCpp(modelPath: string, vocabSize: number, threads = 1): Promise<LlamaCppRunner> {
  const nlc = (await importEsm('node-llama-cpp')) as typeof NodeLlamaCpp;
  const llama = await nlc.getLlama({ gpu: false, build: 'never', logLevel: nlc.LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({ contextSize: 512, threads });
  const seq = context.getSequence(); // one sequence, cleared before every call

  type Item = NodeLlamaCpp.ControlledEvaluateInputItem;
  const toToken = (n: number): NodeLlamaCpp.Token => n as NodeLlamaCpp.Token;
  const withNext = (t: number): Item => [
    toToken(t),
    { generateNext: { token: true, probabilities: true, options: { temperature: 0 } } },
  ];
  // greedy needs only the token: asking for the probabilities too costs a vocabulary-sized Map per step
  const withNextToken = (t: number): Item => [
    toToken(t),
    { generateNext: { token: true, options: { temperature: 0 } } },
  ];

  /** Feed `items` into `seq` and return the result of the last one. */
  const step = async (items: Item[]): Promise<NodeLlamaCpp.ControlledEvaluateIndexOutput> => {
    const res = await seq.controlledEvaluate(items);
    const last = res[items.length - 1];
    if (!last) throw new Error('llama.cpp returned no output for the last token');
    return last;
  };
  const toLogProbs = (probs: Map<NodeLlamaCpp.Token, number> | undefined): Float64Array => {
    if (!probs) throw new Error('llama.cpp returned no probabilities');
    const out = new Float64Array(vocabSize).fill(-Infinity);
    for (const [id, p] of probs) out[id] = Math.log(p);
    return out;
  };

  return {
    async greedy(prompt, n) {
      await seq.clearHistory();
      const ids: number[] = [];
      let items: Item[] = prompt.map((t, i) => (i === prompt.length - 1 ? withNextToken(t) : toToken(t)));
      while (ids.length < n) {
        const next = (await step(items)).next.token;
        if (next === undefined || next === null) throw new Error('llama.cpp produced no token');
        ids.push(next);
        items = [withNextToken(next)];
      }
      return ids;
    },
    async logProbs(tokens, from, chunk) {
      await seq.clearHistory();
      if (chunk === undefined) {
        const items: Item[] = tokens.map((t, i) => (i >= from ? withNext(t) : toToken(t)));
        const res = await seq.controlledEvaluate(items);
        return tokens.slice(from).map((_, i) => toLogProbs(res[from + i]?.next.probabilities));
      }
      if (from > 0) await seq.controlledEvaluate(tokens.slice(0, from).map(toToken));
      const out: Float64Array[] = [];
      for (let i = from; i < tokens.length; i += chunk) {
        const res = await seq.controlledEvaluate(tokens.slice(i, i + chunk).map(withNext));
        for (let j = 0; j < Math.min(chunk, tokens.length - i); j++) out.push(toLogProbs(res[j]?.next.probabilities));
      }
      return out;
    },
    detokenize: (ids) => model.detokenize(ids.map(toToken), true),
    async dispose() {
      seq.dispose();
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}
