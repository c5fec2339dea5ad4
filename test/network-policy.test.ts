// Network policy (issue 7 item 5): nothing in PodLens opens a connection except the model
// downloader, which runs only when the user starts a download. Checked on the source: every
// import / require / import() in src/ and webview/ (TypeScript's pre-processor, so comments and
// strings do not count) — only src/host/models/download-http.ts may load http/https, nobody loads
// net/tls/dgram/http2/undici or an HTTP client package or spawns processes, and no code uses the
// global network APIs (fetch, WebSocket, XMLHttpRequest, EventSource, sendBeacon); the
// downloader is reachable only through download.ts ← download-command.ts. The webview CSP allows
// no connections at all. Not covered: native addons (onnxruntime-node does no networking).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { buildWebviewHtml, contentSecurityPolicy } from '../src/host/webview/webview-html';
import { ROOT, SOURCE_FILE as SOURCE, sourceFiles } from './helpers';

const DOWNLOADER = 'src/host/models/download-http.ts';
const HTTP = new Set(['http', 'https']);
const NEVER = new Set([
  'net',
  'tls',
  'dgram',
  'http2',
  'undici',
  'child_process',
  'cluster',
  'inspector',
  'node-fetch',
  'axios',
  'got',
  'ws',
  'request',
  'superagent',
  'cross-fetch',
  'isomorphic-fetch',
  'socket.io-client',
]);
const GLOBAL_APIS = new Set(['fetch', 'WebSocket', 'XMLHttpRequest', 'EventSource', 'sendBeacon', 'RTCPeerConnection']);

const SCANNED = [...sourceFiles('src'), ...sourceFiles('webview')];
const code = new Map(SCANNED.map((f) => [f, fs.readFileSync(path.join(ROOT, f), 'utf8')]));
const imports = (f: string): string[] =>
  ts.preProcessFile(code.get(f)!, true, true).importedFiles.map((i) => i.fileName);
const builtin = (spec: string): string => spec.replace(/^node:/, '').split('/')[0]!;
const resolve = (from: string, spec: string): string =>
  path.posix.normalize(path.posix.join(path.posix.dirname(from), spec)).replace(SOURCE, '');

/** Identifiers used in code (not comments or strings), e.g. `fetch` in `fetch(url)` or `globalThis.fetch`. */
function identifiers(f: string): Set<string> {
  const out = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n)) out.add(n.text);
    n.forEachChild(visit);
  };
  visit(ts.createSourceFile(f, code.get(f)!, ts.ScriptTarget.ES2022, true));
  return out;
}

test('the scan sees the source tree (and the downloader)', () => {
  assert.ok(SCANNED.length > 50, `${SCANNED.length} files`);
  assert.ok(SCANNED.includes(DOWNLOADER));
  assert.ok(
    imports(DOWNLOADER).some((s) => builtin(s) === 'https'),
    'the check would catch an https import',
  );
});

test('only the downloader imports http/https; nothing imports raw sockets, HTTP client packages or child processes', () => {
  const bad: string[] = [];
  for (const f of SCANNED) {
    for (const spec of imports(f)) {
      const b = builtin(spec);
      if (HTTP.has(b) && f !== DOWNLOADER) bad.push(`${f}: ${spec}`);
      if (NEVER.has(b)) bad.push(`${f}: ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('no code uses the global network APIs (fetch, WebSocket, XMLHttpRequest, EventSource, sendBeacon)', () => {
  const bad = SCANNED.flatMap((f) =>
    [...identifiers(f)].filter((id) => GLOBAL_APIS.has(id)).map((id) => `${f}: ${id}`),
  );
  assert.deepEqual(bad, []);
});

test('the downloader is reached only through download.ts, and that only from the download command', () => {
  const importers = (target: string): string[] =>
    SCANNED.filter((f) => imports(f).some((s) => s.startsWith('.') && resolve(f, s) === target));
  assert.deepEqual(importers('src/host/models/download-http'), ['src/host/models/download.ts']);
  assert.deepEqual(importers('src/host/models/download'), ['src/host/models/download-command.ts']);
});

test('webview CSP: default-src and connect-src none, no remote origins, no inline or eval scripts', () => {
  const csp = contentSecurityPolicy('https://x.vscode-resource.test', 'n0nce', 's7yle');
  const directives = new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([k, ...v]) => [k!, v]),
  );
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('connect-src'), ["'none'"]);
  assert.deepEqual(directives.get('script-src'), ["'nonce-n0nce'"]);
  for (const [k, v] of directives) {
    for (const src of v)
      assert.ok(
        !/^(https?:|wss?:|\*|'unsafe-inline'|'unsafe-eval')/.test(src) || src === 'https://x.vscode-resource.test',
        `${k} ${src}`,
      );
  }
  const html = buildWebviewHtml({
    title: 't',
    cspSource: 'https://x.vscode-resource.test',
    nonce: 'n0nce',
    styleNonce: 's7yle',
    scriptUri: 'https://x.vscode-resource.test/a.js',
    styleUris: [],
    view: 'chat',
  });
  const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1];
  assert.equal(meta, csp, 'every page carries this policy');
});
