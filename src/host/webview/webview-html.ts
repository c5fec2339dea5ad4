// The HTML shell of a PodLens webview: a strict Content-Security-Policy (scripts only with this
// page's nonce; styles and fonts only from the webview's own resource origin, plus <style>
// elements carrying a separate style nonce; no inline style attributes; no network), the
// stylesheets and the bundled script as webview URIs. The style nonce is published in
// <meta property="csp-nonce">, where the UI toolkit (FAST) looks for it when it probes for
// :focus-visible support with a <style> element; it is not the script nonce. Pure string building — the panels pass in
// `webview.cspSource` and `asWebviewUri` results, and the Chromium tests serve the very same HTML.
import { randomBytes } from 'node:crypto';

export interface WebviewHtmlOptions {
  title: string;
  /** `webview.cspSource` (the origin webview resources are served from). */
  cspSource: string;
  nonce: string;
  /** Nonce for toolkit-created <style> elements (default: a fresh one). */
  styleNonce?: string;
  scriptUri: string;
  styleUris: readonly string[];
  /** Marks the page for the webview script (`data-view`). */
  view: string;
}

/** 128 random bits, base64 (a CSP nonce must be unguessable and fresh for each page). */
export const makeNonce = (): string => randomBytes(16).toString('base64');

const escapeAttr = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function contentSecurityPolicy(cspSource: string, nonce: string, styleNonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${styleNonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    "connect-src 'none'",
    "frame-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
  ].join('; ');
}

export function buildWebviewHtml(o: WebviewHtmlOptions): string {
  const styleNonce = o.styleNonce ?? makeNonce();
  const csp = contentSecurityPolicy(o.cspSource, o.nonce, styleNonce);
  const styles = o.styleUris.map((u) => `  <link rel="stylesheet" href="${escapeAttr(u)}">`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <meta property="csp-nonce" content="${escapeAttr(styleNonce)}">
${styles}
  <title>${escapeAttr(o.title)}</title>
</head>
<body data-view="${escapeAttr(o.view)}">
  <div id="app" role="main"></div>
  <script nonce="${escapeAttr(o.nonce)}" src="${escapeAttr(o.scriptUri)}"></script>
</body>
</html>
`;
}
