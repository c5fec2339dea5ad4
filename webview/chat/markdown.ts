// Markdown → safe DOM for model output. Model text is untrusted (it can echo anything a prompt or
// a summarized file contained), so: marked renders GitHub-flavoured markdown with raw HTML turned
// into visible text, then DOMPurify sanitizes the result into a DocumentFragment (no re-parse of
// a string) — no scripts, event handlers, styles, forms, frames, images, or links other than
// http(s)/mailto. The page's CSP (scripts only with a nonce) is the second line of defence.
import { Marked } from 'marked';
import DOMPurify from 'dompurify';

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const marked = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    // Raw HTML in markdown is shown as text, not interpreted.
    html({ text }) {
      return escapeHtml(text);
    },
    // No remote images: show the alt text (and the address) instead.
    image({ href, text }) {
      return `${escapeHtml(text || 'image')} (${escapeHtml(href)})`;
    },
  },
});

const SAFE_URL = /^(?:https?:|mailto:)/i;

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    const href = node.getAttribute('href');
    if (href === null || !SAFE_URL.test(href.trim())) {
      node.removeAttribute('href');
      node.setAttribute('title', 'link removed: only http, https and mailto links are kept');
    } else {
      node.setAttribute('rel', 'noopener noreferrer');
      node.setAttribute('title', href);
    }
    node.removeAttribute('target');
  }
});

const PURIFY = {
  RETURN_DOM_FRAGMENT: true as const,
  ALLOWED_URI_REGEXP: SAFE_URL,
  FORBID_TAGS: [
    'style',
    'form',
    'input',
    'button',
    'textarea',
    'select',
    'iframe',
    'frame',
    'object',
    'embed',
    'img',
    'svg',
    'math',
    'video',
    'audio',
    'link',
    'meta',
    'base',
  ],
  FORBID_ATTR: ['style', 'srcset', 'action', 'formaction'],
};

export function renderMarkdown(text: string): DocumentFragment {
  const html = marked.parse(text) as string;
  return DOMPurify.sanitize(html, PURIFY);
}
