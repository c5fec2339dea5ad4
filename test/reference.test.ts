// The reference forward pass against golden data: stories260K's documented greedy ids and
// position-0 logits (models.md), the GGUF v1 copy, cache/positions bookkeeping, and SmolLM2-135M
// (Q4_1) against llama.cpp through node-llama-cpp on a fixed token-id prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGUFFile } from '../src/engine/gguf/file';
import { ReferenceModel } from '../src/engine/reference/forward';
import { SMOLLM2, modelPath } from './helpers';
import { openLlamaCpp } from './llamacpp';

const STORIES_GOLDEN = [
  403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419,
  292, 411, 322, 265, 282, 295, 433, 426, 385,
];
const STORIES_TOP5_IDS = [403, 385, 410, 317, 407];
const STORIES_TOP5_LOGITS = [17.0235, 15.4062, 13.1083, 12.7692, 12.4181];

function load(name: string): ReferenceModel {
  const f = GGUFFile.open(modelPath(name));
  try {
    return ReferenceModel.load(f);
  } finally {
    f.close();
  }
}

function argmax(x: Float32Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
}

/** Ids of the n largest logits, best first (test-side full sort: clarity over speed). */
function topN(x: Float32Array, n: number): number[] {
  return Array.from(x.keys())
    .sort((a, b) => x[b]! - x[a]! || a - b)
    .slice(0, n);
}

/** Feed `prompt` from position 0, then append `n` greedy ids (end-of-text ids included). */
function greedy(m: ReferenceModel, prompt: readonly number[], n: number): { ids: number[]; logits: Float32Array[] } {
  m.reset();
  const logits: Float32Array[] = [];
  let last: Float32Array = new Float32Array(0);
  prompt.forEach((t, pos) => {
    last = m.forward(t, pos);
  });
  const ids: number[] = [];
  for (let pos = prompt.length; ids.length < n; pos++) {
    logits.push(last);
    ids.push(argmax(last));
    if (ids.length < n) last = m.forward(ids[ids.length - 1]!, pos);
  }
  return { ids, logits };
}

test('stories260K: greedy decode from BOS gives the golden 32 ids', () => {
  const m = load('stories260K-f32.gguf');
  assert.deepEqual(greedy(m, [1], 32).ids, STORIES_GOLDEN);
  const t0 = performance.now(); // timed again with the JIT warm
  assert.deepEqual(greedy(m, [1], 32).ids, STORIES_GOLDEN);
  const ms = performance.now() - t0;
  console.log(`stories260K reference: ${(33 / (ms / 1000)).toFixed(0)} tok/s (33 forwards in ${ms.toFixed(0)} ms)`);
});

test('stories260K: top-5 logits at position 0 match the golden values within 1e-3', () => {
  // Tolerance 1e-3: the goldens are printed to 4 decimals (±5e-5) and came from an engine that
  // accumulates in float32 in another order (≈1e-6 relative per op, ~1e-4 on logits near 17 after
  // five layers); 1e-3 covers both while any real bug (RoPE pairing, GQA mapping, norm eps) moves
  // these logits by ≥ 0.1.
  const logits = load('stories260K-f32.gguf').forward(1, 0);
  assert.deepEqual(topN(logits, 5), STORIES_TOP5_IDS);
  STORIES_TOP5_IDS.forEach((id, i) => {
    const want = STORIES_TOP5_LOGITS[i]!;
    assert.ok(Math.abs(logits[id]! - want) <= 1e-3, `logit[${id}] = ${logits[id]} vs ${want}`);
  });
});

test('stories260K: the GGUF v1 copy gives bit-identical logits at every position', () => {
  const seq = [1, ...STORIES_GOLDEN];
  const a = load('stories260K-f32.gguf').forwardAll(seq);
  const b = load('stories260K-f32-ggufv1.gguf').forwardAll(seq);
  assert.equal(b.length, seq.length);
  a.forEach((la, pos) => assert.deepEqual(b[pos], la, `position ${pos}`));
});

test('forwardAll equals step-by-step forward, resets the cache, and positions must be sequential', () => {
  const m = load('stories260K-f32.gguf');
  const seq = [1, 403, 407, 261, 378];
  const steps = seq.map((t, pos) => m.forward(t, pos));
  assert.equal(m.position, seq.length);
  assert.throws(() => m.forward(1, 2), RangeError);
  assert.throws(() => m.forward(512, seq.length), RangeError);
  const all = m.forwardAll(seq); // resets first, although the cache held 5 positions
  all.forEach((l, pos) => assert.deepEqual(l, steps[pos]));
  m.reset();
  assert.equal(m.position, 0);
  assert.deepEqual(m.forward(1, 0), steps[0]);
});

test('stories260K: llama.cpp gives the same greedy ids and log-probabilities within 0.05', async () => {
  // Both run F32 weights; llama.cpp keeps its KV cache in F16 (≈5e-4 relative rounding of K and
  // V), which moves log-probabilities by ~1e-2 (measured max 0.013 over the top-10 ids).
  const m = load('stories260K-f32.gguf');
  const seq = [1, ...STORIES_GOLDEN];
  const ours = m.forwardAll(seq.slice(0, -1));
  const cpp = await openLlamaCpp(modelPath('stories260K-f32.gguf'), m.config.vocabSize);
  try {
    assert.deepEqual(await cpp.greedy([1], 32), STORIES_GOLDEN);
    const theirs = await cpp.logProbs(seq.slice(0, -1), 0);
    let maxDiff = 0;
    ours.forEach((logits, pos) => {
      const l = logSoftmax(logits);
      for (const id of topN(logits, 10)) maxDiff = Math.max(maxDiff, Math.abs(l[id]! - theirs[pos]![id]!));
    });
    assert.ok(maxDiff < 0.05, `max |Δ log p| ${maxDiff}`);
  } finally {
    await cpp.dispose();
  }
});

// "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n" as tokenized
// by llama.cpp (node-llama-cpp 3.21.1, model.tokenize(text, true)); ids keep this test tokenizer-free.
const SMOL_PROMPT = [1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198];
const SMOL_DECODE = 32;

test('SmolLM2-135M Q4_1: greedy ids and next-token distributions agree with llama.cpp', async () => {
  const m = load(SMOLLM2);
  const c = m.config;
  assert.equal(c.vocabSize, 49152);

  const t0 = performance.now();
  const ref = greedy(m, SMOL_PROMPT, SMOL_DECODE);
  const s = (performance.now() - t0) / 1000;
  const nForwards = SMOL_PROMPT.length + SMOL_DECODE - 1;

  const cpp = await openLlamaCpp(modelPath(SMOLLM2), c.vocabSize);
  try {
    const text = cpp.detokenize(ref.ids);
    assert.match(text, /^The capital of France is Paris\./, 'reference answer');

    // Free-running greedy: both engines from the same prompt. Past the first near-tie the two
    // trajectories may legitimately part (llama.cpp quantizes activations to 8 bits for Q4_1
    // matmuls), so only the first 8 ids are required to agree.
    const theirs = await cpp.greedy(SMOL_PROMPT, SMOL_DECODE);
    let agree = 0;
    while (agree < SMOL_DECODE && theirs[agree] === ref.ids[agree]) agree++;
    assert.ok(agree >= 8, `first ${agree} greedy ids agree: ours ${ref.ids.join(' ')} / llama.cpp ${theirs.join(' ')}`);

    // Teacher-forced: llama.cpp reads our sequence and we compare the 32 next-token distributions.
    // Tolerances: llama.cpp multiplies Q4_1 weights by activations quantized to 8 bits (Q8_1), we
    // multiply exactly. On an F32 copy of these same weights (converted with gguf-py) llama.cpp
    // agrees with this reference to max |Δ log p| 0.024 over the top-10 ids and KL ≈ 0, so what
    // remains here is llama.cpp's activation rounding: measured KL ≤ 8e-3 nats and |Δ log p| ≤ 0.30
    // on ids above 1%. The bounds below leave 3-6× headroom; a real forward-pass bug gives KL ≫ 0.1.
    const seq = [...SMOL_PROMPT, ...ref.ids];
    const lp = await cpp.logProbs(seq.slice(0, -1), SMOL_PROMPT.length - 1);
    let top1Agree = 0;
    let maxKL = 0;
    let maxDiffLikely = 0; // over ids with p > 1%
    let maxDiffTop10 = 0;
    ref.logits.forEach((logits, i) => {
      const ours = logSoftmax(logits);
      const theirs = lp[i]!;
      if (argmaxF64(theirs) === ref.ids[i]) top1Agree++;
      let kl = 0;
      for (let id = 0; id < ours.length; id++) {
        const l = ours[id]!;
        if (l < -30) continue; // contributes < 1e-12
        kl += Math.exp(l) * (l - theirs[id]!);
        if (l > Math.log(0.01)) maxDiffLikely = Math.max(maxDiffLikely, Math.abs(l - theirs[id]!));
      }
      maxKL = Math.max(maxKL, kl);
      for (const id of topN(logits, 10)) maxDiffTop10 = Math.max(maxDiffTop10, Math.abs(ours[id]! - theirs[id]!));
    });
    console.log(`SmolLM2 reference: ${(nForwards / s).toFixed(2)} tok/s (${nForwards} forwards in ${s.toFixed(1)} s)`);
    console.log(
      `SmolLM2 vs llama.cpp: free-running greedy agree on first ${agree}/${SMOL_DECODE} ids; teacher-forced ` +
        `top-1 ${top1Agree}/${SMOL_DECODE}; max KL ${maxKL.toExponential(2)}; max |Δ log p| ${maxDiffLikely.toFixed(3)} ` +
        `(ids > 1%), ${maxDiffTop10.toFixed(3)} (our top-10)`,
    );
    assert.ok(top1Agree >= SMOL_DECODE - 2, `teacher-forced top-1 agreement ${top1Agree}/${SMOL_DECODE}`);
    assert.ok(maxKL < 0.05, `max KL(reference ‖ llama.cpp) ${maxKL}`);
    assert.ok(maxDiffLikely < 1, `max |Δ log p| over ids above 1%: ${maxDiffLikely}`);
  } finally {
    await cpp.dispose();
  }
});

function logSoftmax(x: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  let z = 0;
  for (const v of x) z += Math.exp(v - max);
  const lz = max + Math.log(z);
  return Float64Array.from(x, (v) => v - lz);
}

function argmaxF64(x: Float64Array): number {
  let b = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[b]!) b = i;
  return b;
}
