// Adds packed GGUF weights to a graph as initializers and emits the matching MatMul nodes
// (MatMulNBits for quantized types, MatMul for float types, plus the block-sum correction for
// types with per-block minimums — see pack.ts). Also fuses weights that share an input
// (Q/K/V, gate/up) into one matrix so decode runs one kernel instead of two or three.
import { GraphBuilder, MS_DOMAIN } from './builder';
import { PackedNBits, PackedWeight } from './pack';
import { OnnxType } from './proto';

const u8view = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Concatenate weights along N (outputs) when their packing agrees; undefined otherwise. */
export function concatWeights(parts: readonly PackedWeight[]): PackedWeight | undefined {
  const first = parts[0];
  if (!first) return undefined;
  const K = first.K;
  if (parts.some((p) => p.K !== K || p.kind !== first.kind)) return undefined;
  const N = parts.reduce((s, p) => s + p.N, 0);
  if (first.kind === 'float') {
    const data = new Float32Array(K * N);
    let col = 0;
    for (const p of parts as Extract<PackedWeight, { kind: 'float' }>[]) {
      for (let k = 0; k < K; k++) data.set(p.data.subarray(k * p.N, (k + 1) * p.N), k * N + col);
      col += p.N;
    }
    return { kind: 'float', K, N, data };
  }
  const nb = parts as PackedNBits[];
  const f = nb[0]!;
  if (
    nb.some(
      (p) =>
        p.bits !== f.bits ||
        p.blockSize !== f.blockSize ||
        (p.correction === undefined) !== (f.correction === undefined),
    )
  )
    return undefined;
  const codes = new Uint8Array(nb.reduce((s, p) => s + p.codes.length, 0));
  const scales = new Float32Array(nb.reduce((s, p) => s + p.scales.length, 0));
  let co = 0,
    so = 0;
  for (const p of nb) {
    codes.set(p.codes, co);
    co += p.codes.length;
    scales.set(p.scales, so);
    so += p.scales.length;
  }
  let correction: Float32Array | undefined;
  if (f.correction) {
    const rows = K / 32;
    correction = new Float32Array(rows * N);
    let col = 0;
    for (const p of nb) {
      for (let r = 0; r < rows; r++) correction.set(p.correction!.subarray(r * p.N, (r + 1) * p.N), r * N + col);
      col += p.N;
    }
  }
  return { kind: 'nbits', K, N, bits: f.bits, blockSize: f.blockSize, codes, scales, correction };
}

/** Emits matmuls against packed weights; caches the per-input block sums used by corrections. */
export class MatMulEmitter {
  private readonly blockSums = new Map<string, string>();
  /** Bytes of weight initializers added so far. */
  bytes = 0;

  constructor(
    private readonly g: GraphBuilder,
    private readonly accuracyLevel: number,
  ) {}

  /** y[M, N] = a[M, K] · Wᵀ. `a` must be 2-D. */
  matmul(a: string, w: PackedWeight, name: string): string {
    const g = this.g;
    if (w.kind === 'float') {
      const init = g.f32(`${name}.w`, [w.K, w.N], w.data);
      this.bytes += w.data.byteLength;
      return g.op1('MatMul', [a, init], {}, { name });
    }
    const nb = w.K / w.blockSize;
    const codes = g.initializer(`${name}.q`, OnnxType.UINT8, [w.N, nb, (w.blockSize * w.bits) / 8], w.codes);
    const scales = g.initializer(`${name}.s`, OnnxType.FLOAT, [w.N * nb], u8view(w.scales));
    this.bytes += w.codes.byteLength + w.scales.byteLength;
    const y = g.op1(
      'MatMulNBits',
      [a, codes, scales],
      {
        K: w.K,
        N: w.N,
        bits: w.bits,
        block_size: w.blockSize,
        accuracy_level: this.accuracyLevel,
      },
      { domain: MS_DOMAIN, name },
    );
    if (!w.correction) return y;
    const corr = g.initializer(`${name}.c`, OnnxType.FLOAT, [w.K / 32, w.N], u8view(w.correction));
    this.bytes += w.correction.byteLength;
    // y + BlockSum(a)·C in one Gemm (C input = y, beta = 1).
    return g.op1('Gemm', [this.blockSum(a, w.K), corr, y], {}, { name: `${name}.corr` });
  }

  private blockSum(a: string, K: number): string {
    const hit = this.blockSums.get(a);
    if (hit) return hit;
    const g = this.g;
    const r = g.op1('Reshape', [a, g.i64([0, K / 32, 32])]);
    const s = g.op1('ReduceSum', [r, g.i64([-1])], { keepdims: 0 });
    this.blockSums.set(a, s);
    return s;
  }
}
