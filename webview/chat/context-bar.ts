// Above the composer: the context chips (workspace, current file, selection — what the host puts
// in the prompt, with token counts; × removes one, + adds it back) and the token meter: a bar of
// tokens used by the prompt so far and tokens reserved for the answer within the context window,
// a warning before it overflows, and what is left out (files the token budget dropped, earliest
// messages). Draws the host's `chat/context` event; the host decides everything.
import { ChatContextView, ChipKind, ContextChip, TokenMeter } from '../../src/shared/chat-context';
import { el } from '../common/dom';
import { button } from '../ui/toolkit';

const KIND_NAME: Record<ChipKind, string> = {
  workspace: 'workspace files',
  file: 'current file',
  selection: 'selection',
};

export class ContextBar {
  readonly element = el('div', 'context');
  private readonly chips = el('div', 'chips');
  private readonly meter = el('div', 'meter');

  constructor(private readonly toggle: (kind: ChipKind, enabled: boolean) => void) {
    this.chips.setAttribute('aria-label', 'Context in the prompt');
    this.element.append(this.chips, this.meter);
  }

  show(v: ChatContextView): void {
    this.chips.replaceChildren(...v.chips.filter((c) => c.available).map((c) => this.chip(c)));
    this.drawMeter(v.meter);
  }

  private chip(c: ContextChip): HTMLElement {
    const chip = el('span', 'chip');
    chip.dataset.kind = c.kind;
    chip.dataset.enabled = String(c.enabled);
    chip.title = c.detail;
    chip.append(el('span', 'label', c.label));
    if (c.enabled && c.tokens !== undefined)
      chip.append(
        el('span', 'tokens', c.files !== undefined ? `${c.files} files · ${c.tokens} tok` : `${c.tokens} tok`),
      );
    const b = button(c.enabled ? '×' : '+', {
      appearance: 'icon',
      title: c.enabled
        ? `Remove the ${KIND_NAME[c.kind]} from the prompt`
        : `Add the ${KIND_NAME[c.kind]} to the prompt`,
    });
    b.classList.add('chip-toggle');
    b.addEventListener('click', () => this.toggle(c.kind, !c.enabled));
    chip.append(b);
    return chip;
  }

  private drawMeter(m: TokenMeter): void {
    this.meter.dataset.level = m.level;
    if (m.window === 0) {
      this.meter.replaceChildren(
        el('div', 'text', `${m.reserved} tokens reserved for the answer · counted once the model is loaded`),
      );
      return;
    }
    const bar = el('div', 'bar');
    bar.setAttribute('role', 'meter');
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', String(m.window));
    bar.setAttribute('aria-valuenow', String(m.used));
    bar.setAttribute('aria-label', 'Context window use');
    const used = el('span', 'used');
    const reserved = el('span', 'reserved');
    // CSSOM (not a style attribute): allowed by the page's CSP.
    used.style.width = `${Math.min(100, (100 * m.used) / m.window)}%`;
    reserved.style.width = `${Math.max(0, Math.min(100 - (100 * m.used) / m.window, (100 * m.reserved) / m.window))}%`;
    bar.append(used, reserved);
    const pct = Math.round((100 * (m.used + m.reserved)) / m.window);
    const text = el(
      'div',
      'text',
      `${m.used} used + ${m.reserved} reserved for the answer / ${m.window} tokens (${pct}%)`,
    );
    const parts: HTMLElement[] = [bar, text];
    if (m.level !== 'ok') {
      parts.push(
        el(
          'div',
          'warning',
          m.level === 'over'
            ? 'The conversation no longer fits: the earliest messages are left out. Start a New chat or remove context.'
            : 'Close to the context window: long answers or more questions will push the earliest messages out.',
        ),
      );
    }
    if (m.leftOut.length > 0) {
      const l = el(
        'div',
        'left-out',
        `Left out: ${m.leftOut
          .slice(0, 3)
          .map((s) => s.replace(/: over the token budget.*$/, ''))
          .join(', ')}${m.leftOut.length > 3 ? ` and ${m.leftOut.length - 3} more` : ''}`,
      );
      l.title = m.leftOut.join('\n');
      parts.push(l);
    }
    this.meter.replaceChildren(...parts);
  }
}
