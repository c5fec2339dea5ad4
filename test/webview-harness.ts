// Runs the real webview bundles in real Chromium (docs "Fallback plan" 2): esbuild bundles
// webview/*/main.ts into out/webview-test/, a loopback HTTP server serves the very HTML the host
// builds (src/host/webview/webview-html.ts, same CSP with a nonce) plus the media CSS and a VS Code theme
// fixture, and playwright-core drives Debian's /usr/bin/chromium. A mock acquireVsCodeApi records
// what the page posts; host → webview messages go in through window.postMessage, as in VS Code.
// The page also records CSP violations and console warnings for the assertions.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { AddressInfo } from 'node:net';
import * as esbuild from 'esbuild';
import { chromium, Browser, Page } from 'playwright-core';
import { buildWebviewHtml, makeNonce } from '../src/host/webview/webview-html';
import { ROOT } from './helpers';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * The little of the browser that page-side callbacks (page.evaluate) touch, typed here because
 * the Node code is compiled without the DOM lib on purpose. Use as `(globalThis as unknown as Page$)`.
 */
export interface PageElement {
  readonly tagName: string;
  readonly textContent: string | null;
  readonly childElementCount: number;
  readonly attributes: Iterable<{ name: string }>;
  readonly classList: { contains(c: string): boolean };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement> & { length: number };
  hasAttribute(name: string): boolean;
  getAttribute(name: string): string | null;
}
export interface Page$ {
  document: PageElement & {
    addEventListener(type: string, l: (e: { violatedDirective: string; blockedURI: string }) => void): void;
  };
  console: { warn(...a: unknown[]): void };
  postMessage(message: unknown, targetOrigin: string): void;
  acquireVsCodeApi?: () => unknown;
  __sent: { kind: string; id?: number; method?: string; params?: Record<string, unknown> }[];
  __csp: string[];
  __warnings: string[];
  __pwned?: unknown;
}
const BUNDLES = path.join(ROOT, 'out/webview-test');
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html' };

export interface Harness {
  origin: string;
  browser: Browser;
  open(
    view: 'chat' | 'visualizer',
    opts?: { theme?: 'dark' | 'light'; width?: number; height?: number },
  ): Promise<Page>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)`);
  await esbuild.build({
    entryPoints: {
      chat: path.join(ROOT, 'webview/chat/main.ts'),
      visualizer: path.join(ROOT, 'webview/visualizer/main.ts'),
    },
    outdir: BUNDLES,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'chrome120',
    logLevel: 'warning',
  });
  const pages = new Map<string, string>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    let file: string | null = null;
    if (pages.has(url.pathname)) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(pages.get(url.pathname));
      return;
    }
    const m = /^\/(bundle|media|theme)\/([\w.-]+)$/.exec(url.pathname);
    if (m) {
      const dir = { bundle: BUNDLES, media: path.join(ROOT, 'media'), theme: path.join(ROOT, 'test/fixtures/webview') }[
        m[1] as 'bundle' | 'media' | 'theme'
      ];
      file = path.join(dir, m[2]!);
    }
    if (!file || !fs.existsSync(file)) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
    res.end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  let n = 0;
  return {
    origin,
    browser,
    async open(view, opts = {}) {
      const name = `/${view}-${n++}.html`;
      pages.set(
        name,
        buildWebviewHtml({
          title: view,
          view,
          cspSource: origin,
          nonce: makeNonce(),
          scriptUri: `${origin}/bundle/${view}.js`,
          styleUris: [
            `${origin}/theme/theme-${opts.theme ?? 'dark'}.css`,
            `${origin}/media/webview.css`,
            `${origin}/media/${view}.css`,
          ],
        }),
      );
      const page = await browser.newPage({ viewport: { width: opts.width ?? 900, height: opts.height ?? 700 } });
      page.on('pageerror', (e) => {
        throw e;
      });
      await page.addInitScript(() => {
        const w = globalThis as unknown as Page$;
        const sent: Page$['__sent'] = [];
        const csp: string[] = [];
        const warnings: string[] = [];
        w.__sent = sent;
        w.__csp = csp;
        w.__warnings = warnings;
        let state: unknown;
        w.acquireVsCodeApi = () => ({
          postMessage: (m: Page$['__sent'][number]) => sent.push(m),
          getState: () => state,
          setState: (s: unknown) => {
            state = s;
          },
        });
        w.document.addEventListener('securitypolicyviolation', (e) =>
          csp.push(`${e.violatedDirective}: ${e.blockedURI}`),
        );
        const warn = w.console.warn.bind(w.console);
        w.console.warn = (...a: unknown[]) => {
          warnings.push(a.map(String).join(' '));
          warn(...a);
        };
      });
      await page.goto(`${origin}${name}`);
      await page.waitForFunction(() => (globalThis as unknown as Page$).__sent.some((m) => m.kind === 'ready'));
      return page;
    },
    async close() {
      await browser.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Post a host → webview message the way VS Code delivers it. */
export async function post(page: Page, message: unknown): Promise<void> {
  await page.evaluate((m) => (globalThis as unknown as Page$).postMessage(m, '*'), message);
}

/** What the page posted to the host so far. */
export const sent = (page: Page): Promise<Page$['__sent']> =>
  page.evaluate(() => (globalThis as unknown as Page$).__sent);

/** Any of the page's recorded values. */
export const recorded = <K extends '__csp' | '__warnings' | '__sent'>(page: Page, key: K): Promise<Page$[K]> =>
  page.evaluate((k: string) => (globalThis as unknown as Record<string, unknown>)[k], key) as Promise<Page$[K]>;

export const artifacts = (): string => {
  const dir = path.join(ROOT, 'artifacts');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
};
