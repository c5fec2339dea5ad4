// The cache visualizer's calibration heatmap in real Chromium (test/webview-harness.ts): a real
// SmolLM2 profile (docs/pod-report/profile-2048.json, read by the host's reader) and a real PoD
// cache built with that profile's blocks. One layers × layers heatmap per KV head with its blocks
// outlined; hovering a grid cell shows its similarity to its block's anchor, hovering a heatmap
// cell the similarity of two layers; colours follow the theme (dark and light); a burst of cache
// updates is coalesced; no CSP violations. The dark screenshot goes to artifacts/, and to
// docs/screenshots/ with PODLENS_UPDATE_SCREENSHOTS=1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Page } from 'playwright-core';
import { Engine } from '../src/engine/engine';
import { parseProfile } from '../src/engine/eval/profile';
import { buildCacheView, CacheView } from '../src/shared/cache-view';
import { ProfileView } from '../src/shared/profile-view';
import { readProfileView } from '../src/host/visualizer/profile-view';
import { toSnapshotWire } from '../src/worker/snapshot';
import { artifacts, Harness, post, recorded, startHarness } from './webview-harness';
import { modelPath, ROOT, SMOLLM2 } from './helpers';

const PROFILE = path.join(ROOT, 'docs/pod-report/profile-2048.json');
let h: Harness;
let view: CacheView;
let profile: ProfileView;

before(async () => {
  const p = readProfileView(PROFILE, true);
  assert.ok(p.profile, p.note);
  profile = p.profile;
  const anchors = parseProfile(fs.readFileSync(PROFILE, 'utf8'), 'profile').anchors;
  const engine = await Engine.load(modelPath(SMOLLM2), {
    contextSize: 1024,
    kv: { kind: 'pod', sinks: 4, recent: 28, anchors },
  });
  try {
    const cache = engine.createCache();
    const q = [{ role: 'user' as const, content: 'Explain in two sentences what a KV cache is.' }];
    for await (const ev of engine.generate(cache, {
      prompt: engine.chatPrompt(q),
      maxTokens: 40,
      sampler: { temperature: 0 },
    }))
      void ev;
    view = buildCacheView(toSnapshotWire(cache.snapshot()));
  } finally {
    await engine.dispose();
  }
  h = await startHarness();
});
after(() => h?.close());

async function open(theme: 'dark' | 'light'): Promise<Page> {
  const page = await h.open('visualizer', { theme, width: 1100, height: 1000 });
  await post(page, {
    kind: 'event',
    topic: 'model/status',
    data: { state: 'ready', model: SMOLLM2, contextSize: 1024 },
  });
  await post(page, { kind: 'event', topic: 'cache/view', data: { view, updatedAt: Date.UTC(2026, 10, 25, 12, 0, 0) } });
  await post(page, { kind: 'event', topic: 'cache/profile', data: { profile } });
  await page.waitForFunction(
    () =>
      (
        globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
      ).document.querySelectorAll('.hm-cell').length > 0,
  );
  return page;
}

/** A cell's computed background as "r, g, b" (color-mix() computes to `color(srgb r g b)` in 0–1). */
async function background(page: Page, selector: string): Promise<string> {
  const css = await page
    .locator(selector)
    .evaluate(
      (e) =>
        (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(e)
          .backgroundColor,
    );
  const srgb = /^color\(srgb ([\d.]+) ([\d.]+) ([\d.]+)\)$/.exec(css);
  if (srgb)
    return srgb
      .slice(1)
      .map((x) => Math.round(Number(x) * 255))
      .join(', ');
  return /^rgb\((.*)\)$/.exec(css)?.[1] ?? css;
}

test("one heatmap per KV head with the profile's blocks; hover shows similarity to the anchor", async () => {
  const page = await open('dark');
  const L = profile.nLayers,
    H = profile.nKVHeads;
  assert.equal(await page.locator('.heatmap').count(), H);
  assert.equal(await page.locator('.hm-cell').count(), H * L * L);
  for (let k = 0; k < H; k++) {
    const blocks = new Set(profile.anchors.map((r) => r[k])).size;
    assert.equal(await page.locator('.heatmap').nth(k).locator('.hm-block').count(), blocks);
    assert.match(
      await page.locator('.heatmap figcaption').nth(k).innerText(),
      new RegExp(`^KV head ${k} · ${blocks} blocks$`),
    );
  }
  assert.match(
    await page.locator('.profile-box').innerText(),
    /profile-2048\.json — SmolLM2-135M-Instruct\.Q4_1\.gguf, 3 calibration texts, context 2048, S 16, R 240; in use by the loaded PoD cache\./,
  );
  // The grid's blocks are the profile's: hover a non-anchor cell.
  const cells = view.grid.filter((c) => !c.anchor && c.block !== null);
  assert.ok(cells.length > 0);
  const c = cells[0]!;
  const expected = profile.similarity[c.kvHead]![c.block!]![c.layer]!;
  // The unit's K+V bytes as the snapshot counts them per head (their sums are checked in pod.test).
  const kb = (b: number | null | undefined): string => {
    assert.ok(typeof b === 'number' && b > 0, `cell bytes ${b}`);
    return `${(b / 1024).toFixed(1)} KB`;
  };
  await page
    .locator('.grid .cell')
    .nth(c.layer * H + c.kvHead)
    .hover();
  assert.equal(
    await page.locator('.hover-info').innerText(),
    `layer ${c.layer} · KV head ${c.kvHead} · shares layer ${c.block}'s attention over distant tokens · similarity to the anchor ${expected.toFixed(3)} · holds ${kb(c.bytes)}`,
  );
  // Hover a heatmap cell: layers 3 and 5 of KV head 1.
  await page
    .locator('.heatmap')
    .nth(1)
    .locator('.hm-cell')
    .nth(3 * L + 5)
    .hover();
  const s35 = profile.similarity[1]![3]![5]!;
  assert.equal(
    await page.locator('.hover-info').innerText(),
    `KV head 1 · layer 3 ↔ layer 5: similarity ${s35.toFixed(3)}${s35 >= profile.delta ? ' (≥ δ)' : ''}`,
  );
  // Colours come from the theme: similarity 1 (the diagonal) is charts-blue; the lowest cell is near the editor background.
  assert.equal(await background(page, '.heatmap >> nth=0 >> .hm-cell >> nth=0'), '55, 148, 255');
  assert.deepEqual(await recorded(page, '__csp'), []);
  await page
    .locator('.grid .cell')
    .nth(c.layer * H + c.kvHead)
    .hover();
  await page.setViewportSize({ width: 1100, height: 1560 }); // the content scrolls inside the page: show all of it
  // To artifacts/ (git-ignored); to docs/screenshots/ only when asked, as the chat's screenshots.
  const dirs = [
    artifacts(),
    ...(process.env.PODLENS_UPDATE_SCREENSHOTS === '1' ? [path.join(ROOT, 'docs/screenshots')] : []),
  ];
  for (const dir of dirs) await page.screenshot({ path: path.join(dir, 'visualizer-heatmap-dark.png') });
  await page.close();
});

test('light theme, no profile, and a burst of live updates coalesced', async () => {
  const page = await open('light');
  assert.equal(await background(page, '.heatmap >> nth=0 >> .hm-cell >> nth=0'), '26, 133, 255');
  // 40 cache views in one burst (as fast as a prefill could post them): drawn at most a few times, ending on the last.
  const draws = await page.evaluate(async (v) => {
    const w = globalThis as unknown as {
      document: { querySelector(s: string): unknown };
      MutationObserver: new (cb: () => void) => { observe(t: unknown, o: unknown): void };
      postMessage(m: unknown, o: string): void;
    };
    let n = 0;
    new w.MutationObserver(() => {
      n++;
    }).observe(w.document.querySelector('.cache'), { childList: true });
    for (let i = 1; i <= 40; i++)
      w.postMessage({ kind: 'event', topic: 'cache/view', data: { view: { ...v, tokens: i }, updatedAt: i } }, '*');
    await new Promise((r) => setTimeout(r, 400));
    return n;
  }, view);
  assert.ok(draws >= 1 && draws <= 3, `${draws} redraws for 40 updates`);
  assert.match(await page.locator('.tiles').innerText(), /^40\s+tokens in cache/);
  await post(page, {
    kind: 'event',
    topic: 'cache/profile',
    data: { profile: null, note: 'profile x.json: not JSON' },
  });
  assert.equal(await page.locator('.heatmap').count(), 0);
  assert.match(await page.locator('.profile-box').innerText(), /profile x\.json: not JSON/);
  const c = view.grid.find((x) => !x.anchor && x.block !== null)!;
  assert.match(
    (await page
      .locator('.grid .cell')
      .nth(c.layer * view.nKVHeads + c.kvHead)
      .getAttribute('title')) ?? '',
    /similarity to the anchor unknown/,
  );
  assert.deepEqual(await recorded(page, '__csp'), []);
  await page.close();
});
