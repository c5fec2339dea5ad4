// Draws the PoD report figure from docs/pod-report/results.json (written by pod-report.mjs):
// an SVG made by hand (no dependency), converted to PNG with Debian's rsvg-convert
// (`apt-get install librsvg2-bin`) when it is installed. Four panels: KV bytes, perplexity,
// the 2K trade-off (perplexity vs saving; plain §5 in grey, with the calibrated distant bias in
// colour) and needle accuracy (section 6 of pod-report.mjs: more trials, with the bias).
// Usage: node scripts/pod-report-plot.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'docs/pod-report');
const { runs } = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
const get = (k) => runs[k]?.result;
const CTXS = [2048, 4096, 8192];
const COLORS = {
  full: '#333333',
  'pod-uniform': '#bbbbbb',
  'pod-uniform-bias': '#d95f02',
  'pod-calibrated-bias': '#1b9e77',
  'pod-uniform-bias-int8': '#e7298a',
  streaming: '#7570b3',
};
const LABEL = {
  full: 'full',
  'pod-uniform': 'PoD g=5, plain §5',
  'pod-uniform-bias': 'PoD g=5 + bias',
  'pod-calibrated-bias': 'PoD δ=0.5 + bias',
  'pod-uniform-bias-int8': 'PoD g=5 + bias + int8',
  streaming: 'streaming',
};
const W = 1200,
  H = 860;
const parts = [];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const text = (x, y, s, o = {}) =>
  parts.push(
    `<text x="${x}" y="${y}" font-size="${o.size ?? 12}" text-anchor="${o.anchor ?? 'start'}" fill="${o.fill ?? '#222'}"${o.rotate ? ` transform="rotate(${o.rotate} ${x} ${y})"` : ''}${o.bold ? ' font-weight="bold"' : ''}>${esc(s)}</text>`,
  );
const rect = (x, y, w, h, fill) =>
  parts.push(
    `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0, w).toFixed(1)}" height="${Math.max(0, h).toFixed(1)}" fill="${fill}"/>`,
  );
const line = (x1, y1, x2, y2, stroke = '#999', dash = '') =>
  parts.push(
    `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${stroke}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
  );

/** 1, 2 or 5 × a power of ten, at least x. */
function niceStep(x) {
  const p = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= x);
}

/** Grouped bars: groups = ctx, series = kinds; value(kind, ctx) or undefined. */
function bars(x0, y0, w, h, title, kinds, value, { log = false, max, fmt = (v) => v.toFixed(0), ylabel = '' } = {}) {
  text(x0 + w / 2, y0 - 12, title, { anchor: 'middle', size: 14, bold: true });
  const vals = CTXS.flatMap((c) => kinds.map((k) => value(k, c))).filter((v) => v !== undefined);
  const step = niceStep((max ?? Math.max(...vals) * 1.15) / 4);
  const top = max ?? Math.ceil((Math.max(...vals) * 1.15) / step) * step;
  const lo = log ? Math.min(...vals) / 1.5 : 0;
  const yOf = (v) => (log ? y0 + h - (h * Math.log(v / lo)) / Math.log(top / lo) : y0 + h - (h * v) / top);
  line(x0, y0 + h, x0 + w, y0 + h, '#444');
  line(x0, y0, x0, y0 + h, '#444');
  const ticks = log
    ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].filter((t) => t >= lo && t <= top)
    : Array.from({ length: Math.floor(top / step) + 1 }, (_, i) => i * step);
  for (const t of ticks) {
    line(x0 - 4, yOf(t), x0 + w, yOf(t), '#e5e5e5');
    text(x0 - 6, yOf(t) + 4, log ? String(t) : fmt(t), { anchor: 'end', size: 10 });
  }
  if (ylabel) text(x0 - 42, y0 + h / 2, ylabel, { anchor: 'middle', rotate: -90, size: 11 });
  const gw = w / CTXS.length,
    bw = (gw * 0.8) / kinds.length;
  CTXS.forEach((c, g) => {
    text(x0 + gw * (g + 0.5), y0 + h + 16, `${c / 1024}K context`, { anchor: 'middle', size: 11 });
    kinds.forEach((k, i) => {
      const v = value(k, c);
      const x = x0 + gw * g + gw * 0.1 + bw * i;
      if (v === undefined) {
        text(x + bw / 2, y0 + h - 4, 'n/a', { anchor: 'middle', size: 8, fill: '#999' });
        return;
      }
      const y = yOf(Math.max(v, log ? lo : 0));
      rect(x + 1, y, bw - 2, y0 + h - y, COLORS[k]);
      text(x + bw / 2, y - 3, fmt(v), { anchor: 'middle', size: 9 });
    });
  });
}

function legend(x, y, kinds) {
  kinds.forEach((k, i) => {
    rect(x + i * 175, y - 10, 12, 12, COLORS[k]);
    text(x + i * 175 + 16, y, LABEL[k], { size: 11 });
  });
}

parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
text(W / 2, 26, 'PoD KV cache on SmolLM2-135M-Instruct (Q4_1, f16 K/V, scores mode, window W = max(256, ctx/8))', {
  anchor: 'middle',
  size: 16,
  bold: true,
});
const ALL = ['full', 'pod-uniform', 'pod-uniform-bias', 'pod-calibrated-bias', 'pod-uniform-bias-int8', 'streaming'];
legend(70, 56, ALL);
const MB = (b) => b / 2 ** 20;
bars(
  90,
  100,
  480,
  260,
  'KV cache at a full context (MB, used)',
  ['full', 'pod-uniform-bias', 'pod-calibrated-bias', 'pod-uniform-bias-int8', 'streaming'],
  (k, c) => {
    const r = get(`eval ${c} ${k}`);
    return r && MB(r.kv.usedBytes);
  },
  { fmt: (v) => v.toFixed(0), ylabel: 'MB' },
);
bars(
  680,
  100,
  480,
  260,
  `Perplexity, ${'tar/README.md'} (log scale)`,
  ['full', 'pod-uniform', 'pod-uniform-bias', 'pod-calibrated-bias', 'streaming'],
  (k, c) => get(`eval ${c} ${k}`)?.perplexity,
  { log: true, fmt: (v) => v.toFixed(1), ylabel: 'perplexity' },
);

// trade-off at 2K: x = saved %, y = perplexity / full perplexity
{
  const x0 = 90,
    y0 = 470,
    w = 480,
    h = 300;
  text(x0 + w / 2, y0 - 12, 'Trade-off at 2K: perplexity vs KV saved (two texts)', {
    anchor: 'middle',
    size: 14,
    bold: true,
  });
  const pts = [];
  for (const [key, run] of Object.entries(runs)) {
    const m =
      /^(?:bias )?sweep 2048 (\S+) (.+)$/.exec(key) ??
      /^eval 2048 (pod-uniform|pod-calibrated|streaming|full)$/.exec(key);
    if (!m) continue;
    const textName = key.startsWith('eval') ? 'tar' : m[1];
    const name = key.startsWith('eval') ? m[1] : key.startsWith('bias') ? `${m[2]}+b` : m[2];
    const full = textName === 'tar' ? get('eval 2048 full') : get(`sweep 2048 ${textName} full`);
    if (!full || name === 'full' || name === 'pod-uniform-int8') continue;
    pts.push({ textName, name, x: run.result.kv.savedFraction * 100, y: run.result.perplexity / full.perplexity });
  }
  // Plain-§5 points far above (up to ×37) are drawn as ▲ on the top edge, so the region that matters stays readable.
  const ymax = 2.5;
  const xOf = (v) => x0 + (w * v) / 100,
    yOf = (v) => y0 + h - (h * Math.log(v)) / Math.log(ymax);
  line(x0, y0 + h, x0 + w, y0 + h, '#444');
  line(x0, y0, x0, y0 + h, '#444');
  for (const t of [0, 20, 40, 60, 80, 100]) {
    line(xOf(t), y0 + h, xOf(t), y0 + h + 4, '#444');
    text(xOf(t), y0 + h + 16, `${t}%`, { anchor: 'middle', size: 10 });
  }
  for (const t of [1, 1.1, 1.25, 1.5, 2, 2.5].filter((t) => t <= ymax)) {
    line(x0, yOf(t), x0 + w, yOf(t), '#e5e5e5');
    text(x0 - 6, yOf(t) + 4, `×${t}`, { anchor: 'end', size: 10 });
  }
  line(xOf(35), y0, xOf(35), y0 + h, '#1b9e77', '4 3');
  line(x0, yOf(1.03), x0 + w, yOf(1.03), '#1b9e77', '4 3');
  text(xOf(35) + 4, y0 + h - 8, 'target: ≥35% saved and ≤ ×1.03 (bottom right)', { size: 10, fill: '#1b9e77' });
  text(x0 + w / 2, y0 + h + 32, 'KV bytes saved vs full cache (2K context)', { anchor: 'middle', size: 11 });
  text(x0 - 42, y0 + h / 2, 'perplexity / full', { anchor: 'middle', rotate: -90, size: 11 });
  for (const p of pts) {
    const col =
      p.name === 'streaming'
        ? COLORS.streaming
        : !p.name.endsWith('+b')
          ? COLORS['pod-uniform']
          : p.name.startsWith('d')
            ? COLORS['pod-calibrated-bias']
            : COLORS['pod-uniform-bias'];
    const cx = xOf(p.x),
      cy = yOf(Math.min(ymax, Math.max(1, p.y)));
    if (p.y > ymax) {
      parts.push(`<path d="M${cx - 5} ${cy + 4} L${cx + 5} ${cy + 4} L${cx} ${cy - 5} Z" fill="${col}"/>`);
      continue;
    }
    parts.push(
      p.textName === 'tar'
        ? `<circle cx="${cx}" cy="${cy}" r="5" fill="${col}"/>`
        : `<rect x="${cx - 4}" y="${cy - 4}" width="8" height="8" fill="none" stroke="${col}" stroke-width="2"/>`,
    );
    if (p.textName === 'tar' && (p.name.endsWith('+b') || p.name === 'streaming'))
      text(cx + 7, cy - 5, p.name.replace('pod-', ''), { size: 9, fill: '#555' });
  }
  text(x0 + w - 4, y0 + 30, '● tar README (labelled)   □ DOMPurify   grey: plain §5, ▲ off the chart', {
    anchor: 'end',
    size: 10,
    fill: '#555',
  });
}
bars(
  680,
  470,
  480,
  300,
  'Needle-in-a-haystack accuracy (%)',
  ['full', 'pod-uniform-bias', 'pod-calibrated-bias', 'streaming'],
  (k, c) => {
    const r = get(`needle2 ${c} ${k}`);
    return r && r.accuracy * 100;
  },
  { max: 100, fmt: (v) => v.toFixed(0), ylabel: '% correct' },
);

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, sans-serif">\n${parts.join('\n')}\n</svg>\n`;
writeFileSync(join(dir, 'pod-report.svg'), svg);
const r = spawnSync('rsvg-convert', ['-o', join(dir, 'pod-report.png'), join(dir, 'pod-report.svg')], {
  stdio: 'inherit',
});
if (r.error || r.status !== 0)
  console.error('rsvg-convert failed or is missing (apt-get install librsvg2-bin); wrote the SVG only');
else console.log('wrote docs/pod-report/pod-report.svg and .png');

// Markdown tables for docs/pod-report.md (printed; pasted by hand with the reading around them).
const mb = (r) => (r ? `${MB(r.kv.usedBytes).toFixed(1)} MB` : 'n/a');
const pct = (r) => (r ? `${(r.kv.savedFraction * 100).toFixed(1)}%` : 'n/a');
const ppl = (r, base) =>
  r
    ? `${r.perplexity.toFixed(2)}${base && r !== base ? ` (${r.perplexity >= base.perplexity ? '+' : ''}${((r.perplexity / base.perplexity - 1) * 100).toFixed(0)}%)` : ''}`
    : 'n/a';
const acc = (r) =>
  r ? `${(r.accuracy * 100).toFixed(0)}% (${r.trials.filter((t) => t.correct).length}/${r.trials.length})` : 'n/a';
const K = ['pod-uniform-bias', 'pod-calibrated-bias', 'pod-uniform-bias-int8'];
const rows = [
  '| context | KV full | PoD g=5 (+ bias: same bytes) | PoD δ=0.5 + bias | PoD g=5 + int8 | streaming |',
  '|---|---|---|---|---|---|',
  ...CTXS.map((c) => {
    const e = (k) => get(`eval ${c} ${k}`);
    return `| ${c} | ${mb(e('full'))} | ${mb(e(K[0]))} (${pct(e(K[0]))}) | ${mb(e(K[1]))} (${pct(e(K[1]))}) | ${mb(e(K[2]))} (${pct(e(K[2]))}) | ${mb(e('streaming'))} (${pct(e('streaming'))}) |`;
  }),
  '',
  '| context | ppl full | PoD g=5 plain §5 | PoD g=5 + bias | PoD δ=0.5 + bias | PoD g=5 + bias + int8 | streaming |',
  '|---|---|---|---|---|---|---|',
  ...CTXS.map((c) => {
    const e = (k) => get(`eval ${c} ${k}`);
    const f = e('full');
    return `| ${c} | ${ppl(f)} | ${ppl(e('pod-uniform'), f)} | ${ppl(e(K[0]), f)} | ${ppl(e(K[1]), f)} | ${ppl(e(K[2]), f)} | ${ppl(e('streaming'), f)} |`;
  }),
  '',
  '| context | needle full | PoD g=5 + bias | PoD δ=0.5 + bias | streaming |',
  '|---|---|---|---|---|',
  ...CTXS.map((c) => {
    const n = (k) => get(`needle2 ${c} ${k}`);
    return `| ${c} | ${acc(n('full'))} | ${acc(n(K[0]))} | ${acc(n(K[1]))} | ${acc(n('streaming'))} |`;
  }),
  '',
  '| 2K, with bias | ρ (non-anchor) | KV saved | ppl tar (vs full) | ppl DOMPurify (vs full) |',
  '|---|---|---|---|---|',
  ...['g2', 'g3', 'g5', 'd0.3-b6', 'd0.5-b6'].map((b) => {
    const a = get(`bias sweep 2048 tar ${b}`),
      d = get(`bias sweep 2048 dompurify ${b}`);
    return `| ${b} | ${a?.kv.nonAnchorShare?.toFixed(2) ?? '–'} | ${pct(a)} | ${ppl(a, get('eval 2048 full'))} | ${ppl(d, get('sweep 2048 dompurify full'))} |`;
  }),
  '',
  '| 2K sweep point, plain §5 (session 1) | ρ (non-anchor) | R | KV saved | ppl tar (vs full) | ppl DOMPurify (vs full) |',
  '|---|---|---|---|---|---|',
];
const sweepNames = [
  ...new Set(
    Object.keys(runs)
      .filter((k) => k.startsWith('sweep 2048 '))
      .map((k) => k.split(' ').slice(3).join(' ')),
  ),
];
for (const name of sweepNames) {
  if (name === 'full') continue;
  const a =
    get(`sweep 2048 tar ${name}`) ??
    (name === 'streaming' || name === 'pod-calibrated'
      ? get(`eval 2048 ${name}`)
      : name === 'g5'
        ? get('eval 2048 pod-uniform')
        : undefined);
  const b = get(`sweep 2048 dompurify ${name}`);
  const r = a ?? b;
  rows.push(
    `| ${name} | ${r?.kv.nonAnchorShare?.toFixed(2) ?? '–'} | ${r?.kv.recent ?? '–'} | ${pct(r)} | ${ppl(a, get('eval 2048 full'))} | ${ppl(b, get('sweep 2048 dompurify full'))} |`,
  );
}
for (const g of [2, 3]) {
  const r = get(`sweep 8192 tar g${g}`);
  if (r)
    rows.push(
      `| 8K: g${g} | ${r.kv.nonAnchorShare.toFixed(2)} | ${r.kv.recent} | ${pct(r)} | ${ppl(r, get('eval 8192 full'))} | – |`,
    );
}
writeFileSync(join(dir, 'tables.md'), rows.join('\n') + '\n');
console.log(rows.join('\n'));
