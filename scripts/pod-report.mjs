// Runs the PoD report measurements (issue 3 item 6) on SmolLM2-135M-Instruct and appends every
// result to docs/pod-report/results.json (resumable: a measurement already there is skipped).
// Everything goes through the CLI (`podlens calibrate|eval|needle --json`), so the report's
// commands are exactly these. Plot: scripts/pod-report-plot.mjs. Takes ~1 h on 2 cores.
// Usage: npm run compile && node scripts/pod-report.mjs [--only 2048,4096] [--cli path/to/cli.js]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const OUT = join(root, 'docs/pod-report');
const RESULTS = join(OUT, 'results.json');
const MODEL = 'models/SmolLM2-135M-Instruct.Q4_1.gguf';
/** Calibration texts (never scored): long READMEs of pinned dependencies. */
export const CALIBRATION = [
  'node_modules/ajv/README.md',
  'node_modules/simple-git/readme.md',
  'node_modules/commander/Readme.md',
];
/** Perplexity texts (not in the calibration set): the main one and a second for the trade-off sweep. */
export const EVAL_TEXT = 'node_modules/tar/README.md';
export const EVAL_TEXT_2 = 'node_modules/dompurify/README.md';
/** Needle haystack (the needle command's default; in neither set above). */
export const HAYSTACK = 'node_modules/typescript/ThirdPartyNoticeText.txt';
const CTXS = [2048, 4096, 8192];
/** The CLI to run (default the launcher; a copy of dist/cli.js keeps a long run independent of rebuilds). */
const CLI = process.argv.includes('--cli') ? process.argv[process.argv.indexOf('--cli') + 1] : 'bin/podlens.js';

const only = process.argv.includes('--only')
  ? process.argv[process.argv.indexOf('--only') + 1].split(',').map(Number)
  : CTXS;
mkdirSync(OUT, { recursive: true });
const results = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : { machine: {}, runs: {} };

function podlens(key, args) {
  if (results.runs[key]) return results.runs[key].result;
  const cmd = [CLI, ...args, '--json'];
  const t0 = Date.now();
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${key}: podlens ${args.join(' ')}\n`);
  const out = execFileSync(process.execPath, cmd, {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  const result = JSON.parse(out.trim().split('\n').pop());
  results.runs[key] = { command: `podlens ${args.join(' ')}`, seconds: (Date.now() - t0) / 1000, result };
  writeFileSync(RESULTS, JSON.stringify(results, null, 1) + '\n');
  return result;
}

/** Calibration at 8K costs ~15 min on 2 cores; the 8K runs use the 4K profile's blocks with the 8K window (R = 1008). */
const CAL_CTX = (ctx) => Math.min(ctx, 4096);
const profile = (ctx, delta = 0.5, maxBlock = 6) =>
  join(
    'docs/pod-report',
    `profile-${CAL_CTX(ctx)}${delta === 0.5 && maxBlock === 6 ? '' : `-d${delta}-b${maxBlock}`}.json`,
  );
function calibrate(ctx, delta = 0.5, maxBlock = 6) {
  const p = profile(ctx, delta, maxBlock);
  podlens(`calibrate ${ctx} δ${delta} b${maxBlock}`, [
    'calibrate',
    '--model',
    MODEL,
    '--texts',
    CALIBRATION.join(','),
    '--ctx',
    String(ctx),
    '--delta',
    String(delta),
    '--max-block',
    String(maxBlock),
    '--out',
    p,
  ]);
  return p;
}

const M = ['--model', MODEL];
const KINDS = (ctx) => ({
  full: ['--kv', 'full'],
  'pod-uniform': ['--kv', 'pod'],
  'pod-calibrated': ['--kv', 'pod', '--profile', profile(ctx), '--recent', String(Math.max(256, ctx / 8) - 16)],
  streaming: ['--kv', 'streaming'],
  'pod-uniform-int8': ['--kv', 'pod', '--kv-quant', 'int8'],
});

results.machine = {
  cpus: (await import('node:os')).cpus()[0]?.model,
  cores: (await import('node:os')).availableParallelism(),
  node: process.version,
  threads: 2,
  date: new Date().toISOString().slice(0, 10),
};

// 1. profiles, 2. perplexity + bytes, 3. needle at 2K/4K
for (const ctx of new Set(only.map(CAL_CTX))) calibrate(ctx);
for (const ctx of only)
  for (const [k, a] of Object.entries(KINDS(ctx)))
    podlens(`eval ${ctx} ${k}`, ['eval', ...M, '--text', EVAL_TEXT, '--ctx', String(ctx), ...a]);
const NEEDLE_KINDS = ['full', 'pod-calibrated', 'streaming', 'pod-uniform'];
const needle = (ctx, trials, kinds = NEEDLE_KINDS, depths = '0.1,0.3,0.5,0.7') => {
  for (const k of kinds)
    podlens(`needle ${ctx} ${k}`, [
      'needle',
      ...M,
      '--ctx',
      String(ctx),
      '--trials',
      String(trials),
      '--depths',
      depths,
      ...KINDS(ctx)[k],
    ]);
};
if (only.includes(2048)) needle(2048, 2);
if (only.includes(4096)) needle(4096, 1, ['full', 'pod-calibrated', 'streaming']);
// 4. trade-off at 2K on two texts: block size, window, δ and block cap
if (only.includes(2048)) {
  const ctx = 2048;
  const pts = [
    ...[2, 3, 5, 10].map((g) => [`g${g}`, ['--kv', 'pod', '--group-size', String(g)]]), // g5 = the default (eval 2048 pod-uniform on tar)
    ...[496, 1008].map((r) => [`g5 R${r}`, ['--kv', 'pod', '--recent', String(r)]]),
    ...[
      [0.3, 6],
      [0.5, 30],
      [0.7, 6],
    ].map(([d, b]) => [`δ${d} b${b}`, ['--kv', 'pod', '--profile', calibrate(ctx, d, b)]]),
    ['g5 keys', ['--kv', 'pod', '--share-mode', 'keys']],
    ['δ0.5 b6 keys', ['--kv', 'pod', '--profile', profile(ctx), '--share-mode', 'keys']],
    ['δ0.5 b6 R1008', ['--kv', 'pod', '--profile', profile(ctx), '--recent', '1008']],
  ];
  for (const text of [EVAL_TEXT, EVAL_TEXT_2])
    for (const [name, a] of pts)
      if (!(text === EVAL_TEXT && name === 'g5'))
        podlens(`sweep ${ctx} ${text.split('/')[1]} ${name}`, [
          'eval',
          ...M,
          '--text',
          text,
          '--ctx',
          String(ctx),
          ...a,
        ]);
  for (const text of [EVAL_TEXT_2])
    for (const k of ['full', 'streaming', 'pod-calibrated'])
      podlens(`sweep ${ctx} ${text.split('/')[1]} ${k}`, [
        'eval',
        ...M,
        '--text',
        text,
        '--ctx',
        String(ctx),
        ...KINDS(ctx)[k],
      ]);
}
// 5. needle at 8K: two depths (a PoD trial at 8K takes ~4 min on 2 busy cores)
if (only.includes(8192)) needle(8192, 1, ['full', 'streaming', 'pod-calibrated'], '0.1,0.5');
if (only.includes(8192))
  for (const g of [3])
    podlens(`sweep 8192 tar g${g}`, [
      'eval',
      ...M,
      '--text',
      EVAL_TEXT,
      '--ctx',
      '8192',
      '--kv',
      'pod',
      '--group-size',
      String(g),
    ]);

// 6. The calibrated distant bias (profile schema 2): one measurement per context at that context
// with uniform blocks (calibrate --group-size 5), the δ = 0.5 blocks re-derived from the same
// measurement (calibrate --from: no model run). Perplexity, bytes and needles with the bias.
const biasProfile = (ctx, blocks) => join('docs/pod-report', `bias-${ctx}-${blocks}.json`);
function calibrateBias(ctx) {
  const g5 = biasProfile(ctx, 'g5');
  podlens(`calibrate ${ctx} g5 bias`, [
    'calibrate',
    ...M,
    '--texts',
    CALIBRATION.join(','),
    '--ctx',
    String(ctx),
    '--group-size',
    '5',
    '--out',
    g5,
  ]);
  for (const [name, extra] of [
    ['d0.5-b6', ['--delta', '0.5', '--max-block', '6']],
    ['g3', ['--group-size', '3']],
    ['g2', ['--group-size', '2']],
    ['d0.3-b6', ['--delta', '0.3', '--max-block', '6']],
  ]) {
    podlens(`reblock ${ctx} ${name}`, ['calibrate', ...M, '--from', g5, ...extra, '--out', biasProfile(ctx, name)]);
  }
}
const BIAS_KINDS = (ctx) => ({
  'pod-uniform-bias': ['--kv', 'pod', '--profile', biasProfile(ctx, 'g5')],
  'pod-calibrated-bias': ['--kv', 'pod', '--profile', biasProfile(ctx, 'd0.5-b6')],
  'pod-uniform-bias-int8': ['--kv', 'pod', '--profile', biasProfile(ctx, 'g5'), '--kv-quant', 'int8'],
});
for (const ctx of only) {
  calibrateBias(ctx);
  for (const [k, a] of Object.entries(BIAS_KINDS(ctx)))
    podlens(`eval ${ctx} ${k}`, ['eval', ...M, '--text', EVAL_TEXT, '--ctx', String(ctx), ...a]);
}
// needles with more trials than section 3: 2K 4 per depth, 4K 2 (four depths each); 8K 2 per
// depth at 0.5 and 0.7 (the full model itself misses needles ~7K tokens back, depth 0.1)
const NEEDLE2 = { 2048: 4, 4096: 2, 8192: 2 };
const NEEDLE2_DEPTHS = { 2048: '0.1,0.3,0.5,0.7', 4096: '0.1,0.3,0.5,0.7', 8192: '0.5,0.7' };
for (const ctx of only) {
  const kinds = {
    full: KINDS(ctx).full,
    streaming: KINDS(ctx).streaming,
    'pod-uniform-bias': BIAS_KINDS(ctx)['pod-uniform-bias'],
    'pod-calibrated-bias': BIAS_KINDS(ctx)['pod-calibrated-bias'],
  };
  for (const [k, a] of Object.entries(kinds))
    podlens(`needle2 ${ctx} ${k}`, [
      'needle',
      ...M,
      '--ctx',
      String(ctx),
      '--trials',
      String(NEEDLE2[ctx]),
      '--depths',
      NEEDLE2_DEPTHS[ctx],
      ...a,
    ]);
}
// trade-off with the bias at 2K on both texts: block size and δ from the 2K measurement
if (only.includes(2048)) {
  for (const text of [EVAL_TEXT, EVAL_TEXT_2]) {
    for (const b of ['g2', 'g3', 'g5', 'd0.3-b6', 'd0.5-b6'])
      podlens(`bias sweep 2048 ${text.split('/')[1]} ${b}`, [
        'eval',
        ...M,
        '--text',
        text,
        '--ctx',
        '2048',
        '--kv',
        'pod',
        '--profile',
        biasProfile(2048, b),
      ]);
  }
}
process.stderr.write('done\n');
