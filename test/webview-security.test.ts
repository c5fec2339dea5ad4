// Webview hardening (issue 7 item 4), the host side: the HTML shell's Content-Security-Policy
// (default-src 'none'; scripts only with this page's fresh 128-bit nonce; no 'unsafe-inline',
// no 'unsafe-eval', no network, frames, forms or <base>), no inline script and no event-handler
// attribute in the page, hostile titles and URIs escaped; and both panels (chat, visualizer)
// created with scripts on, command URIs off and localResourceRoots limited to dist/webview and
// media. Links: command: URIs cannot run (enableCommandUris false) and the page cannot frame or
// post anywhere, so an http(s)/mailto link the sanitizer kept can only be followed by VS Code's
// webview host, which intercepts anchor clicks and opens them through the workbench opener.
// What the sanitizer keeps and that nothing executes is test/webview.test.ts (real Chromium).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { buildWebviewHtml, makeNonce } from '../src/host/webview/webview-html';
import { CSP_SOURCE, installVscodeStandIn, standIn, Uri } from './vscode-stand-in';
import { ROOT } from './helpers';
import type * as vscode from 'vscode';

installVscodeStandIn();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- after the hook, so `vscode` resolves to the stand-in
const ext = require('../src/extension') as typeof import('../src/extension');

/** CSP directives of a page: name → sources. */
function csp(html: string): Map<string, string[]> {
  const content = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
  assert.ok(content, 'a CSP meta element');
  const decoded = content.replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  return new Map(
    decoded
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...v]) => [name!, v]),
  );
}

function checkPage(html: string): void {
  const policy = csp(html);
  assert.deepEqual(policy.get('default-src'), ["'none'"]);
  const scriptSrc = policy.get('script-src') ?? [];
  assert.equal(scriptSrc.length, 1, `script-src ${scriptSrc.join(' ')}`);
  const nonce = /^'nonce-([A-Za-z0-9+/=]+)'$/.exec(scriptSrc[0] ?? '')?.[1];
  assert.ok(nonce && Buffer.from(nonce, 'base64').length >= 16, 'a nonce of at least 128 bits');
  for (const [name, sources] of policy) {
    assert.ok(
      !sources.some(
        (s) =>
          /unsafe-(inline|eval|hashes)|wasm-unsafe-eval|^\*$|^https?:$|^data:$/.test(s) &&
          !(name === 'img-src' && s === 'data:'),
      ),
      `${name}: ${sources.join(' ')}`,
    );
  }
  for (const d of ['connect-src', 'frame-src', 'form-action', 'base-uri'])
    assert.deepEqual(policy.get(d), ["'none'"], d);
  // Every <script> carries the nonce and loads a file: no inline script body.
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length >= 1);
  for (const [, attrs, body] of scripts) {
    assert.match(attrs ?? '', new RegExp(`\\snonce="${nonce.replace(/[+/=]/g, '\\$&')}"`));
    assert.match(attrs ?? '', /\ssrc="[^"]+"/);
    assert.equal((body ?? '').trim(), '', 'no inline script');
  }
  // Attributes of every tag (escaped text cannot open a tag: < and > in values are entities).
  for (const [tag] of html.matchAll(/<[a-zA-Z][^>]*>/g)) {
    assert.doesNotMatch(tag, /^<(iframe|base|form|object|embed)\b/i, tag);
    assert.doesNotMatch(tag.replace(/"[^"]*"/g, '""'), /\son[a-z]+\s*=/i, `event handler in ${tag}`);
    for (const [, v] of tag.matchAll(/="([^"]*)"/g)) assert.doesNotMatch(v ?? '', /^\s*javascript:/i, tag);
  }
}

test('the HTML shell: strict CSP with a fresh nonce, no inline script, hostile values escaped', () => {
  const page = (
    nonce: string,
    title = 'PodLens Chat',
    uri = 'https://x.vscode-resource.test/dist/webview/chat.js',
  ): string =>
    buildWebviewHtml({
      title,
      view: 'chat',
      cspSource: CSP_SOURCE,
      nonce,
      scriptUri: uri,
      styleUris: ['https://x.vscode-resource.test/media/chat.css'],
    });
  checkPage(page(makeNonce()));
  const hostile = page(makeNonce(), '"><script>alert(1)</script><img src=x onerror=alert(2)>', 'x" onload="alert(3)');
  checkPage(hostile);
  assert.equal((hostile.match(/<script/g) ?? []).length, 1, 'the title and URI cannot add a script');
  const nonces = new Set(Array.from({ length: 1000 }, makeNonce));
  assert.equal(nonces.size, 1000, 'a fresh nonce per page');
});

const context = {
  subscriptions: [] as { dispose(): unknown }[],
  extensionUri: Uri.file(ROOT),
  extensionPath: ROOT,
  workspaceState: { keys: () => [], get: (_k: string, d?: unknown) => d, update: () => Promise.resolve() },
  globalState: { keys: () => [], get: (_k: string, d?: unknown) => d, update: () => Promise.resolve() },
};
after(() => {
  for (const d of context.subscriptions.splice(0).reverse()) d.dispose();
});

test('both panels: scripts on, command URIs off, resource roots only dist/webview and media, assets from there', async () => {
  standIn.reset();
  ext.activate(context as unknown as vscode.ExtensionContext);
  await standIn.commands.get('podlens.openChat')!();
  await standIn.commands.get('podlens.openVisualizer')!();
  const roots = [path.join(ROOT, 'dist/webview'), path.join(ROOT, 'media')];
  assert.deepEqual(standIn.panels.map((p) => p.viewType).sort(), ['podlens.chat', 'podlens.visualizer']);
  for (const p of standIn.panels) {
    const o = p.options as vscode.WebviewPanelOptions & vscode.WebviewOptions & { enableForms?: boolean };
    assert.equal(o.enableScripts, true, p.viewType);
    assert.equal(o.enableCommandUris, false, `${p.viewType}: command: links must not run`);
    assert.notEqual(o.enableForms, true, p.viewType);
    assert.deepEqual(
      o.localResourceRoots?.map((u) => u.fsPath),
      roots,
      p.viewType,
    );
    const html = p.webview.html;
    checkPage(html);
    const srcs = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(srcs.length >= 2);
    for (const s of srcs) {
      const file = s.replace(/^.*\/webview-resource/, '');
      assert.ok(
        roots.some((r) => file.startsWith(`${r}/`)),
        `${p.viewType} loads ${file} from outside its resource roots`,
      );
    }
  }
});
