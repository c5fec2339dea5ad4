// What the KV cache must look like when `podlens.kv.cache` is left at `auto` and the model ships a
// PoD profile (<model>.pod-profile.json beside the GGUF file): the oracle the e2e suites hold the
// cache snapshot (Mode A, the cache's own account) and the cache visualizer (Mode B) against.
// Computed here from the profile file and the model's GGUF header alone, not from the engine:
//   - every (layer, KV head) unit of the profile is local (anchor −1: sinks + recent only) or
//     belongs to the block of its anchor layer;
//   - proximal tokens (sinks + recent) keep K and V in every unit;
//   - distant tokens keep V in every non-local unit and K only in anchors (pod-method §5,
//     docs/pod-qwen.md §2); local units keep nothing of them.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

/** The profile shipped beside a model file (engine/eval/profile.ts shippedProfilePath, restated). */
function shippedProfilePath(modelFile) {
  return path.join(path.dirname(modelFile), path.basename(modelFile).replace(/\.gguf$/i, '') + '.pod-profile.json');
}

function readProfile(file) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(p.kind, 'podlens-pod-profile', `${file} is a PoD profile`);
  return p;
}

/** K + V bytes per layer of a PoD cache holding `t` = { sink, recent, distant } tokens. */
function podLayerBytes(profile, shape, t, bytesPerElement = 2) {
  const unit = shape.headDim * bytesPerElement;
  const prox = t.sink + t.recent;
  return profile.anchors.map((row, l) => {
    let b = prox * shape.nKVHeads * unit * 2;
    for (const a of row) if (a >= 0) b += t.distant * unit * (a === l ? 2 : 1);
    return b;
  });
}

/** Anchors and local units of the profile: { anchors, local, blocks } counts over the grid. */
function profileCells(profile) {
  let anchors = 0,
    local = 0;
  const blocks = new Set();
  profile.anchors.forEach((row, l) =>
    row.forEach((a, h) => {
      if (a < 0) local++;
      else {
        blocks.add(`${a}:${h}`);
        if (a === l) anchors++;
      }
    }),
  );
  return { anchors, local, blocks: blocks.size };
}

/**
 * A CacheView (src/shared/cache-view.ts) of the PoD cache `auto` loads: the model's shape, the
 * profile's sinks, its blocks and local units cell by cell, and byte counts equal to the oracle's.
 */
function checkPodView(view, profile, shape, bytesPerElement = 2) {
  const { nLayers: L, nKVHeads: H, headDim: D } = shape;
  assert.equal(view.kind, 'pod');
  assert.equal(view.nLayers, L);
  assert.equal(view.nKVHeads, H);
  assert.equal(view.headDim, D);
  assert.equal(profile.anchors.length, L, 'the profile has a row per layer');
  assert.equal(view.grid.length, L * H);
  for (const c of view.grid) {
    const a = profile.anchors[c.layer][c.kvHead];
    assert.equal(c.local, a < 0, `unit (${c.layer}, ${c.kvHead}) local as in the profile`);
    if (a >= 0) {
      assert.equal(c.block, a, `unit (${c.layer}, ${c.kvHead}) in the block of layer ${a}`);
      assert.equal(c.anchor, a === c.layer);
    }
  }
  const cells = profileCells(profile);
  assert.equal(view.localCells, cells.local);
  assert.equal(view.blocks, cells.blocks);
  assert.equal(view.sinkTokens, Math.min(profile.sinks, view.tokens), "the profile's sinks");
  assert.ok(view.recentTokens <= profile.recent, `recent ${view.recentTokens} ≤ the profile's ${profile.recent}`);
  assert.equal(view.sinkTokens + view.recentTokens + view.distantTokens, view.tokens);
  const unit = D * bytesPerElement;
  assert.equal(
    view.fullCacheBytes,
    view.tokens * L * 2 * H * unit,
    'a full f16 cache: K and V of every token, layer and KV head',
  );
  const expected = podLayerBytes(
    profile,
    shape,
    { sink: view.sinkTokens, recent: view.recentTokens, distant: view.distantTokens },
    bytesPerElement,
  );
  expected.forEach((b, l) => assert.equal(view.layers[l].bytes, b, `layer ${l} bytes`));
  const used = expected.reduce((a, b) => a + b, 0);
  assert.equal(view.usedBytes, used, 'KV bytes used');
  assert.ok(view.allocatedBytes >= view.usedBytes);
  assert.equal(
    view.layers.reduce((a, l) => a + l.allocatedBytes, 0),
    view.allocatedBytes,
  );
  assert.ok(Math.abs(view.savedPercent - (1 - used / view.fullCacheBytes) * 100) < 1e-9, 'saved %');
  return { usedBytes: used, fullBytes: view.fullCacheBytes };
}

/** webview/common/format.ts `bytes`, restated: how the visualizer prints a byte count. */
function bytesText(n) {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 2 ** 20) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 2 ** 30) return `${(n / 2 ** 20).toFixed(1)} MB`;
  return `${(n / 2 ** 30).toFixed(2)} GB`;
}

/** webview/common/format.ts `percent`, restated. */
const percentText = (n) => `${n.toFixed(n > 0 && n < 10 ? 1 : 0)}%`;

module.exports = { shippedProfilePath, readProfile, podLayerBytes, profileCells, checkPodView, bytesText, percentText };
