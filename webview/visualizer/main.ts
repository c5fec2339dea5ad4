// Entry point of the cache visualizer webview (bundled as dist/webview/visualizer.js): shows the
// model status, redraws the KV-cache picture on `cache/view` events (the worker throttles them
// while prefilling/decoding; here bursts are coalesced to at most one draw per 100 ms), and the
// calibration heatmap on `cache/profile` events (drawn only when the profile changes). A readout
// line shows the hovered cell's `data-info` (grid cells: similarity to the anchor; heatmap cells:
// similarity of two layers). The header also says which KV cache and context size the model was
// loaded with and why (the model status's `choice`), and the tiles show the automatic context's
// memory budget. Sends no requests; the host replays its state on `ready`.
import { CacheView } from '../../src/shared/cache-view';
import { ProfileEvent } from '../../src/shared/profile-view';
import { LoadChoice, ModelStatus } from '../../src/shared/protocol';
import { el } from '../common/dom';
import { HostConnection } from '../common/host';
import { badge, registerToolkit } from '../ui/toolkit';
import { drawCacheView } from './draw';
import { drawProfile } from './heatmap';

registerToolkit();
const host = new HostConnection('visualizer');
const app = document.getElementById('app')!;

const header = el('header', '');
const title = el('span', 'title', 'KV cache');
const model = el('span', 'model');
const state = badge('…');
state.classList.add('state');
const kind = badge('');
kind.classList.add('kind');
kind.hidden = true;
const updated = el('span', 'updated');
/** Which cache and context were chosen, and why: one line each. */
const choiceBox = el('div', 'choice');
choiceBox.hidden = true;
header.append(title, model, state, kind, updated, choiceBox);
const readout = el('div', 'hover-info', 'Hover a cell for details.');
readout.setAttribute('aria-live', 'polite');
const body = el('main', 'content');
const cacheBox = el('div', 'cache');
const profileBox = el('div', 'profile');
body.append(cacheBox, profileBox);
app.append(header, readout, body);

let view: CacheView | null = null;
let choice: LoadChoice | null = null;
let profile: ProfileEvent = { profile: null };
/** Least time between two redraws of the cache picture. */
const MIN_DRAW_MS = 100;
let timer: ReturnType<typeof setTimeout> | undefined;
let lastDraw = -Infinity;

function drawCache(): void {
  timer = undefined;
  lastDraw = performance.now();
  if (!view) {
    const p = el(
      'p',
      'empty',
      'No KV cache yet. Ask something in the chat ("PodLens: Open Chat") or summarize a file, and the cache shows up here while the model reads and writes.',
    );
    cacheBox.replaceChildren(p);
    kind.hidden = true;
    return;
  }
  kind.hidden = false;
  kind.textContent = view.kind;
  drawCacheView(cacheBox, view, profile.profile, choice);
}
/** Draw now, or once when the last draw is MIN_DRAW_MS old (later events replace the view meanwhile). */
function scheduleCache(): void {
  if (timer !== undefined) return;
  const wait = lastDraw + MIN_DRAW_MS - performance.now();
  if (wait <= 0) drawCache();
  else timer = setTimeout(drawCache, wait);
}

body.addEventListener('mouseover', (e) => {
  const info = (e.target as HTMLElement).closest<HTMLElement>('[data-info]')?.dataset.info;
  if (info) readout.textContent = info;
});

host.on('model/status', (s: ModelStatus) => {
  model.textContent = s.model ?? 'no model selected';
  state.textContent = s.state === 'none' ? 'not loaded' : s.state;
  state.dataset.state = s.state;
  const c = s.choice ?? null;
  const changed = JSON.stringify(c) !== JSON.stringify(choice);
  choice = c;
  choiceBox.hidden = c === null;
  choiceBox.replaceChildren(
    ...(c
      ? [el('div', 'cache-choice', `KV cache: ${c.cache}`), el('div', 'context-choice', `Context: ${c.context}`)]
      : []),
  );
  if (changed) scheduleCache(); // the budget tile
});
host.on('cache/view', ({ view: v, updatedAt }) => {
  view = v;
  updated.textContent = v && updatedAt > 0 ? `updated ${new Date(updatedAt).toLocaleTimeString()}` : '';
  scheduleCache();
});
host.on('cache/profile', (p) => {
  profile = p;
  profileBox.replaceChildren(drawProfile(p.profile, p.note));
  scheduleCache(); // grid cells show similarity to their anchor from the profile
});
drawCache();
host.ready();
