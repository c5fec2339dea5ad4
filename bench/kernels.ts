// `npm run bench -- --kernels`: ONNX Runtime's MatMulNBits in the layouts a GGUF type could be
// packed into, on one weight shape, so the cost of each layout choice in src/engine/onnx/pack.ts
// is a measurement anyone can repeat: 4-bit block 32 with and without the correction Gemm (Q4_K's
// minimums), with uint8 and float zero points (the exact alternative), 8-bit blocks of 32 and 16
// (Q8_0/Q5_0 and Q6_K). Random codes and scales: only the layout matters for the time. Each
// layout is 8 distinct matmuls in one graph (more bytes than the L3 cache, as in a decode step).
// Results: bench/results/kernels-<date>.json and .md.
import { GraphBuilder, MS_DOMAIN } from '../src/engine/onnx/builder';
import { OnnxType } from '../src/engine/onnx/proto';
import { blockSums } from '../src/engine/onnx/weights';
import { HostTensor, OrtSession } from '../src/engine/onnx/runtime';
import * as path from 'node:path';
import { describeMachine, finishMachine, formatMachineHeader } from './machine';
import { parseModeOptions } from './options';
import { RESULTS_DIR, stamp, writeReport } from './output';
import { sleep, SWITCH_PAUSE_MS } from './pool';

const USAGE = `usage: npm run bench -- --kernels [--k K] [--n N] [--m M] [--threads T] [--repeats R]

MatMulNBits (accuracy level 4) per weight layout on a [M, K] × [K, N] matmul, median ms per matmul.

  --k K        inner dimension                      (default 1536, Qwen2.5 1.5B hidden size)
  --n N        output columns                       (default 8960, its FFN size)
  --m M        activation rows (1 = a decode step)  (default 1)
  --threads T  intra-op threads                     (default 2)
  --repeats R  timed runs per layout                (default 30)`;

interface Layout {
  name: string;
  bits: 4 | 8;
  block: 16 | 32;
  extra?: 'correction' | 'u8zp' | 'fzp';
  note: string;
}

const LAYOUTS: readonly Layout[] = [
  { name: '4-bit, block 32', bits: 4, block: 32, note: 'Q4_0' },
  { name: '4-bit, block 32 + correction Gemm', bits: 4, block: 32, extra: 'correction', note: 'Q4_K, Q4_1' },
  { name: '4-bit, block 32, uint8 zero points', bits: 4, block: 32, extra: 'u8zp', note: 'not exact for Q4_K' },
  { name: '4-bit, block 32, float zero points', bits: 4, block: 32, extra: 'fzp', note: 'exact for Q4_K' },
  { name: '8-bit, block 32', bits: 8, block: 32, note: 'Q8_0, Q5_0' },
  { name: '8-bit, block 16', bits: 8, block: 16, note: 'Q6_K' },
  { name: '4-bit, block 16', bits: 4, block: 16, note: '–' },
];
const MATMULS = 8;

const rand = (n: number, f: () => number): Float32Array => Float32Array.from({ length: n }, f);

function buildGraph(l: Layout, M: number, K: number, N: number): Uint8Array {
  const g = new GraphBuilder('kernels');
  const a = g.input('a', OnnxType.FLOAT, [M, K]);
  const nb = K / l.block;
  let acc = '';
  let sums: string | undefined;
  for (let i = 0; i < MATMULS; i++) {
    const codes = Uint8Array.from({ length: (N * K * l.bits) / 8 }, () => Math.floor(Math.random() * 256));
    const inputs = [
      a,
      g.initializer(`q${i}`, OnnxType.UINT8, [N, nb, (l.block * l.bits) / 8], codes),
      g.f32(
        `s${i}`,
        [N * nb],
        rand(N * nb, () => 0.01 + Math.random() * 0.01),
      ),
    ];
    if (l.extra === 'u8zp') {
      const n = N * Math.ceil((nb * l.bits) / 8);
      inputs.push(
        g.initializer(
          `z${i}`,
          OnnxType.UINT8,
          [n],
          Uint8Array.from({ length: n }, () => Math.floor(Math.random() * 256)),
        ),
      );
    } else if (l.extra === 'fzp')
      inputs.push(
        g.f32(
          `z${i}`,
          [N * nb],
          rand(N * nb, () => Math.random() * 15),
        ),
      );
    let y = g.op1(
      'MatMulNBits',
      inputs,
      { K, N, bits: l.bits, block_size: l.block, accuracy_level: 4 },
      { domain: MS_DOMAIN },
    );
    if (l.extra === 'correction') {
      // As weights.ts emits it: y + BlockSum(a)·C, C [K/32, N] f32, the block sums shared by every
      // matmul that reads the same activations.
      sums ??= blockSums(g, a, K);
      y = g.op1('Gemm', [
        sums,
        g.f32(
          `c${i}`,
          [K / 32, N],
          rand((K / 32) * N, () => Math.random() - 0.5),
        ),
        y,
      ]);
    }
    acc = acc ? g.op1('Add', [acc, y]) : y;
  }
  g.op1('Identity', [acc], {}, { output: 'out' });
  g.output('out', OnnxType.FLOAT, [M, N]);
  return g.encode();
}

export async function kernelsMain(argv: readonly string[]): Promise<number> {
  const opt = parseModeOptions(argv, USAGE, ['k', 'n', 'm', 'threads', 'repeats']);
  if (!opt) return 0;
  const K = opt.num('k', 1536),
    N = opt.num('n', 8960),
    M = opt.num('m', 1),
    threads = opt.num('threads', 2),
    repeats = opt.num('repeats', 30);
  if (K % 32) throw new Error('--k must be a multiple of 32');
  const machine = describeMachine();
  console.log(formatMachineHeader(machine));
  const started = new Date();
  const md = [
    `[${M}, ${K}] × [${K}, ${N}], ${MATMULS} distinct matmuls per run, ${threads} threads, median of ${repeats} runs in each of two passes (3 for float zero points)`,
    '',
    '| layout | GGUF types | ms per matmul | × 4-bit block 32 |',
    '|---|---|---:|---:|',
  ];
  const rows: { layout: string; ms: number }[] = [];
  // One session at a time (a session's pool threads spin after its runs and slow another's),
  // warmed up, then timed; two passes, forward and backward, so neither end of the sweep is
  // always timed first or last on this shared VM.
  const feeds: Record<string, HostTensor> = {
    a: { type: 'float32', data: rand(M * K, () => Math.random() - 0.5), dims: [M, K] },
  };
  const times: number[][] = LAYOUTS.map(() => []);
  const order = [...LAYOUTS.keys()];
  for (const pass of [order, [...order].reverse()])
    for (const i of pass) {
      const l = LAYOUTS[i]!;
      const session = await OrtSession.create(buildGraph(l, M, K, N), { threads });
      // Float zero points are two orders of magnitude slower: 3 runs per pass keep the bench short.
      const runs = l.extra === 'fzp' ? Math.min(repeats, 3) : repeats;
      for (let r = 0; r < 5; r++) await session.run(feeds);
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        await session.run(feeds);
        times[i]!.push((performance.now() - t0) / MATMULS);
      }
      await session.release();
      await sleep(SWITCH_PAUSE_MS);
    }
  for (const [i, l] of LAYOUTS.entries()) {
    const t = times[i]!.sort((x, y) => x - y);
    const ms = t[t.length >> 1]!;
    rows.push({ layout: l.name, ms });
    md.push(`| ${l.name} | ${l.note} | ${ms.toFixed(3)} | ${(ms / rows[0]!.ms).toFixed(2)} |`);
    console.log(md.at(-1));
  }
  finishMachine(machine);
  const w = writeReport(
    path.join(RESULTS_DIR, `kernels-${stamp(started)}.json`),
    `MatMulNBits per weight layout — ${started.toISOString()}`,
    machine,
    { shape: { M, K, N }, threads, repeats, rows },
    md.join('\n'),
  );
  console.log(`wrote ${w.json} and ${w.md}`);
  return 0;
}
