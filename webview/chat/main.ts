// Entry point of the chat webview (bundled as dist/webview/chat.js): lays out the header (model
// status, Clear), the transcript and the composer (Send, Stop), wires them to the host connection
// and says `ready`. Enter sends, Shift+Enter is a new line. The transcript is the host's: after a
// reload the host replays it, so this page keeps no history of its own.
import { ModelStatus } from '../../src/shared/protocol';
import { HostConnection } from '../common/host';
import { badge, button, progressRing, registerToolkit, setDisabled, textArea } from '../ui/toolkit';
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
const clear = button('Clear', { appearance: 'secondary', title: 'Clear the conversation', id: 'clear' });
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

const composer = document.createElement('footer');
const input = textArea({ placeholder: 'Ask PodLens… (Enter to send, Shift+Enter for a new line)', rows: 3, id: 'input' });
const send = button('Send', { appearance: 'primary', id: 'send' });
const stop = button('Stop', { appearance: 'secondary', id: 'stop', title: 'Stop generating' });
const buttons = document.createElement('div');
buttons.className = 'buttons';
buttons.append(send, stop);
composer.append(input.element, buttons);
app.append(header, scroller, composer);

const transcript = new TranscriptView(list, scroller);
let generating = false;
let sending = false;

function refresh(): void {
  setDisabled(send, generating || sending);
  setDisabled(stop, !(generating || sending));
  ring.hidden = !(generating || sending);
  empty.hidden = list.childElementCount > 0;
}

function showStatus(s: ModelStatus): void {
  model.textContent = s.model ?? 'no model selected';
  model.title = s.message ?? '';
  const labels: Record<ModelStatus['state'], string> = { none: 'not loaded', loading: 'loading…', ready: 'ready', generating: 'generating', error: 'error' };
  state.textContent = labels[s.state];
  state.dataset.state = s.state;
  generating = s.state === 'generating';
  refresh();
}

async function submit(): Promise<void> {
  const text = input.value.trim();
  if (!text || sending || generating) return;
  input.value = '';
  sending = true;
  refresh();
  try {
    await host.request('chat/send', { text }).result;
  } catch (e) {
    console.warn(`PodLens chat: ${(e as Error).message}`);
  } finally {
    sending = false;
    refresh();
    input.focus();
  }
}

send.addEventListener('click', () => void submit());
stop.addEventListener('click', () => void host.request('chat/stop', {}).result.catch(() => undefined));
clear.addEventListener('click', () => void host.request('chat/clear', {}).result.catch(() => undefined));
input.element.addEventListener('keydown', (e: KeyboardEvent) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); void submit(); }
});

host.on('model/status', showStatus);
host.on('chat/transcript', (t) => { transcript.reset(t.turns); refresh(); });
host.on('chat/turn', (t) => { transcript.add(t); refresh(); });
host.on('chat/delta', (d) => transcript.delta(d));
host.on('chat/progress', (p) => transcript.progressLine(p));
host.on('chat/finish', (f) => transcript.finish(f));
refresh();
host.ready();
