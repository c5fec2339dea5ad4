// Entry point of the chat webview (bundled as dist/webview/chat.js): lays out the header (model
// status, New chat), the transcript (code blocks with Copy / Insert / New File; Regenerate under
// the last chat answer) and the footer (context chips and token meter, composer with Send and
// Stop), wires them to the host connection and says `ready`. Enter sends, Shift+Enter is a new
// line. Links in answers open through the host (links.ts). The transcript and the chips are the
// host's: after a reload the host replays them (the transcript is kept per workspace), so this
// page keeps no history of its own.
import { ModelStatus } from '../../src/shared/protocol';
import { HostConnection } from '../common/host';
import { badge, button, progressRing, registerToolkit, setDisabled, textArea } from '../ui/toolkit';
import { ContextBar } from './context-bar';
import { routeLinks } from './links';
import { TranscriptView } from './transcript';

registerToolkit();
const host = new HostConnection('chat');
const app = document.getElementById('app')!;

const header = document.createElement('header');
const title = document.createElement('span');
title.className = 'title';
title.textContent = 'PodLens';
const model = document.createElement('span');
model.className = 'model';
const state = badge('…');
state.classList.add('state');
const ring = progressRing();
ring.classList.add('ring');
ring.hidden = true;
const clear = button('New chat', {
  appearance: 'secondary',
  title: 'Start a new chat (clears this conversation)',
  id: 'clear',
});
header.append(title, model, state, ring, clear);

const scroller = document.createElement('main');
scroller.className = 'scroller';
const list = document.createElement('section');
list.className = 'transcript';
list.setAttribute('aria-live', 'polite');
const empty = document.createElement('p');
empty.className = 'empty';
empty.textContent = 'Ask about your code or documents. The model runs locally; nothing leaves this machine.';
scroller.append(empty, list);

const footer = document.createElement('footer');
const contextBar = new ContextBar(
  (kind, enabled) => void host.request('chat/chip', { kind, enabled }).result.catch(warn),
);
const composer = document.createElement('div');
composer.className = 'composer';
const input = textArea({
  placeholder: 'Ask PodLens… (Enter to send, Shift+Enter for a new line)',
  rows: 3,
  id: 'input',
});
const send = button('Send', { appearance: 'primary', id: 'send' });
const stop = button('Stop', { appearance: 'secondary', id: 'stop', title: 'Stop generating' });
const buttons = document.createElement('div');
buttons.className = 'buttons';
buttons.append(send, stop);
composer.append(input.element, buttons);
footer.append(contextBar.element, composer);
app.append(header, scroller, footer);

const regenerate = button('Regenerate', {
  appearance: 'secondary',
  id: 'regenerate',
  title: 'Drop this answer and answer the question again',
});
const transcript = new TranscriptView(list, scroller, (action, params) => host.request(action, params).result);
let generating = false;
let sending = false;

function warn(e: unknown): void {
  console.warn(`PodLens chat: ${e instanceof Error ? e.message : String(e)}`);
}

function refresh(): void {
  const busy = generating || sending;
  setDisabled(send, busy);
  setDisabled(stop, !busy);
  setDisabled(clear, busy);
  ring.hidden = !busy;
  empty.hidden = list.childElementCount > 0;
  // Regenerate sits under the last answer when it was asked in the chat and is finished.
  const last = transcript.last();
  const can =
    !busy &&
    last !== undefined &&
    last.turn.role === 'assistant' &&
    last.turn.origin === 'chat' &&
    last.turn.status !== 'streaming';
  if (can) {
    if (regenerate.parentElement !== last.actions) last.actions.append(regenerate);
  } else regenerate.remove();
}

function showStatus(s: ModelStatus): void {
  model.textContent = s.model ?? 'no model selected';
  model.title = s.message ?? '';
  const labels: Record<ModelStatus['state'], string> = {
    none: 'not loaded',
    loading: 'loading…',
    ready: 'ready',
    generating: 'generating',
    error: 'error',
  };
  state.textContent = labels[s.state];
  state.dataset.state = s.state;
  generating = s.state === 'generating';
  refresh();
}

/** Run an answer request (send or regenerate); the composer is busy until it resolves. */
async function answer(run: () => Promise<unknown>): Promise<void> {
  sending = true;
  refresh();
  try {
    await run();
  } catch (e) {
    warn(e);
  } finally {
    sending = false;
    refresh();
    input.focus();
  }
}

async function submit(): Promise<void> {
  const text = input.value.trim();
  if (!text || sending || generating) return;
  input.value = '';
  await answer(() => host.request('chat/send', { text }).result);
}

send.addEventListener('click', () => void submit());
stop.addEventListener('click', () => void host.request('chat/stop', {}).result.catch(warn));
clear.addEventListener('click', () => void host.request('chat/clear', {}).result.catch(warn));
regenerate.addEventListener('click', () => {
  if (!sending && !generating) void answer(() => host.request('chat/regenerate', {}).result);
});
input.element.addEventListener('keydown', (e: KeyboardEvent) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    void submit();
  }
});

routeLinks(document, (href) => void host.request('link/open', { href }).result.catch(warn));

host.on('model/status', showStatus);
host.on('chat/transcript', (t) => {
  transcript.reset(t.turns);
  refresh();
});
host.on('chat/turn', (t) => {
  transcript.add(t);
  refresh();
});
host.on('chat/delta', (d) => transcript.delta(d));
host.on('chat/progress', (p) => transcript.progressLine(p));
host.on('chat/finish', (f) => {
  transcript.finish(f);
  refresh();
});
host.on('chat/context', (c) => contextBar.show(c));
refresh();
host.ready();
