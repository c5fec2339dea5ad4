// Links clicked in a webview (the chat's rendered markdown) open only here, never by the webview
// navigating itself: the href is parsed again with the WHATWG URL parser and only absolute
// https:, http: and mailto: links go on to vscode.env.openExternal, which applies VS Code's own
// trusted-domain confirmation. Anything else (javascript:, data:, file:, command:, vscode:,
// relative or unparsable links) is refused with a log line and an error for the webview.
import * as vscode from 'vscode';

const SCHEMES: readonly string[] = ['https:', 'http:', 'mailto:'];

/** The normalized URL to open, or why not. */
export function checkLink(href: string): { ok: true; url: string } | { ok: false; error: string } {
  let url: URL;
  try {
    url = new URL(href); // no base: a relative link does not parse
  } catch {
    return { ok: false, error: 'not an absolute URL' };
  }
  if (!SCHEMES.includes(url.protocol))
    return { ok: false, error: `${url.protocol} links are not opened (only https, http and mailto)` };
  return { ok: true, url: url.href };
}

export async function openLink(href: string, log: (line: string) => void): Promise<{ opened: boolean }> {
  const c = checkLink(href);
  // Hand VS Code the normalized form, and check its parse too, so the two parsers cannot disagree.
  const uri = c.ok ? vscode.Uri.parse(c.url, true) : undefined;
  if (!c.ok || !uri || !SCHEMES.includes(`${uri.scheme}:`)) {
    const why = c.ok ? 'VS Code parses it differently' : c.error;
    log(`warning: link refused (${why}): ${JSON.stringify(href.slice(0, 200))}`);
    throw new Error(`link not opened: ${why}`);
  }
  return { opened: await vscode.env.openExternal(uri) };
}
