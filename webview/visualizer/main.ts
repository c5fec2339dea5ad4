// Entry point of the cache visualizer webview (bundled as dist/webview/visualizer.js): shows the
// model status and redraws the KV-cache picture on every `cache/view` event (the host and worker
// throttle them while generating). Sends no requests; the host replays its state on `ready`.
import { ModelStatus } from '../../src/shared/protocol';
import { HostConnection } from '../common/host';
import { badge, registerToolkit } from '../ui/toolkit';
import { drawCacheView } from './draw';

registerToolkit();
const host = new HostConnection('visualizer');
const app = document.getElementById('app')!;

const header = document.createElement('header');
const title = document.createElement('span');
title.className = 'title';
title.textContent = 'KV cache';
const model = document.createElement('span');
model.className = 'model';
const state = badge('…');
state.classList.add('state');
const kind = badge('');
kind.classList.add('kind');
kind.hidden = true;
const updated = document.createElement('span');
updated.className = 'updated';
header.append(title, model, state, kind, updated);
const body = document.createElement('main');
body.className = 'content';
app.append(header, body);

function showEmpty(): void {
  const p = document.createElement('p');
  p.className = 'empty';
  p.textContent = 'No KV cache yet. Ask something in the chat ("PodLens: Open Chat") or summarize a file, and the cache shows up here while the model reads and writes.';
  body.replaceChildren(p);
  kind.hidden = true;
}

host.on('model/status', (s: ModelStatus) => {
  model.textContent = s.model ?? 'no model selected';
  state.textContent = s.state === 'none' ? 'not loaded' : s.state;
  state.dataset.state = s.state;
});
host.on('cache/view', ({ view, updatedAt }) => {
  if (!view) { showEmpty(); return; }
  kind.hidden = false;
  kind.textContent = view.kind;
  updated.textContent = updatedAt > 0 ? `updated ${new Date(updatedAt).toLocaleTimeString()}` : '';
  drawCacheView(body, view);
});
showEmpty();
host.ready();
