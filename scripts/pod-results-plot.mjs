// Draws issue 13's trade-off figure from docs/pod-results/points.json (every measured point with
// its command, session and machine): one panel per model × text × context, x = KV saved vs the
// full f16 cache, y = perplexity rise vs the full cache, the target region (≥ 35% saved, ≤ +3%)
// shaded. Writes docs/pod-results/tradeoff.svg (an SVG made by hand, no dependency; also a PNG
// when Debian's rsvg-convert is installed) and prints the markdown tables of docs/pod-results.md.
// Usage: node scripts/pod-results-plot.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'docs/pod-results');
const { panels } = JSON.parse(readFileSync(join(dir, 'points.json'), 'utf8'));

const KINDS = {
  full: { label: 'full (f16)', color: '#333333' },
  pod: { label: 'PoD, shipped profile', color: '#1b9e77' },
  'pod-int8': { label: 'PoD + int8 distant', color: '#d95f02' },
  'all-int8': { label: 'full, int8 distant rows', color: '#e7298a' },
  streaming: { label: 'streaming (distant dropped)', color: '#7570b3' },
};
const rise = (p, full) => (p / full - 1) * 100;
const saved = (used, full) => (1 - used / full) * 100;

const COLS = 3,
  PW = 360,
  PH = 250,
  M = { l: 60, t: 100, gapX: 70, gapY: 80 };
const rows = Math.ceil(panels.length / COLS);
const W = M.l + COLS * (PW + M.gapX),
  H = M.t + rows * (PH + M.gapY) + 40;
const parts = [`<rect width="${W}" height="${H}" fill="white"/>`];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const text = (x, y, s, o = {}) =>
  parts.push(
    `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="sans-serif" font-size="${o.size ?? 11}" text-anchor="${o.anchor ?? 'start'}" fill="${o.fill ?? '#222'}"${o.rotate ? ` transform="rotate(${o.rotate} ${x} ${y})"` : ''}${o.bold ? ' font-weight="bold"' : ''}>${esc(s)}</text>`,
  );
const line = (x1, y1, x2, y2, stroke = '#999', dash = '') =>
  parts.push(
    `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${stroke}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
  );

text(W / 2, 26, 'PoD on Qwen2.5-Coder: perplexity rise vs KV saved (texts never used for calibration)', {
  anchor: 'middle',
  size: 16,
  bold: true,
});
Object.entries(KINDS).forEach(([, k], i) => {
  parts.push(`<circle cx="${M.l + i * 230 + 6}" cy="52" r="5" fill="${k.color}"/>`);
  text(M.l + i * 230 + 16, 56, k.label);
});

const YMAX = 10; // % rise shown; streaming beyond it is drawn at the top edge with its value
panels.forEach((p, i) => {
  const x0 = M.l + (i % COLS) * (PW + M.gapX),
    y0 = M.t + Math.floor(i / COLS) * (PH + M.gapY);
  const full = p.points.find((q) => q.kind === 'full');
  const X = (s) => x0 + (PW * s) / 100,
    Y = (r) => y0 + PH - (PH * Math.min(r, YMAX)) / YMAX;
  text(x0 + PW / 2, y0 - 10, `${p.model}, ${p.text}, ${p.ctx / 1024}K`, { anchor: 'middle', size: 12, bold: true });
  // target: ≥ 35% saved at ≤ +3% (issue 13)
  parts.push(
    `<rect x="${X(35).toFixed(1)}" y="${Y(3).toFixed(1)}" width="${(X(100) - X(35)).toFixed(1)}" height="${(Y(0) - Y(3)).toFixed(1)}" fill="#e8f5e9"/>`,
  );
  for (let s = 0; s <= 100; s += 20) {
    line(X(s), y0, X(s), y0 + PH, '#eee');
    text(X(s), y0 + PH + 14, `${s}%`, { anchor: 'middle', size: 9 });
  }
  for (let r = 0; r <= YMAX; r += 2) {
    line(x0, Y(r), x0 + PW, Y(r), '#eee');
    text(x0 - 5, Y(r) + 3, `+${r}%`, { anchor: 'end', size: 9 });
  }
  line(x0, y0 + PH, x0 + PW, y0 + PH, '#444');
  line(x0, y0, x0, y0 + PH, '#444');
  text(x0 + PW / 2, y0 + PH + 30, 'KV saved vs full f16', { anchor: 'middle', size: 10 });
  if (!full) return;
  for (const q of p.points) {
    const s = saved(q.kvBytes, full.kvBytes),
      r = rise(q.perplexity, full.perplexity);
    parts.push(`<circle cx="${X(s).toFixed(1)}" cy="${Y(r).toFixed(1)}" r="5" fill="${KINDS[q.kind].color}"/>`);
    if (q.kind !== 'full')
      text(
        X(s) + (s > 80 ? -8 : 8),
        Y(r) + (r > YMAX ? 14 : -6),
        `${s.toFixed(0)}%, +${r.toFixed(2)}%${r > YMAX ? ' (off scale)' : ''}`,
        {
          size: 9,
          anchor: s > 80 ? 'end' : 'start',
        },
      );
  }
});
text(
  M.l,
  H - 14,
  'Shaded: issue 13 target (≥ 35% saved, ≤ +3% perplexity). Data and commands: docs/pod-results/points.json.',
  {
    size: 10,
    fill: '#555',
  },
);
writeFileSync(
  join(dir, 'tradeoff.svg'),
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">\n${parts.join('\n')}\n</svg>\n`,
);
const png = spawnSync('rsvg-convert', ['-o', join(dir, 'tradeoff.png'), join(dir, 'tradeoff.svg')], {
  stdio: 'inherit',
});
if (png.status !== 0)
  console.error('rsvg-convert failed or is missing (apt-get install librsvg2-bin); wrote the SVG only');

// The tables of docs/pod-results.md
const MiB = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
for (const p of panels) {
  const full = p.points.find((q) => q.kind === 'full');
  console.log(`\n**${p.model}, ${p.text}, ${p.ctx / 1024}K** (${p.scored}; ${p.session})\n`);
  console.log('| cache | perplexity | vs full | KV used | saved vs full f16 |\n|---|---|---|---|---|');
  for (const q of p.points)
    console.log(
      `| ${KINDS[q.kind].label} | ${q.perplexity.toFixed(4)} | ${q.kind === 'full' ? '' : `+${rise(q.perplexity, full.perplexity).toFixed(2)}%`} | ${MiB(q.kvBytes)} | ${q.kind === 'full' ? '' : `${saved(q.kvBytes, full.kvBytes).toFixed(1)}%`} |`,
    );
}
