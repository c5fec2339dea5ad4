// Draws the PoD calibration profile (src/shared/profile-view.ts) as one heatmap per KV head: a
// layers × layers grid of 1 − JSD₂ similarity of distant-token attention (pod-method.md §6), the
// blocks the δ rule built outlined on the diagonal, and a colour scale with δ marked. Colours mix
// two VS Code theme variables by similarity (CSS color-mix), so light, dark and high-contrast
// themes all work; cells carry `data-info` for the hover readout (main.ts). DOM only.
import { el } from '../common/dom';
import { ProfileView } from '../../src/shared/profile-view';

/** Consecutive-layer blocks of one KV head: [anchor, last layer] (local units, −1, are in none). */
export function headBlocks(p: ProfileView, h: number): [number, number][] {
  const out: [number, number][] = [];
  for (let l = 0; l < p.nLayers; l++) {
    const a = p.anchors[l]?.[h] ?? l;
    if (a < 0) continue;
    const last = out[out.length - 1];
    if (last && last[0] === a) last[1] = l;
    else out.push([a, l]);
  }
  return out;
}

function heatmap(p: ProfileView, h: number): HTMLElement {
  const fig = el('figure', 'heatmap');
  const blocks = headBlocks(p, h);
  fig.append(el('figcaption', '', `KV head ${h} · ${blocks.length} blocks`));
  const grid = el('div', 'hm-grid');
  grid.style.setProperty('--n', String(p.nLayers));
  grid.setAttribute('role', 'img');
  grid.setAttribute(
    'aria-label',
    `KV head ${h}: similarity between every pair of its ${p.nLayers} layers; ${blocks.length} blocks`,
  );
  const m = p.similarity[h] ?? [];
  for (let l = 0; l < p.nLayers; l++) {
    for (let k = 0; k < p.nLayers; k++) {
      const v = m[l]?.[k] ?? 0;
      const c = el('span', 'hm-cell');
      c.style.setProperty('--sim', Math.max(0, Math.min(1, v)).toFixed(3));
      c.dataset.info = `KV head ${h} · layer ${l} ↔ layer ${k}: similarity ${v.toFixed(3)}${v >= p.delta ? ' (≥ δ)' : ''}`;
      grid.append(c);
    }
  }
  for (const [a, b] of blocks) {
    const o = el('span', `hm-block${a === b ? ' single' : ''}`);
    o.style.setProperty('--a', String(a));
    o.style.setProperty('--len', String(b - a + 1));
    grid.append(o);
  }
  fig.append(grid);
  return fig;
}

function scale(delta: number): HTMLElement {
  const box = el('div', 'hm-scale');
  const bar = el('div', 'hm-scale-bar');
  const mark = el('span', 'hm-delta', `δ ${delta}`);
  mark.style.setProperty('--delta', String(delta));
  bar.append(mark);
  box.append(el('span', '', '0'), bar, el('span', '', '1'));
  return box;
}

export function drawProfile(p: ProfileView | null, note?: string): HTMLElement {
  const box = el('section', 'profile-box');
  box.append(el('h2', '', 'Calibration similarity (1 − JSD of distant attention)'));
  if (!p) {
    box.append(
      el(
        'p',
        'muted',
        note ?? 'No PoD profile: run "PodLens: Calibrate Model" to measure which layers can share their attention.',
      ),
    );
    return box;
  }
  const use = p.inUse ? 'in use by the loaded PoD cache' : 'not in use (set podlens.kv.cache to "pod" to use it)';
  box.append(
    el(
      'p',
      'muted',
      `${p.file} — ${p.model}, ${p.texts} calibration text${p.texts === 1 ? '' : 's'}, context ${p.contextSize}, S ${p.sinks}, R ${p.recent}; ${use}. ` +
        `Per KV head, cell (row l, column m; layer 0 at the top left) is how alike layers l and m attend to distant tokens; outlined squares are the blocks of two or more layers ` +
        `(a layer joins its anchor's block while similarity ≥ δ = ${p.delta}, at most ${p.maxBlock} layers): ${(p.nonAnchorShare * 100).toFixed(0)}% of units share an anchor.`,
    ),
  );
  box.append(scale(p.delta));
  const maps = el('div', 'heatmaps');
  for (let h = 0; h < p.nKVHeads; h++) maps.append(heatmap(p, h));
  box.append(maps);
  return box;
}
