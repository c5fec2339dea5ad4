// The chat and cache-visualizer webviews in real Chromium (test/webview-harness.ts): the ready
// handshake; a real SmolLM2 answer streamed token by token and rendered as markdown with its
// stats; a hostile answer (script tags, event-handler attributes, javascript: links, iframes,
// SVG) that must render inert — nothing executes, nothing even reaches the CSP; malformed host
// messages rejected; the composer's Send/Stop requests; the visualizer drawing real full-cache
// and PoD-cache snapshots. Screenshots go to artifacts/ (git-ignored) for a human to look at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { Page } from 'playwright-core';
import { Engine } from '../src/engine/engine';
import { buildCacheView, CacheView } from '../src/shared/cache-view';
import { AnswerStats, LoadChoice } from '../src/shared/protocol';
import { toSnapshotWire } from '../src/worker/snapshot';
import { artifacts, Harness, Page$, post, recorded, sent, startHarness } from './webview-harness';
import { modelPath, SMOLLM2 } from './helpers';
import * as fs from 'node:fs';
import { loadProfile, shippedProfilePath } from '../src/engine/eval/profile';
import { bytes } from '../webview/common/format';

let h: Harness;
let realAnswer: { pieces: string[]; stats: AnswerStats };
let realView: CacheView;
let realPodView: CacheView;

before(async () => {
  // A real answer and a real cache snapshot from the engine, to stream and draw.
  const engine = await Engine.load(modelPath(SMOLLM2), { contextSize: 1024 });
  try {
    const cache = engine.createCache();
    const pieces: string[] = [];
    const q = [
      {
        role: 'user' as const,
        content: 'Write a short JavaScript function that reverses a string, then explain it in one sentence.',
      },
    ];
    for await (const ev of engine.generate(cache, {
      prompt: engine.chatPrompt(q),
      maxTokens: 120,
      sampler: { temperature: 0 },
    })) {
      if ((ev.type === 'token' || ev.type === 'text') && ev.text) pieces.push(ev.text);
      if (ev.type === 'done') {
        const s = ev.stats;
        realAnswer = {
          pieces,
          stats: {
            finishReason: ev.reason,
            promptTokens: s.promptTokens,
            reusedTokens: s.reusedTokens,
            generatedTokens: s.generatedTokens,
            ttftMs: s.ttftMs,
            decodeTokensPerSecond: s.decodeTokensPerSecond,
            prefillTokensPerSecond: s.prefillTokensPerSecond,
            totalMs: s.totalMs,
            contextTokens: s.contextTokens,
            contextSize: engine.contextSize,
          },
        };
      }
    }
    realView = buildCacheView(toSnapshotWire(cache.snapshot()));
  } finally {
    await engine.dispose();
  }
  // The same prompt through a PoD cache (4 sinks + 28 recent, blocks of 3 layers), so that most
  // tokens are distant and the picture shows blocks, anchors and savings.
  const pod = await Engine.load(modelPath(SMOLLM2), {
    contextSize: 1024,
    kv: { kind: 'pod', sinks: 4, recent: 28, groupSize: 3 },
  });
  try {
    const cache = pod.createCache();
    const q = [
      {
        role: 'user' as const,
        content: 'Write a short JavaScript function that reverses a string, then explain it in one sentence.',
      },
    ];
    for await (const ev of pod.generate(cache, {
      prompt: pod.chatPrompt(q),
      maxTokens: 40,
      sampler: { temperature: 0 },
    }))
      void ev;
    realPodView = buildCacheView(toSnapshotWire(cache.snapshot()));
  } finally {
    await pod.dispose();
  }
  h = await startHarness();
});
after(() => h?.close());

const HOSTILE = [
  'Sure! Here is what you asked for:\n\n',
  '<script>window.__pwned = "script"</script>\n\n',
  '<img src=x onerror="window.__pwned = \'img\'">\n\n',
  "[click me](javascript:window.__pwned='md-link')\n\n",
  '<a href="javascript:window.__pwned=\'raw-link\'" id="raw">raw link</a>\n\n',
  '<svg onload="window.__pwned=\'svg\'"><circle r="5"/></svg>\n\n',
  '<iframe src="javascript:window.__pwned=\'iframe\'"></iframe>\n\n',
  '<div style="position:fixed;inset:0" onclick="window.__pwned=\'div\'">overlay</div>\n\n',
  '![tracker](http://127.0.0.1:1/pixel.png)\n\n',
  '[a real link](https://example.com/docs) and `inline <b>code</b>`\n',
];

async function inspect(page: Page): Promise<Record<string, unknown>> {
  return page.evaluate(() => {
    const w = globalThis as unknown as Page$;
    const root = w.document.querySelector('.transcript')!;
    const all = [...root.querySelectorAll('*')];
    return {
      pwned: w.__pwned ?? null,
      csp: w.__csp,
      scripts: root.querySelectorAll('script').length,
      active: root.querySelectorAll('iframe, object, embed, svg, img, style, form').length,
      onAttrs: all.flatMap((e) =>
        [...e.attributes].filter((a) => a.name.startsWith('on')).map((a) => `${e.tagName}.${a.name}`),
      ),
      styleAttrs: all.filter((e) => e.hasAttribute('style') && !e.classList.contains('caret')).length,
      hrefs: [...root.querySelectorAll('a')].map((a) => a.getAttribute('href')),
    };
  });
}

test('chat: a real answer streams as markdown with its stats; a hostile answer renders inert', async () => {
  const page = await h.open('chat');
  assert.deepEqual((await sent(page))[0], { kind: 'ready', view: 'chat' });
  await post(page, {
    kind: 'event',
    topic: 'model/status',
    data: { state: 'ready', model: 'SmolLM2-135M-Instruct.Q4_1.gguf', contextSize: 1024 },
  });
  await post(page, { kind: 'event', topic: 'chat/transcript', data: { turns: [] } });

  // 1) the real answer, one token per message
  await post(page, {
    kind: 'event',
    topic: 'chat/turn',
    data: {
      id: 1,
      role: 'user',
      text: 'Write a short JavaScript function that reverses a string, then explain it in one sentence.',
      status: 'done',
    },
  });
  await post(page, {
    kind: 'event',
    topic: 'chat/turn',
    data: { id: 2, role: 'assistant', text: '', status: 'streaming' },
  });
  for (const t of realAnswer.pieces)
    await post(page, { kind: 'event', topic: 'chat/delta', data: { turnId: 2, text: t } });
  await post(page, {
    kind: 'event',
    topic: 'chat/finish',
    data: { turnId: 2, status: 'done', stats: realAnswer.stats },
  });
  const expected = realAnswer.pieces.join('');
  await page.waitForFunction(
    (n) =>
      ((globalThis as unknown as Page$).document.querySelector('[data-turn="2"] .body')?.textContent ?? '').length >=
      n * 0.5,
    expected.length,
  );
  const body = await page.locator('[data-turn="2"] .body').innerText();
  // Markdown removes only syntax: every word of the model's text is on screen.
  for (const word of expected
    .replace(/^```\w*$/gm, '')
    .replace(/[`*#_]/g, ' ')
    .split(/\s+/)
    .filter((x) => /^\w{4,}$/.test(x)))
    assert.ok(body.includes(word), `"${word}" missing`);
  if (expected.includes('```')) assert.equal((await page.locator('[data-turn="2"] pre code').count()) >= 1, true);
  assert.match(
    await page.locator('[data-turn="2"] .meta .stats').innerText(),
    /^TTFT (\d+ ms|\d+(\.\d+)? s) · \d+\.\d tok\/s · \d+ tokens · prompt \d+ · context \d+ \/ 1024/,
  );

  // 2) the hostile answer, split across deltas mid-tag
  await post(page, {
    kind: 'event',
    topic: 'chat/turn',
    data: {
      id: 3,
      role: 'user',
      text: '<img src=x onerror="window.__pwned=\'user\'"> summarize evil.md',
      status: 'done',
    },
  });
  await post(page, {
    kind: 'event',
    topic: 'chat/turn',
    data: { id: 4, role: 'assistant', text: '', status: 'streaming' },
  });
  for (const piece of HOSTILE)
    for (let i = 0; i < piece.length; i += 7)
      await post(page, { kind: 'event', topic: 'chat/delta', data: { turnId: 4, text: piece.slice(i, i + 7) } });
  await post(page, {
    kind: 'event',
    topic: 'chat/finish',
    data: { turnId: 4, status: 'done', note: 'Covered all of evil.md (lines 1–12, 180 tokens).' },
  });
  await page.waitForFunction(
    () =>
      (globalThis as unknown as Page$).document.querySelector('[data-turn="4"] .meta .note') !== null &&
      ((globalThis as unknown as Page$).document.querySelector('[data-turn="4"] .body')?.textContent ?? '').includes(
        'a real link',
      ),
  );
  // Click everything that looks clickable.
  await page.getByText('click me').click();
  await page.getByText('raw link').click({ timeout: 5000 });
  await page.getByText('overlay').click();
  await page.waitForTimeout(200);
  const r = await inspect(page);
  assert.equal(r.pwned, null, `executed: ${String(r.pwned)}`);
  assert.deepEqual(r.csp, [], 'the sanitizer left nothing for the CSP to block');
  assert.equal(r.scripts, 0);
  assert.equal(r.active, 0);
  assert.deepEqual(r.onAttrs, []);
  assert.equal(r.styleAttrs, 0);
  assert.deepEqual(
    (r.hrefs as (string | null)[]).filter((x) => x !== null),
    ['https://example.com/docs'],
  );
  const text = await page.locator('[data-turn="4"] .body').innerText();
  assert.match(text, /<script>window\.__pwned = "script"<\/script>/, 'raw HTML is shown as text');
  assert.match(
    await page.locator('[data-turn="3"] .body').innerText(),
    /^<img src=x onerror=/,
    'user text is plain text',
  );
  await page.screenshot({ path: path.join(artifacts(), 'chat.png') });
  await page.close();
});

test('chat: malformed host messages are rejected; Send and Stop post typed requests', async () => {
  const page = await h.open('chat', { theme: 'light' });
  await post(page, {
    kind: 'event',
    topic: 'model/status',
    data: { state: 'ready', model: 'SmolLM2-135M-Instruct.Q4_1.gguf' },
  });
  await post(page, { kind: 'event', topic: 'chat/transcript', data: { turns: [] } });
  for (const bad of [
    {
      kind: 'event',
      topic: 'chat/turn',
      data: { id: 1, role: 'assistant', text: '<b>x</b>', status: 'done', html: '<script>1</script>' },
    },
    { kind: 'event', topic: 'chat/delta', data: { turnId: '1', text: 'x' } },
    { kind: 'eval', code: 'window.__pwned = 1' },
    'chat/delta',
  ])
    await post(page, bad);
  await page.waitForTimeout(100);
  const warnings = await recorded(page, '__warnings');
  assert.equal(
    warnings.filter((w) => w.includes('malformed message from the host rejected')).length,
    4,
    warnings.join('\n'),
  );
  assert.equal(await page.locator('.turn').count(), 0);

  await page.locator('#input textarea').fill('What does src/engine/engine.ts do?');
  await page.locator('#input textarea').press('Enter');
  await page.waitForFunction(() => (globalThis as unknown as Page$).__sent.some((m) => m.kind === 'request'));
  const req = (await sent(page)).find((m) => m.kind === 'request')!;
  assert.deepEqual(req, {
    kind: 'request',
    id: 1,
    method: 'chat/send',
    params: { text: 'What does src/engine/engine.ts do?' },
  });
  assert.equal(await page.locator('#send').getAttribute('disabled'), '');
  await page.locator('#stop').click();
  await page.waitForFunction(() => (globalThis as unknown as Page$).__sent.some((m) => m.method === 'chat/stop'));
  // The host answers chat/send; the composer is enabled again.
  await post(page, {
    kind: 'event',
    topic: 'chat/turn',
    data: { id: 1, role: 'user', text: 'What does src/engine/engine.ts do?', status: 'done' },
  });
  await post(page, {
    kind: 'event',
    topic: 'chat/turn',
    data: { id: 2, role: 'assistant', text: '', status: 'streaming' },
  });
  await post(page, { kind: 'event', topic: 'chat/delta', data: { turnId: 2, text: 'It is the engine facade' } });
  await post(page, { kind: 'event', topic: 'chat/finish', data: { turnId: 2, status: 'stopped' } });
  await post(page, {
    kind: 'response',
    id: 1,
    ok: true,
    method: 'chat/send',
    result: { turnId: 2, status: 'stopped' },
  });
  await page.waitForFunction(
    () => !(globalThis as unknown as Page$).document.querySelector('#send')?.hasAttribute('disabled'),
  );
  assert.equal(await page.locator('[data-turn="2"] .meta .status').innerText(), 'Stopped.');
  assert.deepEqual(await recorded(page, '__csp'), []);
  await page.screenshot({ path: path.join(artifacts(), 'chat-light.png') });
  await page.close();
});

/** The visualizer showing `view` of the model `model` (the header names it; the screenshot must not lie). */
async function drawView(
  view: CacheView | null,
  file: string,
  choice?: LoadChoice,
  model = 'SmolLM2-135M-Instruct.Q4_1.gguf',
): Promise<Page> {
  const page = await h.open('visualizer', { width: 1000, height: 900 });
  await post(page, {
    kind: 'event',
    topic: 'model/status',
    data: {
      state: 'ready',
      model,
      contextSize: 1024,
      ...(choice ? { choice } : {}),
    },
  });
  await post(page, { kind: 'event', topic: 'cache/view', data: { view, updatedAt: Date.UTC(2026, 10, 25, 12, 0, 0) } });
  await page.waitForFunction(
    () => (globalThis as unknown as Page$).document.querySelector('.content')!.childElementCount > 0,
  );
  assert.deepEqual(await recorded(page, '__csp'), []);
  await page.screenshot({ path: path.join(artifacts(), file) });
  return page;
}

test('visualizer: draws a real full-cache snapshot (layers × KV heads, bytes, tokens)', async () => {
  const page = await drawView(realView, 'visualizer.png');
  assert.equal(await page.locator('.grid .row:not(.header)').count(), 30);
  assert.equal(await page.locator('.grid .cell').count(), 30 * 3);
  assert.equal(await page.locator('.grid .cell.full').count(), 90);
  assert.equal(await page.locator('.grid .cell.anchor').count(), 0);
  const tiles = await page.locator('.tiles').innerText();
  assert.match(tiles, new RegExp(`${realView.tokens}\\s+tokens in cache`));
  assert.match(tiles, /0%\s+saved/);
  assert.match(await page.locator('.ranges').innerText(), new RegExp(`all ${realView.tokens} tokens are kept`));
  assert.match(
    (await page.locator('.grid .cell').first().getAttribute('title')) ?? '',
    /layer 0 · KV head 0 · full cache/,
  );
  await page.close();
  const empty = await drawView(null, 'visualizer-empty.png');
  assert.match(await empty.locator('.empty').innerText(), /No KV cache yet/);
  await empty.close();
});

test('visualizer: the header says which cache and context were chosen and why; the memory budget sits next to the KV bytes', async () => {
  const choice: LoadChoice = {
    cache:
      'full cache — auto: no PoD profile for this model ("PodLens: Calibrate Model", podlens.kv.profile, or smol.pod-profile.json next to the model)',
    context:
      '1024 tokens — auto: the largest that fits the 1.2 GB memory budget (60% of 2.0 GB free); the model was trained for 8192',
    budgetBytes: 1288490188,
    estimateBytes: 603979776,
  };
  const page = await drawView(realView, 'visualizer-choice.png', choice);
  const header = await page.locator('header .choice').innerText();
  assert.equal(header, `KV cache: ${choice.cache}\nContext: ${choice.context}`);
  await page.locator('.tiles .tile', { hasText: 'memory budget' }).waitFor(); // draws are coalesced (≤ 1 per 100 ms)
  const tiles = await page.locator('.tiles .tile').allInnerTexts();
  const at = tiles.findIndex((t) => /memory budget/.test(t));
  assert.ok(at > 0 && /KV bytes used/.test(tiles[at - 1]!), tiles.join(' | '));
  assert.match(tiles[at]!, /^1\.20 GB\s+memory budget$/);
  assert.match(
    (await page.locator('.tiles .tile').nth(at).getAttribute('title')) ?? '',
    /\(estimated 576\.0 MB\) fit this budget/,
  );
  // A fixed context has no budget: no tile; no model loaded yet: no choice line.
  await post(page, {
    kind: 'event',
    topic: 'model/status',
    data: {
      state: 'ready',
      model: 'm.gguf',
      contextSize: 1024,
      choice: {
        cache: 'full cache — podlens.kv.cache is "full"',
        context: '1024 tokens — set by podlens.engine.contextSize',
      },
    },
  });
  await page.waitForFunction(
    () => !/memory budget/.test((globalThis as unknown as Page$).document.querySelector('.tiles')!.textContent ?? ''),
  );
  assert.match(
    await page.locator('header .choice').innerText(),
    /Context: 1024 tokens — set by podlens\.engine\.contextSize$/,
  );
  await post(page, { kind: 'event', topic: 'model/status', data: { state: 'none' } });
  assert.equal(await page.locator('header .choice').isHidden(), true);
  await page.close();
});

test('visualizer: a real PoD cache snapshot draws blocks, anchors, token ranges and savings', async () => {
  const v = realPodView;
  assert.equal(v.kind, 'pod');
  const page = await drawView(v, 'visualizer-pod.png');
  // Blocks of 3 adjacent layers over 30 layers: 10 anchor layers × 3 KV heads.
  assert.equal(await page.locator('.grid .cell.anchor').count(), 30);
  assert.equal(await page.locator('.grid .cell.full').count(), 0);
  assert.match(await page.locator('.tiles').innerText(), new RegExp(`${Math.round(v.savedPercent)}%\\s+saved`));
  assert.ok(v.savedPercent > 0);
  assert.match(
    await page.locator('.range-legend').innerText(),
    new RegExp(`sink ${v.sinkTokens}\\s+distant ${v.distantTokens}\\s+recent ${v.recentTokens}`),
  );
  assert.equal(v.sinkTokens! + v.distantTokens! + v.recentTokens!, v.tokens);
  assert.match(
    (await page.locator('.grid .cell').nth(4).getAttribute('title')) ?? '',
    /layer 1 · KV head 1 · shares layer 0's attention/,
  );
  // Per-layer bytes follow the PoD accounting and add up to the cache's own total (exact: integer bytes).
  assert.equal(
    v.layers.reduce((a, l) => a + l.bytes, 0),
    v.usedBytes,
  );
  assert.equal(v.layers[0]!.bytes, v.layers[0]!.fullBytes, 'an anchor layer keeps every token in full');
  assert.ok(v.layers[1]!.bytes < v.layers[1]!.fullBytes);
  await page.close();
});

test('visualizer: in a narrow panel the layer bars and their figures stay inside the panel (the figure cut with an ellipsis, whole in the hover)', async () => {
  const page = await drawView(realPodView, 'visualizer-pod-narrow.png');
  await page.setViewportSize({ width: 250, height: 900 });
  type Boxed = { getBoundingClientRect(): { right: number }; parentElement: Boxed };
  const boxes = await page.evaluate(() =>
    [...(globalThis as unknown as Page$).document.querySelectorAll('.grid .bytes-text')].map((t) => {
      const e = t as unknown as Boxed;
      return { right: e.getBoundingClientRect().right, barRight: e.parentElement.getBoundingClientRect().right };
    }),
  );
  assert.equal(boxes.length, 30);
  const out = boxes.filter((b) => b.right > b.barRight + 0.5);
  assert.deepEqual(out, [], 'no figure runs past the end of its bar');
  const wide = boxes.filter((b) => b.barRight > 250);
  assert.deepEqual(wide, [], 'no bar runs past the panel (no sideways scrolling)');
  assert.match((await page.locator('.grid .bytes').nth(1).getAttribute('title')) ?? '', /layer 1: .* of K\+V in use/);
  await page.screenshot({ path: path.join(artifacts(), 'visualizer-pod-narrow.png') });
  await page.close();
});

test('visualizer: the shipped Qwen 0.5B profile draws its local units striped, with their own tooltip, and the bytes they save', async () => {
  const model = modelPath('qwen2.5-coder-0.5b-instruct.gguf');
  const kv = loadProfile(shippedProfilePath(model), model);
  const e = await Engine.load(model, { contextSize: 1024, kv });
  let v: CacheView;
  try {
    const cache = e.createCache();
    const text = fs.readFileSync('node_modules/typescript/lib/lib.es2015.iterable.d.ts', 'utf8');
    await e.decoder.step(e.tokenizer.encode(text).slice(0, 900), cache, [0]);
    v = buildCacheView(toSnapshotWire(cache.snapshot()));
  } finally {
    await e.dispose();
  }
  const local = kv.anchors!.flat().filter((a) => a === -1).length;
  assert.equal(v.localCells, local);
  const page = await drawView(v, 'visualizer-pod-local.png', undefined, path.basename(model));
  assert.equal(await page.locator('.grid .cell.local').count(), local);
  assert.match(
    (await page.locator('.grid .cell.local').first().getAttribute('title')) ?? '',
    /local: keeps sink and recent tokens only/,
  );
  assert.match(await page.locator('.grid-box .muted').first().innerText(), new RegExp(`${local} local cells`));
  // Each layer's figure compares with the full cache: 'used / full full' where the layer saves,
  // 'used = full' where it does not (no allocation figure beside them: that is the track and hover).
  const labels = await page.locator('.grid .bytes-text').allInnerTexts();
  assert.deepEqual(
    labels,
    v.layers.map((l) =>
      l.bytes < l.fullBytes ? `${bytes(l.bytes)} / ${bytes(l.fullBytes)} full` : `${bytes(l.bytes)} = full`,
    ),
  );
  assert.ok(labels.some((t) => t.endsWith('= full')) && labels.some((t) => t.endsWith(' full') && t.includes(' / ')));
  // A local unit saves its distant K and V: saved = local share × distant / all tokens (docs/pod-qwen.md §2).
  const expected = ((100 * local) / kv.anchors!.flat().length) * (v.distantTokens! / v.tokens);
  assert.ok(
    v.distantTokens! > 0 && Math.abs(v.savedPercent - expected) < 1e-9,
    `saved ${v.savedPercent}% vs ${expected}%`,
  );
  await page.close();
});
