// Links in rendered answers open only through the host: one delegated listener on the page
// cancels every activation of an <a> — click (Enter on a focused link fires one too), modified
// clicks and middle-click (auxclick) — so the webview never navigates or opens a window itself,
// and asks the host to open the link's href (`link/open`; the host checks the scheme again and
// goes through vscode.env.openExternal). Links the sanitizer stripped (no href) do nothing.
import { MAX_HREF } from '../../src/shared/protocol';

export function routeLinks(root: Document | HTMLElement, open: (href: string) => void): void {
  const handle = (e: MouseEvent): void => {
    const a = e.target instanceof Element ? e.target.closest('a') : null;
    if (!a) return;
    e.preventDefault();
    if (e.type === 'auxclick' && e.button !== 1) return; // right-click etc.: nothing to open
    const href = a.getAttribute('href')?.trim() ?? '';
    if (href && href.length <= MAX_HREF) open(href);
  };
  root.addEventListener('click', handle as EventListener);
  root.addEventListener('auxclick', handle as EventListener);
}
