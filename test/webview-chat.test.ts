// The chat webview's controls in real Chromium (test/webview-harness.ts, mock acquireVsCodeApi):
// code-block buttons post typed code/copy, code/insert and code/open requests with the block's
// text and fence language and show the host's answer; context chips are drawn from chat/context
// and × / + post chat/chip; the token meter warns and says what was left out; a replayed history
// renders with per-answer stats ("N tokens reused") and Regenerate posts chat/regenerate; New
// chat posts chat/clear; a link in an answer is opened only through the host (one link/open
// request per click, middle-click or Enter; the page never navigates), and javascript: links
// lose their href. Then screenshots of a realistic chat in the dark and light themes go to
// artifacts/ (git-ignored), and to docs/screenshots/ with PODLENS_UPDATE_SCREENSHOTS=1 (for a
// human to look at; nothing compares pixels).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Page } from 'playwright-core';
import { artifacts, Harness, Page$, post, recorded, sent, startHarness } from './webview-harness';
import { ROOT } from './helpers';
import { ChatContextView } from '../src/shared/chat-context';
import { AnswerStats, Turn } from '../src/shared/protocol';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h?.close());

const stats: AnswerStats = {
  finishReason: 'eos',
  promptTokens: 14,
  reusedTokens: 1186,
  generatedTokens: 61,
  ttftMs: 212,
  decodeTokensPerSecond: 58.3,
  prefillTokensPerSecond: 390,
  totalMs: 1260,
  contextTokens: 1261,
  contextSize: 4096,
};
const ANSWER = [
  '`predictLevel` interpolates between the two nearest tide extremes with a cosine curve:\n\n',
  '```ts\nexport function predictLevel(t: number, lo: Extreme, hi: Extreme): number {\n',
  '  const x = (t - lo.time) / (hi.time - lo.time);\n  return lo.level + (hi.level - lo.level) * (1 - Math.cos(Math.PI * x)) / 2;\n}\n```\n\n',
  'To try it from a shell:\n\n```bash\nnpx ts-node src/predict.ts 2026-11-25T06:00\n```\n',
].join('');
const history: Turn[] = [
  { id: 1, role: 'user', text: 'Which file predicts the water level?', status: 'done', origin: 'chat' },
  {
    id: 2,
    role: 'assistant',
    text: '`src/predict.ts` — see `predictLevel`.',
    status: 'done',
    origin: 'chat',
    stats: { ...stats, reusedTokens: 0, promptTokens: 1190 },
  },
  { id: 3, role: 'user', text: 'How does predictLevel work?', status: 'done', origin: 'chat' },
  { id: 4, role: 'assistant', text: ANSWER, status: 'done', origin: 'chat', stats },
];
const context = (over: Partial<ChatContextView['meter']> = {}, fileOn = true): ChatContextView => ({
  chips: [
    {
      kind: 'workspace',
      enabled: true,
      available: true,
      label: 'Workspace',
      detail: '2 files',
      tokens: 1020,
      files: 2,
    },
    {
      kind: 'file',
      enabled: fileOn,
      available: true,
      label: 'predict.ts',
      detail: 'src/predict.ts',
      ...(fileOn ? { tokens: 140 } : {}),
    },
    {
      kind: 'selection',
      enabled: true,
      available: false,
      label: 'Selection',
      detail: 'Nothing is selected in the editor.',
    },
  ],
  meter: { used: 1300, window: 4096, reserved: 512, level: 'ok', leftOut: [], ...over },
});

async function chatWith(theme: 'dark' | 'light' = 'dark'): Promise<Page> {
  const page = await h.open('chat', { theme, width: 760, height: 860 });
  await post(page, {
    kind: 'event',
    topic: 'model/status',
    data: { state: 'ready', model: 'SmolLM2-135M-Instruct.Q4_1.gguf', contextSize: 4096 },
  });
  await post(page, { kind: 'event', topic: 'chat/transcript', data: { turns: history } });
  await post(page, { kind: 'event', topic: 'chat/context', data: context() });
  await page.locator('[data-turn="4"] .code-actions').first().waitFor();
  return page;
}

const lastRequest = async (page: Page, method: string): Promise<Page$['__sent'][number]> => {
  await page.waitForFunction((m) => (globalThis as unknown as Page$).__sent.some((x) => x.method === m), method);
  return (await sent(page)).filter((x) => x.method === method).at(-1)!;
};

test('code blocks: Copy, Insert and New File post the block and its language; the outcome is shown', async () => {
  const page = await chatWith();
  const blocks = page.locator('[data-turn="4"] .code-block');
  assert.equal(await blocks.count(), 2);
  assert.equal(await blocks.nth(0).locator('.lang').innerText(), 'ts');
  const code = await blocks.nth(0).locator('pre code').innerText();
  await blocks.nth(0).locator('[data-action="code/copy"]').click();
  const copy = await lastRequest(page, 'code/copy');
  assert.deepEqual(copy.params, { code: `${code}\n`.replace(/\n\n$/, '\n'), language: 'ts' });
  assert.match(String(copy.params!.code), /^export function predictLevel[\s\S]*\n}\n$/);
  await post(page, { kind: 'response', id: copy.id, ok: true, method: 'code/copy', result: {} });
  await blocks.nth(0).locator('.code-status', { hasText: 'Copied' }).waitFor();

  await blocks.nth(0).locator('[data-action="code/insert"]').click();
  const insert = await lastRequest(page, 'code/insert');
  assert.equal(insert.params!.language, 'ts');
  await post(page, {
    kind: 'response',
    id: insert.id,
    ok: false,
    method: 'code/insert',
    error: 'open a file in an editor first, then click Insert at Cursor',
  });
  await blocks.nth(0).locator('.code-status.error', { hasText: 'open a file in an editor first' }).waitFor();

  await blocks.nth(1).locator('[data-action="code/open"]').click();
  const open = await lastRequest(page, 'code/open');
  assert.deepEqual(open.params, { code: 'npx ts-node src/predict.ts 2026-11-25T06:00\n', language: 'bash' });
  assert.deepEqual(await recorded(page, '__csp'), []);
  await page.close();
});

test('context chips: drawn from the host, × and + post chat/chip; unavailable chips are hidden', async () => {
  const page = await chatWith();
  const chips = page.locator('.chips .chip');
  assert.equal(await chips.count(), 2, 'no selection: no selection chip');
  assert.match(await chips.nth(0).innerText(), /Workspace\s*2 files · 1020 tok/);
  assert.equal(await chips.nth(0).getAttribute('title'), '2 files');
  assert.match(await chips.nth(1).innerText(), /predict\.ts\s*140 tok/);
  await chips.nth(1).locator('.chip-toggle').click();
  assert.deepEqual((await lastRequest(page, 'chat/chip')).params, { kind: 'file', enabled: false });
  await post(page, { kind: 'event', topic: 'chat/context', data: context({}, false) });
  await page.locator('.chip[data-kind="file"][data-enabled="false"]').waitFor();
  assert.equal(await page.locator('.chip[data-kind="file"] .tokens').count(), 0);
  assert.equal(await page.locator('.chip[data-kind="file"] .chip-toggle').innerText(), '+');
  await page.locator('.chip[data-kind="file"] .chip-toggle').click();
  await page.waitForFunction(
    () => (globalThis as unknown as Page$).__sent.filter((x) => x.method === 'chat/chip').length === 2,
  );
  assert.deepEqual((await lastRequest(page, 'chat/chip')).params, { kind: 'file', enabled: true });
  await page.close();
});

test('token meter: used / reserved / window; warns before overflow and says what was left out', async () => {
  const page = await chatWith();
  assert.equal(await page.locator('.meter').getAttribute('data-level'), 'ok');
  assert.match(
    await page.locator('.meter .text').innerText(),
    /^1300 used \+ 512 reserved for the answer \/ 4096 tokens \(44%\)$/,
  );
  assert.equal(await page.locator('.meter .warning').count(), 0);
  await post(page, {
    kind: 'event',
    topic: 'chat/context',
    data: context({
      used: 3300,
      level: 'warn',
      leftOut: ['src/big.ts: over the token budget (5000 tokens, 900 left)'],
    }),
  });
  await page.locator('.meter[data-level="warn"] .warning', { hasText: 'Close to the context window' }).waitFor();
  assert.equal(await page.locator('.meter .left-out').innerText(), 'Left out: src/big.ts');
  assert.match((await page.locator('.meter .left-out').getAttribute('title')) ?? '', /5000 tokens/);
  const widths = await page.evaluate(() => {
    const w = globalThis as unknown as {
      document: { querySelector(s: string): { getBoundingClientRect(): { width: number } } };
    };
    const bar = w.document.querySelector('.meter .bar').getBoundingClientRect().width;
    return [
      w.document.querySelector('.meter .used').getBoundingClientRect().width / bar,
      w.document.querySelector('.meter .reserved').getBoundingClientRect().width / bar,
    ];
  });
  assert.ok(Math.abs(widths[0]! - 3300 / 4096) < 0.02 && Math.abs(widths[1]! - 512 / 4096) < 0.02, String(widths));
  await post(page, {
    kind: 'event',
    topic: 'chat/context',
    data: context({ used: 3900, level: 'over', leftOut: ['2 earliest messages of the conversation'] }),
  });
  await page.locator('.meter[data-level="over"] .warning', { hasText: 'no longer fits' }).waitFor();
  assert.equal(await page.locator('.meter .left-out').innerText(), 'Left out: 2 earliest messages of the conversation');
  await page.close();
});

test("history replay shows each answer's stats; Regenerate and New chat post their requests", async () => {
  const page = await chatWith();
  assert.equal(await page.locator('.turn').count(), 4);
  assert.equal(await page.locator('.empty').isVisible(), false);
  assert.equal(
    await page.locator('[data-turn="4"] .meta .stats').innerText(),
    'TTFT 212 ms · 58.3 tok/s · 61 tokens · prompt 14 · 1186 tokens reused · context 1261 / 4096',
  );
  // Regenerate sits under the last answer only.
  assert.equal(await page.locator('#regenerate').count(), 1);
  assert.equal(await page.locator('[data-turn="4"] .actions #regenerate').count(), 1);
  await page.locator('#regenerate').click();
  const r = await lastRequest(page, 'chat/regenerate');
  assert.deepEqual(r.params, {});
  assert.equal(await page.locator('#regenerate').count(), 0, 'hidden while answering');
  assert.equal(await page.locator('#send').getAttribute('disabled'), '');
  // The host drops the old answer and streams a new one.
  await post(page, { kind: 'event', topic: 'chat/transcript', data: { turns: history.slice(0, 2) } });
  await post(page, { kind: 'event', topic: 'chat/turn', data: { ...history[2]!, id: 5 } });
  await post(page, {
    kind: 'event',
    topic: 'chat/turn',
    data: { id: 6, role: 'assistant', text: '', status: 'streaming', origin: 'chat' },
  });
  await post(page, { kind: 'event', topic: 'chat/delta', data: { turnId: 6, text: 'It blends the two extremes.' } });
  await post(page, { kind: 'event', topic: 'chat/finish', data: { turnId: 6, status: 'done', stats } });
  await post(page, {
    kind: 'response',
    id: r.id,
    ok: true,
    method: 'chat/regenerate',
    result: { turnId: 6, status: 'done', stats },
  });
  await page.locator('[data-turn="6"] .actions #regenerate').waitFor();
  assert.equal(await page.locator('[data-turn="4"]').count(), 0);
  // A summary (a command's turn) is not regenerated from the chat.
  await post(page, {
    kind: 'event',
    topic: 'chat/turn',
    data: { id: 7, role: 'user', text: 'Summarize README.md', status: 'done', origin: 'command' },
  });
  await post(page, {
    kind: 'event',
    topic: 'chat/turn',
    data: { id: 8, role: 'assistant', text: 'A tide predictor.', status: 'done', origin: 'command' },
  });
  await page.waitForFunction(() => (globalThis as unknown as Page$).document.querySelector('#regenerate') === null);
  await page.locator('#clear').click();
  assert.deepEqual((await lastRequest(page, 'chat/clear')).params, {});
  await page.close();
});

test('links: a click, middle-click or Enter posts link/open and the page stays put; javascript: links are inert', async () => {
  const page = await chatWith();
  const text =
    'See [x](https://example.com/a), <a href="javascript:globalThis.__pwned=1">raw</a> and [y](javascript:globalThis.__pwned=2).';
  await post(page, {
    kind: 'event',
    topic: 'chat/turn',
    data: { id: 9, role: 'assistant', text, status: 'done', origin: 'chat' },
  });
  const body = page.locator('[data-turn="9"] .body');
  await body.locator('a').first().waitFor();
  const url = page.url();
  const away: string[] = [];
  page.on('framenavigated', (f) => away.push(`navigated: ${f.url()}`));
  page.context().on('page', (p) => away.push(`new page: ${p.url()}`)); // new tabs and windows, middle-click's too
  page.context().on('request', (r) => {
    if (r.url().includes('example.com')) away.push(`request: ${r.url()}`);
  });
  // The sanitizer: the raw tag is shown as text, the markdown javascript: link keeps no href.
  assert.equal(await body.locator('a[href]').count(), 1);
  assert.equal(await body.locator('a[href="https://example.com/a"]').count(), 1);
  assert.match(await body.innerText(), /<a href="javascript:globalThis.__pwned=1">raw<\/a>/);
  assert.equal(await body.locator('a', { hasText: 'y' }).getAttribute('href'), null);
  const links = async (): Promise<Page$['__sent']> => (await sent(page)).filter((m) => m.method === 'link/open');

  await body.locator('a[href]').click();
  await page.waitForTimeout(300); // room for a navigation to start, if anything let one through
  const posted = await links();
  assert.equal(posted.length, 1);
  assert.deepEqual(posted[0]!.params, { href: 'https://example.com/a' });
  await post(page, { kind: 'response', id: posted[0]!.id, ok: true, method: 'link/open', result: { opened: true } });

  await body.locator('a[href]').click({ button: 'middle' });
  await body.locator('a[href]').click({ modifiers: ['Control'] });
  await body.locator('a[href]').focus();
  await page.keyboard.press('Enter');
  await body.locator('a', { hasText: 'y' }).click(); // no href: nothing to open
  await page.waitForTimeout(300);
  assert.deepEqual(
    (await links()).map((m) => m.params),
    Array(4).fill({ href: 'https://example.com/a' }),
  );
  assert.equal(page.url(), url);
  assert.deepEqual(away, []);
  assert.equal(await page.evaluate(() => (globalThis as unknown as Page$).__pwned), undefined);
  assert.deepEqual(await recorded(page, '__csp'), []);
  await page.close();
});

test('screenshots of the chat (dark and light)', async () => {
  const dirs = [
    artifacts(),
    ...(process.env.PODLENS_UPDATE_SCREENSHOTS === '1' ? [path.join(ROOT, 'docs/screenshots')] : []),
  ];
  for (const theme of ['dark', 'light'] as const) {
    const page = await chatWith(theme);
    await post(page, {
      kind: 'event',
      topic: 'chat/context',
      data: context({
        used: 3010,
        level: 'warn',
        leftOut: ['src/tables/harbours.json: over the token budget (2210 tokens, 640 left)'],
      }),
    });
    await page.locator('.meter[data-level="warn"]').waitFor();
    await page.locator('[data-turn="4"] .code-block').first().locator('[data-action="code/copy"]').click();
    const copy = await lastRequest(page, 'code/copy');
    await post(page, { kind: 'response', id: copy.id, ok: true, method: 'code/copy', result: {} });
    await page.locator('.code-status', { hasText: 'Copied' }).waitFor();
    await page.evaluate(() => {
      const s = (
        globalThis as unknown as { document: { querySelector(q: string): { scrollTop: number; scrollHeight: number } } }
      ).document.querySelector('.scroller');
      s.scrollTop = s.scrollHeight;
    });
    const png = await page.screenshot();
    for (const dir of dirs) fs.writeFileSync(path.join(dir, `chat-${theme}.png`), png);
    assert.deepEqual(await recorded(page, '__csp'), []);
    // What the screenshot shows: the answer's markdown rendered (two highlighted blocks with their
    // languages, no literal fences), the warning meter naming what was left out, readable text.
    const answer = page.locator('[data-turn="4"]');
    assert.equal(await answer.locator('.code-block').count(), 2);
    const text = await answer.innerText();
    assert.ok(!text.includes('```'), `raw fences on screen: ${text}`);
    assert.match(text, /predictLevel interpolates between the two nearest tide extremes/);
    assert.match(text, /npx ts-node src\/predict\.ts/);
    assert.match(await page.locator('.meter').innerText(), /harbours\.json/);
    const colors = await page.evaluate(() => {
      const d = (globalThis as unknown as { document: { body: unknown; querySelector(q: string): unknown } }).document;
      const style = (
        globalThis as unknown as { getComputedStyle(e: unknown): { color: string; backgroundColor: string } }
      ).getComputedStyle;
      return { bg: style(d.body).backgroundColor, fg: style(d.querySelector('[data-turn="4"]')).color };
    });
    const ratio = contrast(colors.fg, colors.bg);
    assert.ok(
      ratio >= 4.5,
      `${theme}: answer text ${colors.fg} on ${colors.bg}, contrast ${ratio.toFixed(2)} (WCAG AA needs 4.5)`,
    );
    await page.close();
  }
});

/** WCAG contrast ratio of two CSS rgb()/rgba() colors. */
function contrast(a: string, b: string): number {
  const lum = (c: string): number => {
    const [r, g, bl] = (c.match(/[\d.]+/g) ?? []).slice(0, 3).map((x) => {
      const v = Number(x) / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}
