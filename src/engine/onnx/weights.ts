// Adds GGUF weights to a graph as initializers and emits the matching MatMul nodes (MatMulNBits
// for quantized types, MatMul for float types, plus the block-sum correction for types with
// per-block minimums — see pack.ts). Also fuses weights that share an input (Q/K/V, gate/up) into
// one matrix so decode runs one kernel instead of two or three. A weight is packed a range of
// output rows at a time (WeightRows) and its codes go to the graph's sink piece by piece, so a
// build never holds a whole tensor's raw and packed bytes at once (the lm_head of a 150K-token
// vocabulary is ~300 MB of both, which a first load otherwise kept until the next GC).
import { TensorInfo } from '../gguf/types';
import { GraphBuilder, MS_DOMAIN } from './builder';
import { PackedNBits, PackedWeight, PackLayout, packLayout, packWeight } from './pack';
import { OnnxType } from './proto';

const u8view = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Raw bytes read per packed piece of a weight (a few rows of the lm_head, whole small weights). */
export const PIECE_BYTES = 8 * 2 ** 20;

/** A 2-D weight [K in, N out] packed on demand, output rows [from, to) at a time. */
export interface WeightRows {
  readonly name: string;
  readonly K: number;
  readonly N: number;
  /** How every row range is packed. */
  readonly layout: PackLayout;
  /** Source bytes per output row (sizes the pieces). */
  readonly rowBytes: number;
  rows(from: number, to: number): PackedWeight;
}

/** A GGUF tensor as WeightRows; `read(start, length)` reads bytes of its data (GGUF rows are contiguous). */
export function tensorRows(info: TensorInfo, read: (start: number, length: number) => Uint8Array): WeightRows {
  if (info.dims.length !== 2) throw new Error(`${info.name}: expected a 2-D weight, got [${info.dims.join(', ')}]`);
  const [K, N] = info.dims as [number, number];
  const rowBytes = info.nBytes / N;
  return {
    name: info.name,
    K,
    N,
    layout: packLayout(info.type),
    rowBytes,
    rows: (from, to) => {
      const n = to - from;
      const part: TensorInfo = { ...info, dims: [K, n], nElements: K * n, nBytes: rowBytes * n };
      return packWeight(part, read(from * rowBytes, n * rowBytes));
    },
  };
}

const sameLayout = (a: PackLayout, b: PackLayout): boolean =>
  a.kind === b.kind &&
  (a.kind === 'float' ||
    (b.kind === 'nbits' && a.bits === b.bits && a.blockSize === b.blockSize && a.correction === b.correction));

/** Weights stacked along N (outputs) when their packing agrees; undefined otherwise. */
export function concatRows(parts: readonly WeightRows[]): WeightRows | undefined {
  const f = parts[0];
  if (!f || parts.some((p) => p.K !== f.K || !sameLayout(p.layout, f.layout))) return undefined;
  return {
    name: parts.map((p) => p.name).join('+'),
    K: f.K,
    N: parts.reduce((s, p) => s + p.N, 0),
    layout: f.layout,
    rowBytes: Math.max(...parts.map((p) => p.rowBytes)),
    rows: (from, to) => {
      const got: PackedWeight[] = [];
      let base = 0;
      for (const p of parts) {
        const a = Math.max(from, base),
          b = Math.min(to, base + p.N);
        if (a < b) got.push(p.rows(a - base, b - base));
        base += p.N;
      }
      return got.length === 1 ? got[0]! : joinRows(got);
    },
  };
}

/** Copy `src` [rows, n] into columns [col, col + n) of `dst` [rows, N] (row-major, rows = src.length / n). */
function setColumns(dst: Float32Array, N: number, src: Float32Array, n: number, col: number): void {
  for (let r = 0; r < src.length / n; r++) dst.set(src.subarray(r * n, (r + 1) * n), r * N + col);
}

/** Packed pieces of one layout joined along N. */
function joinRows(parts: readonly PackedWeight[]): PackedWeight {
  const first = parts[0]!;
  const K = first.K;
  const N = parts.reduce((s, p) => s + p.N, 0);
  if (first.kind === 'float') {
    const data = new Float32Array(K * N);
    let col = 0;
    for (const p of parts as Extract<PackedWeight, { kind: 'float' }>[]) {
      setColumns(data, N, p.data, p.N, col);
      col += p.N;
    }
    return { kind: 'float', K, N, data };
  }
  const nb = parts as PackedNBits[];
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
  if (first.correction) {
    correction = new Float32Array((K / 32) * N);
    let col = 0;
    for (const p of nb) {
      setColumns(correction, N, p.correction!, p.N, col);
      col += p.N;
    }
  }
  return { kind: 'nbits', K, N, bits: first.bits, blockSize: first.blockSize, codes, scales, correction };
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

  /**
   * y[M, N] = a[M, K] · Wᵀ. `a` must be 2-D. The weight is packed only if the graph's sink reads
   * its pieces (a sink that finds the weights already converted reads none).
   */
  matmul(a: string, w: WeightRows, name: string): string {
    const g = this.g;
    const l = w.layout;
    const { K, N } = w;
    if (l.kind === 'float') {
      const data = function* (): Generator<Uint8Array> {
        const p = w.rows(0, N);
        if (p.kind !== 'float') throw new Error(`${w.name}: packed as ${p.kind}, its layout says float`);
        yield u8view(p.data);
      };
      this.bytes += K * N * 4;
      return g.op1('MatMul', [a, g.weight(`${name}.w`, OnnxType.FLOAT, [K, N], data(), K * N * 4)], {}, { name });
    }
    const { bits, blockSize } = l;
    const nb = K / blockSize;
    const rowCodes = (nb * blockSize * bits) / 8;
    const nCorr = l.correction ? (K / 32) * N : 0;
    // The codes go out piece by piece; each piece's scales and corrections are gathered as they
    // come and go out after them (a sink consumes one weight's pieces before the next weight).
    let scales: Float32Array | undefined;
    let correction: Float32Array | undefined;
    function* codes(): Generator<Uint8Array> {
      scales = new Float32Array(N * nb);
      correction = nCorr ? new Float32Array(nCorr) : undefined;
      const step = Math.max(1, Math.floor(PIECE_BYTES / w.rowBytes));
      for (let r = 0; r < N; r += step) {
        const n = Math.min(step, N - r);
        const p = w.rows(r, r + n);
        if (
          p.kind !== 'nbits' ||
          p.bits !== bits ||
          p.blockSize !== blockSize ||
          (p.correction !== undefined) !== (correction !== undefined)
        )
          throw new Error(`${w.name}: rows ${r}–${r + n - 1} packed unlike the weight's layout`);
        scales.set(p.scales, r * nb);
        if (correction) setColumns(correction, N, p.correction!, n, r);
        yield p.codes;
      }
    }
    const after = (which: string, get: () => Float32Array | undefined) =>
      (function* (): Generator<Uint8Array> {
        const v = get();
        if (!v) throw new Error(`${w.name}: ${which} read before the codes`);
        yield u8view(v);
      })();
    const q = g.weight(`${name}.q`, OnnxType.UINT8, [N, nb, rowCodes / nb], codes(), N * rowCodes);
    const s = g.weight(
      `${name}.s`,
      OnnxType.FLOAT,
      [N * nb],
      after('scales', () => scales),
      N * nb * 4,
    );
    this.bytes += N * rowCodes + N * nb * 4 + nCorr * 4;
    const y = g.op1(
      'MatMulNBits',
      [a, q, s],
      {
        K,
        N,
        bits,
        block_size: blockSize,
        accuracy_level: this.accuracyLevel,
      },
      { domain: MS_DOMAIN, name },
    );
    if (!nCorr) return y;
    const corr = g.weight(
      `${name}.c`,
      OnnxType.FLOAT,
      [K / 32, N],
      after('corrections', () => correction),
      nCorr * 4,
    );
    // y + BlockSum(a)·C in one Gemm (C input = y, beta = 1).
    return g.op1('Gemm', [this.blockSum(a, K), corr, y], {}, { name: `${name}.corr` });
  }

  private blockSum(a: string, K: number): string {
    const hit = this.blockSums.get(a);
    if (hit) return hit;
    const s = blockSums(this.g, a, K);
    this.blockSums.set(a, s);
    return s;
  }
}

/** BlockSum(a) [M, K/32]: the sums of each 32-wide block of a [M, K], which a correction matrix multiplies. */
export function blockSums(g: GraphBuilder, a: string, K: number): string {
  return g.op1('ReduceSum', [g.op1('Reshape', [a, g.i64([0, K / 32, 32])]), g.i64([-1])], { keepdims: 0 });
}
