// Draws the chat transcript the host owns: user turns as plain text, assistant turns as sanitized
// markdown that re-renders (once per animation frame) while deltas stream in, a progress line
// while an answer is on its way, and under each finished answer its stats (time to first token,
// decode speed, tokens reused from the cache) and the host's note (what a summary covered, what
// was left out of the context). Finished answers get Copy / Insert / New File buttons on their code
// blocks (code-blocks.ts) and an actions row (where the page puts Regenerate). Knows nothing
// about the protocol's transport.
import { AnswerStats, EventMap, Turn } from '../../src/shared/protocol';
import { el } from '../common/dom';
import { ms, rate } from '../common/format';
import { decorateCodeBlocks, RunCodeAction } from './code-blocks';
import { renderMarkdown } from './markdown';

interface TurnView {
  turn: Turn;
  root: HTMLElement;
  body: HTMLElement;
  progress: HTMLElement;
  meta: HTMLElement;
  actions: HTMLElement;
  dirty: boolean;
}

export function statsLine(s: AnswerStats): string {
  const parts = [
    `TTFT ${ms(s.ttftMs)}`,
    rate(s.decodeTokensPerSecond),
    `${s.generatedTokens} tokens`,
    `prompt ${s.promptTokens}`,
    ...(s.reusedTokens > 0 ? [`${s.reusedTokens} tokens reused`] : []),
    `context ${s.contextTokens} / ${s.contextSize}`,
  ];
  if (s.finishReason === 'length') parts.push('hit the answer length limit');
  if (s.finishReason === 'context') parts.push('context full');
  return parts.join(' · ');
}

export class TranscriptView {
  private readonly views = new Map<number, TurnView>();
  private frame = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly scroller: HTMLElement,
    private readonly runCode: RunCodeAction,
  ) {}

  /** The last turn and its actions row (Regenerate goes there). */
  last(): { turn: Turn; actions: HTMLElement } | undefined {
    const v = [...this.views.values()].at(-1);
    return v && { turn: v.turn, actions: v.actions };
  }

  reset(turns: readonly Turn[]): void {
    this.views.clear();
    this.root.replaceChildren();
    for (const t of turns) this.add(t);
    this.scrollToEnd(true);
  }

  add(turn: Turn): void {
    const root = document.createElement('article');
    root.className = `turn ${turn.role}`;
    root.dataset.turn = String(turn.id);
    const who = document.createElement('div');
    who.className = 'who';
    who.textContent = turn.role === 'user' ? 'You' : 'PodLens';
    const body = document.createElement('div');
    body.className = turn.role === 'user' ? 'body plain' : 'body markdown';
    const progress = document.createElement('div');
    progress.className = 'progress';
    const meta = document.createElement('div');
    meta.className = 'meta';
    const actions = el('div', 'actions');
    root.append(who, body, progress, meta, actions);
    this.root.append(root);
    const v: TurnView = { turn: { ...turn }, root, body, progress, meta, actions, dirty: true };
    this.views.set(turn.id, v);
    this.renderBody(v);
    this.renderMeta(v);
    this.scrollToEnd(true);
  }

  delta(d: EventMap['chat/delta']): void {
    const v = this.views.get(d.turnId);
    if (!v) return;
    v.turn.text += d.text;
    v.progress.textContent = '';
    v.dirty = true;
    this.schedule();
  }

  progressLine(p: EventMap['chat/progress']): void {
    const v = this.views.get(p.turnId);
    if (v && v.turn.status === 'streaming') v.progress.textContent = p.label;
  }

  finish(f: EventMap['chat/finish']): void {
    const v = this.views.get(f.turnId);
    if (!v) return;
    v.turn.status = f.status;
    v.turn.stats = f.stats;
    v.turn.note = f.note;
    v.turn.error = f.error;
    v.dirty = true;
    this.renderBody(v);
    this.renderMeta(v);
    this.scrollToEnd(false);
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      for (const v of this.views.values()) if (v.dirty) this.renderBody(v);
      this.scrollToEnd(false);
    });
  }

  private renderBody(v: TurnView): void {
    v.dirty = false;
    v.root.classList.toggle('streaming', v.turn.status === 'streaming');
    if (v.turn.role === 'user') {
      v.body.textContent = v.turn.text;
      return;
    }
    v.body.replaceChildren(renderMarkdown(v.turn.text));
    if (v.turn.status === 'streaming') {
      const caret = document.createElement('span');
      caret.className = 'caret';
      caret.setAttribute('aria-hidden', 'true');
      (v.body.lastElementChild ?? v.body).append(caret);
    } else {
      decorateCodeBlocks(v.body, this.runCode);
    }
  }

  private renderMeta(v: TurnView): void {
    const t = v.turn;
    const lines: [string, string][] = [];
    if (t.status !== 'streaming') v.progress.textContent = '';
    if (t.status === 'stopped') lines.push(['status', 'Stopped.']);
    if (t.error) lines.push(['error', t.error]);
    if (t.stats) lines.push(['stats', statsLine(t.stats)]);
    if (t.note) lines.push(['note', t.note]);
    v.meta.replaceChildren(
      ...lines.map(([cls, text]) => {
        const d = document.createElement('div');
        d.className = cls;
        d.textContent = text;
        return d;
      }),
    );
  }

  private scrollToEnd(force: boolean): void {
    const s = this.scroller;
    const nearEnd = s.scrollHeight - s.scrollTop - s.clientHeight < 80;
    if (force || nearEnd) s.scrollTop = s.scrollHeight;
  }
}
