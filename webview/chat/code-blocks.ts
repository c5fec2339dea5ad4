// The toolbar on each code block of a rendered answer: the fence's language and Copy, Insert at
// Cursor, Open in New File buttons (toolkit buttons). The host does the work (its clipboard, the
// editor the user was last in, a new untitled document in the fence's language); this module only
// says which block and shows the outcome ("Copied", or the host's error) next to the buttons.
import { CodeParams } from '../../src/shared/chat-context';
import { el } from '../common/dom';
import { button } from '../ui/toolkit';

export type CodeAction = 'code/copy' | 'code/insert' | 'code/open';
export type RunCodeAction = (action: CodeAction, params: CodeParams) => Promise<unknown>;

const ACTIONS: { action: CodeAction; label: string; title: string; done: string }[] = [
  { action: 'code/copy', label: 'Copy', title: 'Copy to the clipboard', done: 'Copied' },
  { action: 'code/insert', label: 'Insert', title: 'Insert at the cursor in the editor', done: 'Inserted' },
  { action: 'code/open', label: 'New File', title: 'Open in a new editor', done: 'Opened' },
];

/** The fence's language from marked's `language-xxx` class ('' when none). */
export function fenceLanguage(code: Element): string {
  for (const c of code.classList) if (c.startsWith('language-')) return c.slice('language-'.length);
  return '';
}

/** Wrap every `pre > code` in `body` with a toolbar whose buttons call `run`. */
export function decorateCodeBlocks(body: HTMLElement, run: RunCodeAction): void {
  for (const pre of body.querySelectorAll('pre')) {
    const code = pre.querySelector(':scope > code');
    if (!code || pre.parentElement?.classList.contains('code-block')) continue;
    const language = fenceLanguage(code);
    const box = el('div', 'code-block');
    const bar = el('div', 'code-actions');
    const lang = el('span', 'lang', language || 'text');
    const status = el('span', 'code-status');
    status.setAttribute('role', 'status');
    bar.append(lang, status);
    let timer = 0;
    const say = (text: string, error = false): void => {
      status.textContent = text;
      status.classList.toggle('error', error);
      clearTimeout(timer);
      timer = window.setTimeout(
        () => {
          status.textContent = '';
        },
        error ? 6000 : 1800,
      );
    };
    for (const a of ACTIONS) {
      const b = button(a.label, { appearance: 'secondary', title: a.title });
      b.classList.add('code-button');
      b.dataset.action = a.action;
      b.addEventListener('click', () => {
        const params: CodeParams = { code: code.textContent ?? '', ...(language ? { language } : {}) };
        run(a.action, params).then(
          () => say(a.done),
          (e: unknown) => say(e instanceof Error ? e.message : String(e), true),
        );
      });
      bar.append(b);
    }
    pre.replaceWith(box);
    box.append(bar, pre);
  }
}
