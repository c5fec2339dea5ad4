// Token samplers: logits (+ the ids generated so far) → the next id. Pure and seeded: the only
// state is a private xoshiro128** generator, so the same options (same seed) and the same calls
// give the same ids on every machine. No global randomness, no I/O, no model knowledge.
//
// The filter order follows llama.cpp's default chain (common/sampling.cpp): repetition penalty →
// top-k → top-p → min-p → temperature → draw from the softmax. Temperature 0 is greedy: argmax of
// the penalized logits, lowest id on ties, and consumes no randomness.
//
// Cost for a 150K vocabulary: one O(V) copy when a repetition penalty is active, O(V log k) heap
// selection for top-k (never a full sort), and for top-p without top-k a growing partial
// selection (64, 256, 1024, … best ids) that stops once the kept mass reaches p.

export interface SamplerOptions {
  /** Softmax temperature; 0 = greedy (argmax). */
  temperature: number;
  /** Keep the k most likely ids; 0 = off. */
  topK: number;
  /** Keep the smallest most-likely set whose probability reaches p (nucleus); 1 = off. */
  topP: number;
  /** Drop ids whose probability is below minP × the top probability; 0 = off. */
  minP: number;
  /** llama.cpp repetition penalty: positive logits ÷ penalty, negative × penalty; 1 = off. */
  repeatPenalty: number;
  /** How many of the most recent history ids the penalty looks at; 0 = none, -1 = all. */
  repeatLastN: number;
  /** PRNG seed (any integer; taken modulo 2³²). */
  seed: number;
}

/** llama.cpp's defaults (temp 0.8, top-k 40, top-p 0.95, min-p 0.05, no penalty, last 64), seed 0. */
export const DEFAULT_SAMPLER_OPTIONS: Readonly<SamplerOptions> = Object.freeze({
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1,
  repeatLastN: 64,
  seed: 0,
});

/** The distribution a sample is drawn from: candidate ids and their probabilities (sum 1). */
export interface Candidates {
  readonly ids: Int32Array;
  readonly probs: Float64Array;
}

/**
 * xoshiro128** (Blackman & Vigna, 2018): 128-bit state, 32-bit outputs, passes BigCrush.
 * The seed is expanded into the four state words with splitmix32 (the 32-bit variant with the
 * hash-prospector constants 0x21f0aaad / 0x735a2d97) so nearby seeds diverge at once.
 */
export class Xoshiro128 {
  private readonly s = new Uint32Array(4);

  constructor(seed: number) {
    let z = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
      t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
      this.s[i] = (t ^ (t >>> 15)) >>> 0;
    }
  }

  /** A generator in exactly this state (not all zero) — for checking against the reference vectors. */
  static fromState(state: readonly [number, number, number, number]): Xoshiro128 {
    if (state.every((w) => w >>> 0 === 0)) throw new RangeError('xoshiro128** state must not be all zero');
    const g = new Xoshiro128(0);
    g.s.set(state.map((w) => w >>> 0));
    return g;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    let s0 = s[0]!,
      s1 = s[1]!,
      s2 = s[2]!,
      s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
    return result;
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextU32() / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export class Sampler {
  readonly options: Readonly<SamplerOptions>;
  private readonly rng: Xoshiro128;
  private scratch = new Float32Array(0);

  constructor(opts: Partial<SamplerOptions> = {}) {
    const o = { ...DEFAULT_SAMPLER_OPTIONS, ...opts };
    const bad = (what: string): never => {
      throw new RangeError(`sampler: ${what}`);
    };
    if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) bad(`temperature must be ≥ 0 (got ${o.temperature})`);
    if (!Number.isInteger(o.topK) || o.topK < 0) bad(`topK must be an integer ≥ 0 (got ${o.topK})`);
    if (!(o.topP > 0 && o.topP <= 1)) bad(`topP must be in (0, 1] (got ${o.topP})`);
    if (!(o.minP >= 0 && o.minP <= 1)) bad(`minP must be in [0, 1] (got ${o.minP})`);
    if (!(o.repeatPenalty > 0) || !Number.isFinite(o.repeatPenalty))
      bad(`repeatPenalty must be > 0 (got ${o.repeatPenalty})`);
    if (!Number.isInteger(o.repeatLastN) || o.repeatLastN < -1)
      bad(`repeatLastN must be an integer ≥ -1 (got ${o.repeatLastN})`);
    if (!Number.isFinite(o.seed)) bad(`seed must be a finite number (got ${o.seed})`);
    this.options = Object.freeze(o);
    this.rng = new Xoshiro128(o.seed);
  }

  /** Pick the next id. `logits` is not modified. */
  sample(logits: Float32Array, history: readonly number[]): number {
    const c = this.candidates(logits, history);
    if (c.ids.length === 1) return c.ids[0]!;
    const u = this.rng.next();
    let cum = 0;
    for (let i = 0; i < c.ids.length; i++) {
      cum += c.probs[i]!;
      if (u < cum) return c.ids[i]!;
    }
    return c.ids[c.ids.length - 1]!; // u landed in the rounding gap just below 1
  }

  /** The filtered, temperature-scaled distribution `sample` draws from (no randomness used). */
  candidates(logits: Float32Array, history: readonly number[]): Candidates {
    if (logits.length === 0) throw new RangeError('sampler: empty logits');
    const o = this.options;
    const x = this.penalize(logits, history);
    if (o.temperature === 0) return { ids: Int32Array.of(argmax(x)), probs: Float64Array.of(1) };

    // top-k: the k best, sorted best first.
    let ids: Int32Array | undefined = o.topK > 0 && o.topK < x.length ? topIndices(x, o.topK) : undefined;

    // top-p on T=1 probabilities of the current candidates (llama.cpp renormalizes after top-k).
    if (o.topP < 1) ids = ids ? nucleusOfSorted(x, ids, o.topP) : nucleusOfAll(x, o.topP);

    // min-p: keep logit ≥ max + ln(minP), i.e. p ≥ minP·p_max.
    if (o.minP > 0) {
      const max = ids ? x[ids[0]!]! : x[argmax(x)]!;
      const floor = max + Math.log(o.minP);
      if (ids) ids = ids.filter((id) => x[id]! >= floor);
      else {
        const kept: number[] = [];
        for (let i = 0; i < x.length; i++) if (x[i]! >= floor) kept.push(i);
        ids = Int32Array.from(kept);
      }
    }

    if (!ids) {
      ids = new Int32Array(x.length);
      for (let i = 0; i < ids.length; i++) ids[i] = i;
    }
    return { ids, probs: softmaxOf(x, ids, o.temperature) };
  }

  /** Logits after the repetition penalty: the input itself when the penalty is off, else a copy. */
  private penalize(logits: Float32Array, history: readonly number[]): Float32Array {
    const o = this.options;
    if (o.repeatPenalty === 1 || o.repeatLastN === 0 || history.length === 0) return logits;
    if (this.scratch.length !== logits.length) this.scratch = new Float32Array(logits.length);
    const x = this.scratch;
    x.set(logits);
    const from = o.repeatLastN < 0 ? 0 : Math.max(0, history.length - o.repeatLastN);
    const seen = new Set<number>(); // each distinct id is penalized once, however often it occurs
    for (let i = from; i < history.length; i++) {
      const id = history[i]!;
      if (id < 0 || id >= x.length || seen.has(id)) continue;
      seen.add(id);
      const v = x[id]!;
      x[id] = v > 0 ? v / o.repeatPenalty : v * o.repeatPenalty;
    }
    return x;
  }
}

/** Index of the largest value; the lowest index among equals. */
function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/** The k largest entries of x, best first (ties: lower id first). Min-heap selection, O(V log k). */
export function topIndices(x: Float32Array, k: number): Int32Array {
  const n = Math.min(k, x.length);
  const heap = new Int32Array(n); // heap[0] is the worst of the kept ids
  // a is "worse" than b: smaller value, or equal value and larger id
  const worse = (a: number, b: number): boolean => x[a]! < x[b]! || (x[a] === x[b] && a > b);
  const siftDown = (i: number, size: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && worse(heap[l]!, heap[m]!)) m = l;
      if (r < size && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      const t = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = t;
      i = m;
    }
  };
  for (let i = 0; i < n; i++) heap[i] = i;
  for (let i = (n >> 1) - 1; i >= 0; i--) siftDown(i, n);
  for (let i = n; i < x.length; i++) {
    if (worse(heap[0]!, i)) {
      heap[0] = i;
      siftDown(0, n);
    }
  }
  // Pop the worst to the back repeatedly: the array ends sorted best first.
  for (let size = n - 1; size > 0; size--) {
    const t = heap[0]!;
    heap[0] = heap[size]!;
    heap[size] = t;
    siftDown(0, size);
  }
  return heap;
}

/** Shortest prefix of best-first `ids` whose softmax mass (over `ids`, T=1) reaches p. */
function nucleusOfSorted(x: Float32Array, ids: Int32Array, p: number): Int32Array {
  const max = x[ids[0]!]!;
  let z = 0;
  for (const id of ids) z += Math.exp(x[id]! - max);
  let cum = 0;
  for (let i = 0; i < ids.length; i++) {
    cum += Math.exp(x[ids[i]!]! - max) / z;
    if (cum >= p) return ids.subarray(0, i + 1);
  }
  return ids;
}

/** Top-p over the whole vocabulary without a full sort: select 64, 256, 1024, … best until the mass reaches p. */
function nucleusOfAll(x: Float32Array, p: number): Int32Array {
  const max = x[argmax(x)]!;
  let z = 0;
  for (let i = 0; i < x.length; i++) z += Math.exp(x[i]! - max);
  for (let m = Math.min(64, x.length); ; m = Math.min(4 * m, x.length)) {
    const top = topIndices(x, m);
    let cum = 0;
    for (let i = 0; i < m; i++) {
      cum += Math.exp(x[top[i]!]! - max) / z;
      if (cum >= p) return top.subarray(0, i + 1);
    }
    if (m === x.length) return top;
  }
}

/** softmax(x[ids] / temperature). */
function softmaxOf(x: Float32Array, ids: Int32Array, temperature: number): Float64Array {
  let max = -Infinity;
  for (const id of ids) if (x[id]! > max) max = x[id]!;
  const probs = new Float64Array(ids.length);
  if (max === -Infinity) {
    // every candidate is masked: fall back to uniform
    probs.fill(1 / ids.length);
    return probs;
  }
  let z = 0;
  for (let i = 0; i < ids.length; i++) {
    probs[i] = Math.exp((x[ids[i]!]! - max) / temperature);
    z += probs[i]!;
  }
  for (let i = 0; i < probs.length; i++) probs[i] = probs[i]! / z;
  return probs;
}
