// The ONE module that touches @vscode/webview-ui-toolkit (the design card asks for it; it has
// been deprecated since January 2025 and @vscode-elements/elements is its maintained successor).
// Everything else gets plain HTMLElements from these factories, so swapping the toolkit is a
// change to this file only. The components follow the VS Code theme through its CSS variables.
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeDivider,
  vsCodeProgressRing,
  vsCodeTextArea,
} from '@vscode/webview-ui-toolkit';

let registered = false;

/** Define the custom elements once per page. */
export function registerToolkit(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeTextArea(), vsCodeProgressRing(), vsCodeDivider());
}

export type ButtonAppearance = 'primary' | 'secondary' | 'icon';

export function button(
  label: string,
  opts: { appearance?: ButtonAppearance; title?: string; id?: string } = {},
): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.setAttribute('appearance', opts.appearance ?? 'primary');
  if (opts.title) {
    b.setAttribute('title', opts.title);
    b.setAttribute('aria-label', opts.title);
  }
  if (opts.id) b.id = opts.id;
  return b;
}

export function setDisabled(el: HTMLElement, disabled: boolean): void {
  el.toggleAttribute('disabled', disabled);
}

export interface TextInput {
  readonly element: HTMLElement;
  value: string;
  focus(): void;
}

export function textArea(opts: { placeholder: string; rows?: number; id?: string }): TextInput {
  const t = document.createElement('vscode-text-area') as HTMLElement & { value: string };
  t.setAttribute('placeholder', opts.placeholder);
  t.setAttribute('rows', String(opts.rows ?? 3));
  t.setAttribute('resize', 'vertical');
  if (opts.id) t.id = opts.id;
  return {
    element: t,
    get value() {
      return t.value ?? '';
    },
    set value(v: string) {
      t.value = v;
    },
    focus: () => t.focus(),
  };
}

export function progressRing(): HTMLElement {
  return document.createElement('vscode-progress-ring');
}

/**
 * A badge. Not the toolkit's <vscode-badge>: its template carries an inline style attribute,
 * which the webview CSP (no 'unsafe-inline') reports on every page; a span styled with the
 * theme's badge colours (media/webview.css) looks the same.
 */
export function badge(text: string): HTMLElement {
  const b = document.createElement('span');
  b.className = 'badge';
  b.textContent = text;
  return b;
}

export function divider(): HTMLElement {
  return document.createElement('vscode-divider');
}
