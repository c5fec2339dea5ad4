// Diagnostic for docs/pod-report.md: per layer, the share of attention a query puts on DISTANT
// tokens (1 − gate of pod-method.md §5) with the layer's own distant logits vs with its block
// anchor's (what `scores` mode uses), for uniform g=5 blocks and a calibrated profile. The §6
// similarity compares distributions renormalised over D(i), so it cannot see this share. Last
// column: g=5 anchors shifted by the calibrated distant bias of a schema-2 profile (measured on
// the calibration texts, not this one) — the correction the engine applies.
// Uses the compiled engine in out/ (run `npx tsc -p .` first). Full f32 cache, SmolLM2, 2K.
// Usage: node scripts/pod-distant-mass.mjs [TEXT] [PROFILE] [BIAS_PROFILE]
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const { Engine } = require(join(root, 'out/src/engine/engine.js'));
const textPath = process.argv[2] ?? join(root, 'node_modules/tar/README.md');
const profile = JSON.parse(readFileSync(process.argv[3] ?? join(root, 'docs/pod-report/profile-2048.json'), 'utf8'));
const biasProfile = JSON.parse(
  readFileSync(process.argv[4] ?? join(root, 'docs/pod-report/bias-2048-g5.json'), 'utf8'),
);
const { profileDistantBias } = require(join(root, 'out/src/engine/eval/profile.js'));
const bias = profileDistantBias(biasProfile); // g=5 blocks: bias[l][hq] = lse[l][hq] − lse[anchor][hq]
const ctx = 2048,
  S = 16,
  R = 240,
  q = 8,
  G5 = 5;
const e = await Engine.load(join(root, 'models/SmolLM2-135M-Instruct.Q4_1.gguf'), {
  threads: 2,
  contextSize: ctx,
  kv: { kind: 'full', dtype: 'f32' },
  exportQueries: true,
});
const ids = e.tokenizer.encode(readFileSync(textPath, 'utf8')).slice(0, ctx);
const cache = e.createCache();
const n = ids.length;
for (let i = 0; i < n - q; i += 256) {
  const p = ids.slice(i, Math.min(i + 256, n - q));
  await e.decoder.step(p, cache, [p.length - 1]);
}
await e.decoder.step(ids.slice(n - q), cache, [q - 1]);
const { nLayers: L, nHeads: Hq, nKVHeads: Hkv, headDim: D } = e.config;
const G = Hq / Hkv,
  scale = 1 / Math.sqrt(D);
const Q = Array.from({ length: L }, (_, l) => e.decoder.lastQueries(l));
const K = Array.from({ length: L }, (_, l) => cache.layer(l).keys);
/** log Σ exp(q_ql · k_kl[j] / √D) over the tokens js. */
function lse(ql, kl, t, hq, js) {
  const h = Math.floor(hq / G);
  const s = js.map((j) => {
    let d = 0;
    for (let x = 0; x < D; x++) d += Q[ql][(t * Hq + hq) * D + x] * K[kl][(j * Hkv + h) * D + x];
    return d * scale;
  });
  const m = Math.max(...s);
  return m + Math.log(s.reduce((z, v) => z + Math.exp(v - m), 0));
}
const range = (a, b) => Array.from({ length: b - a }, (_, k) => a + k);
const sig = (x) => 1 / (1 + Math.exp(-x));
console.log(
  '| layer | distant share, own logits | with g=5 anchor | with calibrated anchor | g=5 anchor + bias |\n|---|---|---|---|---|',
);
for (let l = 0; l < L; l++) {
  let own = 0,
    uni = 0,
    cal = 0,
    ub = 0,
    cnt = 0;
  for (let t = 0; t < q; t++) {
    const i = n - q + t,
      P = [...range(0, S), ...range(i - R + 1, i + 1)],
      Dist = range(S, i - R + 1);
    for (let hq = 0; hq < Hq; hq++) {
      const lp = lse(l, l, t, hq, P);
      const a5 = l - (l % G5),
        ac = profile.anchors[l][Math.floor(hq / G)];
      own += 1 - sig(lp - lse(l, l, t, hq, Dist));
      const la5 = lse(a5, a5, t, hq, Dist);
      uni += 1 - sig(lp - la5); // scores mode: the anchor's own q·k
      ub += 1 - sig(lp - la5 - bias[l][hq]);
      cal += 1 - sig(lp - lse(ac, ac, t, hq, Dist));
      cnt++;
    }
  }
  console.log(
    `| ${l} | ${(own / cnt).toFixed(3)} | ${(uni / cnt).toFixed(3)} | ${(cal / cnt).toFixed(3)} | ${(ub / cnt).toFixed(3)} |`,
  );
}
await e.dispose();
