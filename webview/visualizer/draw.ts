// Draws one CacheView (src/shared/cache-view.ts) as DOM: summary tiles (tokens, bytes used, the
// automatic context's memory budget when there is one, allocated / full-cache equivalent, % saved),
// the token ranges (sink / distant / recent for a PoD cache; one range for the full cache), and a
// layers × KV-heads grid whose rows also carry the layer's KV bytes against a full cache. Cells
// are coloured by block with anchors marked; the full cache has no blocks, so every cell is its
// own and drawn in one colour. With a calibration profile of the same shape, each cell's hover
// text (`data-info`, shown by main.ts, and its title) gives its similarity to its block's anchor
// (for the full cache: to the anchor the profile would give it). Colours come from the VS Code
// theme (CSS variables) except the per-block hues.
import { el } from '../common/dom';
import { CacheView, GridCell, LayerBar } from '../../src/shared/cache-view';
import { anchorSimilarity, ProfileView } from '../../src/shared/profile-view';
import { LoadChoice } from '../../src/shared/protocol';
import { bytes, percent } from '../common/format';

/** Distinct hues for neighbouring blocks (golden-angle spacing). */
export const blockHue = (block: number): number => Math.round((block * 137.508) % 360);

function tile(label: string, value: string, hint?: string): HTMLElement {
  const t = el('div', 'tile');
  t.append(el('div', 'value', value), el('div', 'label', label));
  if (hint) t.title = hint;
  return t;
}

/** The cell's title: what the unit keeps, then the bytes it holds (when the snapshot counts them per head). */
function cellTitle(c: GridCell, p: ProfileView | null): string {
  return unitTitle(c, p) + (c.bytes === null ? '' : ` · holds ${bytes(c.bytes)}`);
}

function unitTitle(c: GridCell, p: ProfileView | null): string {
  const base = `layer ${c.layer} · KV head ${c.kvHead}`;
  if (c.block === null) {
    const a = p?.anchors[c.layer]?.[c.kvHead];
    const sim = p && a !== undefined ? anchorSimilarity(p, c.layer, c.kvHead, a) : null;
    const hint =
      a === -1
        ? ' · local in the profile (keeps sink and recent tokens only)'
        : a === undefined || sim === null
          ? ''
          : a === c.layer
            ? " · an anchor in the profile's blocks"
            : ` · in the profile's blocks: similarity ${sim.toFixed(3)} to anchor layer ${a}`;
    return `${base} · full cache (keeps every token)${hint}`;
  }
  if (c.local)
    return `${base} · local: keeps sink and recent tokens only (its distant tokens mattered least in calibration; their keys and values are not stored for this head)`;
  if (c.anchor) return `${base} · anchor of its block (keeps its distant keys)`;
  const sim =
    c.similarity !== null
      ? ` · similarity to the anchor ${c.similarity.toFixed(3)}`
      : ' · similarity to the anchor unknown (no calibration profile)';
  return `${base} · shares layer ${c.block}'s attention over distant tokens${sim}`;
}

/** The cell with its similarity to its anchor from the profile, when the profile fits the cache. */
function withProfile(c: GridCell, p: ProfileView | null): GridCell {
  if (!p || c.block === null || c.anchor || c.local || c.similarity !== null) return c;
  return { ...c, similarity: anchorSimilarity(p, c.layer, c.kvHead, c.block) };
}

function ranges(v: CacheView): HTMLElement {
  const box = el('section', 'ranges');
  box.append(el('h2', '', 'Tokens'));
  if (v.sinkTokens === null || v.recentTokens === null || v.distantTokens === null) {
    box.append(
      el(
        'p',
        'muted',
        `${v.kind === 'full' ? 'Full cache' : v.kind}: all ${v.tokens} tokens are kept for every layer and KV head (no sink / recent / distant split).`,
      ),
    );
    return box;
  }
  const total = Math.max(1, v.sinkTokens + v.distantTokens + v.recentTokens);
  const bar = el('div', 'range-bar');
  for (const [cls, n, label] of [
    ['sink', v.sinkTokens, 'sink'],
    ['distant', v.distantTokens, 'distant (shared by block)'],
    ['recent', v.recentTokens, 'recent'],
  ] as const) {
    const seg = el('div', `seg ${cls}`);
    seg.style.flexGrow = String(n / total);
    seg.title = `${label}: ${n} tokens`;
    bar.append(seg);
  }
  const legend = el('div', 'range-legend');
  legend.append(
    el('span', 'sink', `sink ${v.sinkTokens}`),
    el('span', 'distant', `distant ${v.distantTokens}`),
    el('span', 'recent', `recent ${v.recentTokens}`),
  );
  box.append(bar, legend);
  return box;
}

function grid(v: CacheView, profile: ProfileView | null): HTMLElement {
  const box = el('section', 'grid-box');
  const head = el('h2', '', `Layers × KV heads (${v.nLayers} × ${v.nKVHeads}, head dim ${v.headDim})`);
  const local = v.localCells > 0 ? ` ${v.localCells} local cells (striped) keep sink and recent tokens only.` : '';
  const shared = v.grid.some((c) => c.block !== null && !c.anchor && !c.local);
  const blocksText = shared
    ? `${v.blocks} blocks (sharing ${v.shareMode ?? '?'}): in each KV-head column, cells of one colour share the distant-token attention of their anchor ◆.`
    : `${v.blocks} cells ◆ keep their own distant keys and values (no sharing).`;
  const legend = el(
    'p',
    'muted',
    v.blocks > 0 || v.localCells > 0
      ? `${blocksText}${local} Bars: the layer's KV bytes (filled) against a full cache (dashed).`
      : "Full cache: every cell keeps its own keys and values (no blocks, no anchors). Bars: the layer's KV bytes in use (filled) within what is allocated (track).",
  );
  const table = el('div', 'grid');
  table.setAttribute('role', 'table');
  const scale = Math.max(1, ...v.layers.map((l) => Math.max(l.fullBytes, l.bytes, l.allocatedBytes)));
  const headerRow = el('div', 'row header');
  headerRow.append(el('span', 'layer', 'layer'));
  const heads = el('div', 'cells');
  for (let h = 0; h < v.nKVHeads; h++) heads.append(el('span', 'cell-label', `h${h}`));
  headerRow.append(heads, el('span', 'bytes-label', 'KV bytes'));
  table.append(headerRow);
  for (let layer = 0; layer < v.nLayers; layer++) {
    const row = el('div', 'row');
    row.setAttribute('role', 'row');
    row.append(el('span', 'layer', String(layer)));
    const cells = el('div', 'cells');
    for (let h = 0; h < v.nKVHeads; h++) {
      const raw = v.grid[layer * v.nKVHeads + h];
      if (!raw) continue;
      const c = withProfile(raw, profile);
      const cell = el(
        'span',
        `cell${c.block === null ? ' full' : ''}${c.anchor ? ' anchor' : ''}${c.local ? ' local' : ''}`,
      );
      if (c.block !== null && !c.local) cell.style.setProperty('--block-hue', String(blockHue(c.block)));
      if (c.similarity !== null) cell.style.opacity = String(0.45 + 0.55 * Math.max(0, c.similarity));
      cell.title = cellTitle(c, profile);
      cell.dataset.info = cell.title;
      cell.setAttribute('role', 'cell');
      cells.append(cell);
    }
    const l = v.layers.find((x) => x.layer === layer);
    const barBox = el('div', 'bytes');
    if (l) barBox.append(...layerBar(l, scale, v.blocks > 0 || v.localCells > 0));
    if (l) barBox.title = layerTitle(l);
    row.append(cells, barBox);
    table.append(row);
  }
  box.append(head, legend, table);
  return box;
}

function layerBar(l: LayerBar, scale: number, compressed: boolean): HTMLElement[] {
  const pct = (b: number): string => `${(b / scale) * 100}%`;
  const track = el('div', 'bar track');
  track.style.width = pct(l.allocatedBytes);
  const out: HTMLElement[] = [track];
  if (l.fullBytes > l.bytes + 0.5) {
    const full = el('div', 'bar full-bar');
    full.style.width = pct(l.fullBytes);
    out.push(full);
  }
  const used = el('div', 'bar used-bar');
  used.style.width = pct(l.bytes);
  // A compressed cache's figure compares with the full cache (what the panel is about); the
  // allocation is the dashed track and the hover. A full cache has only its allocation to show.
  const label =
    l.fullBytes > l.bytes + 0.5
      ? `${bytes(l.bytes)} / ${bytes(l.fullBytes)} full`
      : compressed
        ? `${bytes(l.bytes)} = full`
        : `${bytes(l.bytes)} of ${bytes(l.allocatedBytes)}`;
  out.push(used, el('span', 'bytes-text', label));
  return out;
}

function layerTitle(l: LayerBar): string {
  return `layer ${l.layer}: ${bytes(l.bytes)} of K+V in use, ${bytes(l.allocatedBytes)} allocated; a full cache would use ${bytes(l.fullBytes)} for these tokens`;
}

export function drawCacheView(
  root: HTMLElement,
  v: CacheView,
  profile: ProfileView | null = null,
  choice: LoadChoice | null = null,
): void {
  // A profile measured on another model shape says nothing about this cache's cells.
  const p = profile && profile.nLayers === v.nLayers && profile.nKVHeads === v.nKVHeads ? profile : null;
  const tiles = el('section', 'tiles');
  tiles.append(
    tile('tokens in cache', `${v.tokens}`, `capacity allocated so far: ${v.capacityTokens} tokens`),
    tile('KV bytes used', bytes(v.usedBytes), 'keys and values of the live tokens, all layers'),
    ...(choice?.budgetBytes !== undefined
      ? [
          tile(
            'memory budget',
            bytes(choice.budgetBytes),
            `the automatic context size was chosen so that weights + KV cache at the whole context + runtime${choice.estimateBytes !== undefined ? ` (estimated ${bytes(choice.estimateBytes)})` : ''} fit this budget`,
          ),
        ]
      : []),
    tile('allocated', bytes(v.allocatedBytes), 'buffers the cache holds (grows geometrically)'),
    tile(
      'full-cache equivalent',
      bytes(v.fullCacheBytes),
      'what a full cache of the same precision would use for these tokens',
    ),
    tile('saved', percent(v.savedPercent), 'KV bytes saved against the full cache'),
  );
  root.replaceChildren(tiles, ranges(v), grid(v, p));
}
