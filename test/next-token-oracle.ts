// Teacher-forced next-token oracle shared by test/qwen-engine.test.ts and scripts/qwen-oracle.ts:
// for a chat prompt, llama.cpp's greedy continuation is fed (as ids) to three models — our fast
// path (the default engine: int8 activations, f16 KV), the exact model (ours with fp32
// activations, MatMulNBits accuracy level 0, f32 KV) and llama.cpp itself — and at every answer
// position we record each one's argmax and KL(exact ‖ ·). Measures and formats; asserts nothing
// (the callers own their tolerances). Full KV cache only: PoD is measured elsewhere.
import { Engine } from '../src/engine/engine';
import type { ChatMessage } from '../src/engine/tokenizer';
import { LlamaCppRunner, openLlamaCpp } from './llamacpp';

/** Chat prompts about code (no system message: the model's default one is used). */
export const CODE_PROMPTS: readonly string[] = [
  'Write a Python function that checks whether a string is a palindrome.',
  'What does this JavaScript print, and why?\n```js\nconsole.log([1, 2, 3].map(parseInt));\n```',
  'Explain the difference between a process and a thread in two sentences.',
  'Fix the bug:\n```c\nint sum(int *a, int n) {\n    int s;\n    for (int i = 0; i <= n; i++) s += a[i];\n    return s;\n}\n```',
  'Write a SQL query that returns the ten customers with the highest total order amount.',
  'In Rust, what is the difference between `String` and `&str`?',
];

/** One answer position: the three models' next-token choice and their distance from the exact model. */
export interface PositionResult {
  /** llama.cpp's greedy token (the teacher-forced target). */
  target: number;
  /** Argmax of each model's teacher-forced distribution (llama.cpp's, evaluated as one batch, can differ from its token-by-token greedy pick at a near-tie). */
  ours: number;
  exact: number;
  ref: number;
  /** KL(exact ‖ ours), KL(exact ‖ llama.cpp) in nats. */
  klOurs: number;
  klRef: number;
  /** Largest |log p_exact − log p| over tokens the exact model gives > 1%, ours and llama.cpp's. */
  dlpOurs: number;
  dlpRef: number;
  /** log p_exact(llama.cpp's token) − log p_exact(our token): > 0 when the exact model prefers llama.cpp's pick. */
  exactMargin: number;
}

export interface PromptResult {
  prompt: string;
  promptIds: number[];
  /** llama.cpp's greedy answer (ids, ending at its end-of-generation token if any) and as text. */
  answerIds: number[];
  answer: string;
  /** The exact model's logits [answerIds.length, vocab] (row i predicts answerIds[i]). */
  exactLogits: Float32Array;
  positions: PositionResult[];
}

export interface Summary {
  positions: number;
  /** Positions where our argmax equals llama.cpp's greedy token, where ours equals the exact argmax, where llama.cpp's (teacher-forced) does. */
  oursVsRef: number;
  oursVsExact: number;
  refVsExact: number;
  maxKlOurs: number;
  meanKlOurs: number;
  maxKlRef: number;
  meanKlRef: number;
  maxDlpOurs: number;
  maxDlpRef: number;
  /** Largest exactMargin over the positions where ours ≠ llama.cpp (0 when none). */
  worstMargin: number;
}

/** The three models for one GGUF file. */
export interface OracleModels {
  fast: Engine;
  exact: Engine;
  ref: LlamaCppRunner;
  dispose(): Promise<void>;
}

/** Load the fast engine (defaults: accuracy level 4, f16 full KV), the exact one (level 0, f32 KV) and llama.cpp. */
export async function loadOracleModels(file: string, threads: number, contextSize = 512): Promise<OracleModels> {
  const fast = await Engine.load(file, { threads, contextSize });
  const exact = await Engine.load(file, { threads, contextSize, accuracyLevel: 0, kv: { kind: 'full', dtype: 'f32' } });
  const ref = await openLlamaCpp(file, fast.config.vocabSize, threads);
  return {
    fast,
    exact,
    ref,
    async dispose() {
      await ref.dispose();
      await exact.dispose();
      await fast.dispose();
    },
  };
}

/** Natural-log softmax of one row of logits. */
export function logSoftmax(x: Float32Array): Float64Array {
  let mx = -Infinity;
  for (const v of x) mx = Math.max(mx, v);
  let sum = 0;
  for (const v of x) sum += Math.exp(v - mx);
  const lse = mx + Math.log(sum);
  return Float64Array.from(x, (v) => v - lse);
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/**
 * KL(p ‖ q) = Σ p (log p − log q), over tokens with p > 1e-9 (the rest add < 1e-9 · |log q|
 * each). llama.cpp reports probabilities as f32: one that underflowed to 0 counts as 1e-30.
 */
export function kl(p: Float64Array, q: Float64Array): number {
  let s = 0;
  for (let v = 0; v < p.length; v++) {
    const pv = Math.exp(p[v]!);
    if (pv < 1e-9) continue;
    s += pv * (p[v]! - (Number.isFinite(q[v]!) ? q[v]! : Math.log(1e-30)));
  }
  return s;
}

/** Largest |p[v] − q[v]| (log-probabilities) over tokens with exp(p[v]) > 1%. */
function maxLogProbGap(p: Float64Array, q: Float64Array): number {
  let worst = 0;
  for (let v = 0; v < p.length; v++) if (p[v]! > Math.log(0.01)) worst = Math.max(worst, Math.abs(p[v]! - q[v]!));
  return worst;
}

/** Teacher-forced comparison on one chat prompt, `n` answer tokens (fewer if llama.cpp ends the answer). */
export async function measurePrompt(m: OracleModels, userText: string, n: number): Promise<PromptResult> {
  const messages: ChatMessage[] = [{ role: 'user', content: userText }];
  const prompt = m.fast.chatPrompt(messages);
  let answer = await m.ref.greedy(prompt, n);
  const eog = answer.findIndex((id) => m.fast.tokenizer.isEog(id));
  if (eog >= 0) answer = answer.slice(0, eog + 1); // the end-of-generation token stays a target
  const ids = [...prompt, ...answer];
  const rows = answer.map((_, i) => prompt.length - 1 + i); // row i predicts answer[i]
  const V = m.fast.config.vocabSize;
  // three independent runs (two ORT sessions, llama.cpp's threads): overlapped when cores are free
  const [ours, exact, theirs] = await Promise.all([
    m.fast.decoder.step(ids, m.fast.createCache(), rows),
    m.exact.decoder.step(ids, m.exact.createCache(), rows),
    m.ref.logProbs(ids.slice(0, -1), prompt.length - 1, 8),
  ]);
  const positions = answer.map((target, i): PositionResult => {
    const a = logSoftmax(ours.subarray(i * V, (i + 1) * V));
    const e = logSoftmax(exact.subarray(i * V, (i + 1) * V));
    const b = theirs[i]!;
    const mine = argmax(a);
    return {
      target,
      ours: mine,
      exact: argmax(e),
      ref: argmax(b),
      klOurs: kl(e, a),
      klRef: kl(e, b),
      dlpOurs: maxLogProbGap(e, a),
      dlpRef: maxLogProbGap(e, b),
      exactMargin: e[target]! - e[mine]!,
    };
  });
  return {
    prompt: userText,
    promptIds: prompt,
    answerIds: answer,
    answer: m.fast.tokenizer.decode(answer, { skipSpecial: true }),
    exactLogits: exact,
    positions,
  };
}

export function summarize(results: readonly PromptResult[]): Summary {
  const all = results.flatMap((r) => r.positions);
  const count = (f: (p: PositionResult) => boolean): number => all.filter(f).length;
  const max = (f: (p: PositionResult) => number): number => all.reduce((s, p) => Math.max(s, f(p)), 0);
  const mean = (f: (p: PositionResult) => number): number =>
    all.reduce((s, p) => s + f(p), 0) / Math.max(1, all.length);
  return {
    positions: all.length,
    oursVsRef: count((p) => p.ours === p.target),
    oursVsExact: count((p) => p.ours === p.exact),
    refVsExact: count((p) => p.ref === p.exact),
    maxKlOurs: max((p) => p.klOurs),
    meanKlOurs: mean((p) => p.klOurs),
    maxKlRef: max((p) => p.klRef),
    meanKlRef: mean((p) => p.klRef),
    maxDlpOurs: max((p) => p.dlpOurs),
    maxDlpRef: max((p) => p.dlpRef),
    worstMargin: max((p) => (p.ours === p.target ? 0 : p.exactMargin)),
  };
}

const pct = (a: number, n: number): string => `${a}/${n} (${((100 * a) / Math.max(1, n)).toFixed(1)}%)`;

/** A Markdown table: one row per prompt and a total row, ours beside llama.cpp. */
export function formatTable(results: readonly PromptResult[]): string {
  const lines = [
    '| prompt | answer tokens | ours = llama.cpp greedy | ours = exact | llama.cpp = exact | KL ours max / mean | KL llama.cpp max / mean | max Δlog p ours / llama.cpp |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const row = (name: string, s: Summary): string =>
    `| ${name} | ${s.positions} | ${pct(s.oursVsRef, s.positions)} | ${pct(s.oursVsExact, s.positions)} | ${pct(s.refVsExact, s.positions)} | ` +
    `${s.maxKlOurs.toFixed(4)} / ${s.meanKlOurs.toFixed(5)} | ${s.maxKlRef.toFixed(4)} / ${s.meanKlRef.toFixed(5)} | ${s.maxDlpOurs.toFixed(3)} / ${s.maxDlpRef.toFixed(3)} |`;
  for (const r of results) lines.push(row(JSON.stringify(r.prompt.split('\n')[0]!.slice(0, 48)), summarize([r])));
  lines.push(row('**all**', summarize(results)));
  return lines.join('\n');
}

/** Where ours and llama.cpp pick different tokens: both picks with their exact log-probability gap. */
export function describeMisses(r: PromptResult): string[] {
  return r.positions.flatMap((p, i) =>
    p.ours === p.target
      ? []
      : [
          `@${i}: ours ${p.ours}, llama.cpp ${p.target}, exact ${p.exact}, exact prefers llama.cpp's by ${p.exactMargin.toFixed(3)} nats`,
        ],
  );
}
