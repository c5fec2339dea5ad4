// Above the composer: the context chips (workspace, current file, selection — what the host puts
// in the prompt, with token counts; × removes one, + adds it back) and the token meter: a bar of
// tokens used by the prompt so far and tokens reserved for the answer within the context window,
// a warning before it overflows, and what is left out (files the token budget dropped, earliest
// messages). Draws the host's `chat/context` event; the host decides everything.
import { ChatContextView, ChipKind, ContextChip, TokenMeter } from '../../src/shared/chat-context';
import { button } from '../ui/toolkit';

const KIND_NAME: Record<ChipKind, string> = { workspace: 'workspace files', file: 'current file', selection: 'selection' };

export class ContextBar {
  readonly element = document.createElement('div');
  private readonly chips = document.createElement('div');
  private readonly meter = document.createElement('div');

  constructor(private readonly toggle: (kind: ChipKind, enabled: boolean) => void) {
    this.element.className = 'context';
    this.chips.className = 'chips';
    this.chips.setAttribute('aria-label', 'Context in the prompt');
    this.meter.className = 'meter';
    this.element.append(this.chips, this.meter);
  }

  show(v: ChatContextView): void {
    this.chips.replaceChildren(...v.chips.filter((c) => c.available).map((c) => this.chip(c)));
    this.drawMeter(v.meter);
  }

  private chip(c: ContextChip): HTMLElement {
    const el = document.createElement('span');
    el.className = 'chip';
    el.dataset.kind = c.kind;
    el.dataset.enabled = String(c.enabled);
    el.title = c.detail;
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = c.label;
    el.append(label);
    if (c.enabled && c.tokens !== undefined) {
      const n = document.createElement('span');
      n.className = 'tokens';
      n.textContent = c.files !== undefined ? `${c.files} files · ${c.tokens} tok` : `${c.tokens} tok`;
      el.append(n);
    }
    const b = button(c.enabled ? '×' : '+', {
      appearance: 'icon', title: c.enabled ? `Remove the ${KIND_NAME[c.kind]} from the prompt` : `Add the ${KIND_NAME[c.kind]} to the prompt`,
    });
    b.classList.add('chip-toggle');
    b.addEventListener('click', () => this.toggle(c.kind, !c.enabled));
    el.append(b);
    return el;
  }

  private drawMeter(m: TokenMeter): void {
    this.meter.dataset.level = m.level;
    if (m.window === 0) {
      this.meter.replaceChildren(line('text', `${m.reserved} tokens reserved for the answer · counted once the model is loaded`));
      return;
    }
    const bar = document.createElement('div');
    bar.className = 'bar';
    bar.setAttribute('role', 'meter');
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', String(m.window));
    bar.setAttribute('aria-valuenow', String(m.used));
    bar.setAttribute('aria-label', 'Context window use');
    const used = document.createElement('span');
    used.className = 'used';
    const reserved = document.createElement('span');
    reserved.className = 'reserved';
    // CSSOM (not a style attribute): allowed by the page's CSP.
    used.style.width = `${Math.min(100, (100 * m.used) / m.window)}%`;
    reserved.style.width = `${Math.max(0, Math.min(100 - (100 * m.used) / m.window, (100 * m.reserved) / m.window))}%`;
    bar.append(used, reserved);
    const pct = Math.round((100 * (m.used + m.reserved)) / m.window);
    const text = line('text', `${m.used} used + ${m.reserved} reserved for the answer / ${m.window} tokens (${pct}%)`);
    const parts: HTMLElement[] = [bar, text];
    if (m.level !== 'ok') {
      parts.push(line('warning', m.level === 'over'
        ? 'The conversation no longer fits: the earliest messages are left out. Start a New chat or remove context.'
        : 'Close to the context window: long answers or more questions will push the earliest messages out.'));
    }
    if (m.leftOut.length > 0) {
      const l = line('left-out', `Left out: ${m.leftOut.slice(0, 3).map((s) => s.replace(/: over the token budget.*$/, '')).join(', ')}${m.leftOut.length > 3 ? ` and ${m.leftOut.length - 3} more` : ''}`);
      l.title = m.leftOut.join('\n');
      parts.push(l);
    }
    this.meter.replaceChildren(...parts);
  }
}

function line(cls: string, text: string): HTMLElement {
  const d = document.createElement('div');
  d.className = cls;
  d.textContent = text;
  return d;
}
