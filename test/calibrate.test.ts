// PoD calibration (pod-method.md §6): the JSD math against hand-computed values, the renormalised
// distant attention, greedy blocks (δ and the block cap), a real calibration run on stories260K
// (blocks follow its own similarity matrix), the profile round trip, and refusal of a profile made
// for another model file (sha256) or with a bad schema; the per-unit distant error (docs/pod-qwen.md §2) on a hand
// example and, on stories260K, against the reference forward pass. Tolerances: 1e-12 for float64 math on
// hand examples (a few ulps of the logs involved); profile similarities are written rounded to 1e-6.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { distantAttention, distantRange, jsd2, jsd2Fast, negEntropy2, similarity } from '../src/engine/eval/jsd';
import {
  greedyBlocks,
  loadProfile,
  ProfileError,
  writeProfile,
  parseProfile,
  PodProfile,
  profileDistantBias,
  reblockProfile,
} from '../src/engine/eval/profile';
import { calibrate } from '../src/engine/calibrate';
import { kvChoice } from '../src/cli/commands';
import { UsageError } from '../src/cli/args';
import { maxRelDiff, modelPath } from './helpers';
import { localAnchors, localShareFor, UnitErrorAccumulator } from '../src/engine/eval/unit-error';
import { LOCAL } from '../src/engine/kv/plan';
import { GGUFFile } from '../src/engine/gguf/file';
import { ReferenceModel } from '../src/engine/reference/forward';
import { Tokenizer } from '../src/engine/tokenizer';

const STORIES = 'stories260K-f32.gguf';
const EPS = 1e-12;

test('JSD₂ matches a hand example, is symmetric, 0 for equal and 1 for disjoint distributions', () => {
  // p = (½, ½), q = (1, 0): m = (¾, ¼); JSD = H(m) − (H(p) + H(q))/2 = 0.8112781244591328 − ½
  const p = Float64Array.of(0.5, 0.5),
    q = Float64Array.of(1, 0);
  const h = -(0.75 * Math.log2(0.75) + 0.25 * Math.log2(0.25));
  assert.ok(Math.abs(jsd2(p, q) - (h - 0.5)) < EPS);
  assert.ok(Math.abs(jsd2(q, p) - jsd2(p, q)) < EPS);
  assert.ok(Math.abs(jsd2Fast(p, q, 2, 0, 0, negEntropy2(p, 2), negEntropy2(q, 2)) - (h - 0.5)) < EPS);
  assert.equal(jsd2(p, p), 0);
  assert.equal(jsd2(Float64Array.of(1, 0), Float64Array.of(0, 1)), 1);
  assert.equal(similarity(Float64Array.of(1, 0), Float64Array.of(0, 1)), 0);
  // offsets: the same pair stored side by side in one buffer
  const buf = Float64Array.of(9, 0.5, 0.5, 1, 0);
  assert.ok(Math.abs(jsd2(buf, buf, 2, 1, 3) - (h - 0.5)) < EPS);
});

test('distant attention is the softmax of q·k/√d renormalised over D(i) = [S, i−R]', () => {
  assert.deepEqual(distantRange(10, 2, 4), { from: 2, to: 7 }); // D(10) = {2 … 6}
  assert.deepEqual(distantRange(5, 2, 4), { from: 2, to: 2 }); // i < S + R: empty
  // d = 2, two KV heads; head 1 is read. keys[j] for head 1 = (j, 0); q = (1, 1) → logits j/√2.
  const d = 2,
    H = 2,
    n = 8;
  const keys = new Float32Array(n * H * d);
  for (let j = 0; j < n; j++) {
    keys[(j * H + 1) * d] = j;
    keys[j * H * d] = 100;
  } // head 0 must not leak in
  const q = Float32Array.of(7, 7, 1, 1);
  const out = new Float64Array(3);
  const lse = distantAttention(q, 2, keys, H, 1, d, 3, 6, out); // tokens 3, 4, 5
  const e = [3, 4, 5].map((j) => Math.exp(j / Math.sqrt(2)));
  const z = e.reduce((a, b) => a + b);
  e.forEach((x, k) => assert.ok(Math.abs(out[k]! - x / z) < EPS));
  assert.ok(Math.abs(lse - Math.log(z)) < EPS, `log-sum-exp ${lse} vs ${Math.log(z)}`);
});

/** similarity[h][l][m] from a function of (h, l, m). */
const simOf = (H: number, L: number, f: (h: number, l: number, m: number) => number) =>
  Array.from({ length: H }, (_, h) =>
    Array.from({ length: L }, (_, l) =>
      Array.from({ length: L }, (_, m) => (l === m ? 1 : f(h, Math.min(l, m), Math.max(l, m)))),
    ),
  );

test('greedy blocks: a layer joins while sim(anchor, l) ≥ δ and the block stays within the cap', () => {
  // everything similar: blocks are exactly the cap
  assert.deepEqual(
    greedyBlocks(
      simOf(1, 7, () => 0.9),
      0.5,
      3,
    ).map((r) => r[0]),
    [0, 0, 0, 3, 3, 3, 6],
  );
  // nothing similar: every layer its own anchor
  assert.deepEqual(
    greedyBlocks(
      simOf(1, 4, () => 0.2),
      0.5,
      8,
    ).map((r) => r[0]),
    [0, 1, 2, 3],
  );
  // per head; compared with the ANCHOR, not the previous layer: sim(0,1) = .9, sim(0,2) = .4 → 2 starts a block
  const s = simOf(2, 4, (h, l, m) => (h === 0 ? (l === 0 && m === 1 ? 0.9 : l === 2 && m === 3 ? 0.5 : 0.4) : 0.6));
  assert.deepEqual(greedyBlocks(s, 0.5, 8), [
    [0, 0],
    [0, 0],
    [2, 0],
    [2, 0],
  ]);
  assert.deepEqual(greedyBlocks(s, 0.61, 8), [
    [0, 0],
    [0, 1],
    [2, 2],
    [3, 3],
  ]); // sim(2,3) = .5 < .61
});

function storiesTexts(): { name: string; text: string }[] {
  const a =
    'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. ';
  const b =
    'Tom had a small dog. The dog liked to run and jump in the garden. They were happy and played all day long until the sun went down. ';
  return [
    { name: 'a.txt', text: a.repeat(6) + b },
    { name: 'b.txt', text: b.repeat(5) + a },
    { name: 'short.txt', text: 'Too short.' },
  ];
}

async function storiesProfile(delta: number, maxBlock: number): Promise<PodProfile> {
  return calibrate(modelPath(STORIES), storiesTexts(), {
    contextSize: 256,
    sinks: 4,
    recent: 32,
    queries: 8,
    delta,
    maxBlock,
    threads: 1,
  });
}

test('calibration on stories260K: similarity in [0, 1], symmetric; blocks follow δ and the cap', async () => {
  for (const [delta, maxBlock] of [
    [0.5, 2],
    [0.3, 5],
    [0.95, 5],
  ] as const) {
    const p = await storiesProfile(delta, maxBlock);
    assert.equal(p.texts.length, 2, 'the short text has no distant tokens and is skipped');
    const L = 5,
      H = 4;
    assert.equal(p.similarity.length, H);
    for (let h = 0; h < H; h++) {
      for (let l = 0; l < L; l++) {
        assert.equal(p.similarity[h]![l]![l], 1);
        for (let m = 0; m < L; m++) {
          const v = p.similarity[h]![l]![m]!;
          assert.ok(v >= 0 && v <= 1 && v === p.similarity[h]![m]![l]);
        }
      }
      // the rule, checked unit by unit against the profile's own matrix
      let a = 0;
      for (let l = 0; l < L; l++) {
        const anc = p.anchors[l]![h]!;
        if (l === 0) assert.equal(anc, 0);
        else if (anc === l)
          assert.ok(
            p.similarity[h]![a]![l]! < delta || l - a + 1 > maxBlock,
            `layer ${l} head ${h} could have joined block ${a}`,
          );
        else
          assert.ok(
            anc === a && p.similarity[h]![a]![l]! >= delta && l - a + 1 <= maxBlock,
            `layer ${l} head ${h} joined block ${anc} against the rule`,
          );
        a = anc;
      }
    }
    assert.deepEqual(p.anchors, greedyBlocks(p.similarity, delta, maxBlock));
  }
});

test('profile round trip; a profile for another model file or schema is refused with a clear error', async () => {
  const p = await storiesProfile(0.5, 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-profile-'));
  const file = path.join(dir, 'p.json');
  writeProfile(file, p);
  const spec = loadProfile(file, modelPath(STORIES));
  assert.deepEqual(spec.anchors, p.anchors);
  assert.equal(spec.kind, 'pod');
  assert.equal(spec.sinks, 4);
  assert.equal(spec.recent, 32);
  spec.profile.similarity.forEach((m, h) =>
    m.forEach((r, l) => r.forEach((v, k) => assert.ok(Math.abs(v - p.similarity[h]![l]![k]!) <= 5e-7))),
  ); // rounded to 1e-6
  assert.equal(spec.profile.model.nLayers, 5);
  // the same weights in another file (GGUF v1) have another sha256: refused
  assert.throws(
    () => loadProfile(file, modelPath('stories260K-f32-ggufv1.gguf')),
    (e: Error) => e instanceof ProfileError && /sha256/.test(e.message) && /calibrate/.test(e.message),
  );
  const bad = (edit: (j: Record<string, unknown>) => void, re: RegExp) => {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    edit(j);
    assert.throws(
      () => parseProfile(JSON.stringify(j), 'x.json'),
      (e: Error) => e instanceof ProfileError && re.test(e.message),
    );
  };
  bad((j) => {
    j.schemaVersion = 99;
  }, /schema version 99/);
  bad((j) => {
    (j.anchors as number[][]).pop();
  }, /anchors must be 5 layers × 4/);
  bad((j) => {
    (j.anchors as number[][])[3]![0] = 1;
    (j.anchors as number[][])[2]![0] = 2;
  }, /consecutive/);
  bad((j) => {
    j.similarity = [];
  }, /similarity/);
  // through the CLI's kvChoice: --profile implies --kv pod, flags override S/R, conflicts are usage errors
  const model = modelPath(STORIES);
  const k = kvChoice({ profile: file, model, recent: 16 }).kv;
  assert.equal(k.kind, 'pod');
  assert.deepEqual(k.anchors, p.anchors);
  assert.equal(k.recent, 16);
  assert.equal(k.sinks, 4);
  assert.throws(() => kvChoice({ profile: file, model, kv: 'full' }).kv, UsageError);
  assert.throws(() => kvChoice({ profile: file, model, 'group-size': 2 }).kv, UsageError);
  fs.rmSync(dir, { recursive: true });
});

test('distant bias: measured per (layer, query head), anchor-relative, optional in v1 profiles; re-blocking keeps the measurement', async () => {
  const p = await storiesProfile(0.5, 3);
  const L = 5,
    Hq = 8,
    G = 2;
  assert.equal(p.schemaVersion, 3);
  assert.equal(
    p.model.bytes,
    fs.statSync(modelPath(STORIES)).size,
    "the profile records its model's size (how a shipped profile finds it)",
  );
  assert.ok(
    p.distantLse && p.distantLse.length === L && p.distantLse.every((r) => r.length === Hq && r.every(Number.isFinite)),
  );
  const bias = profileDistantBias(p)!;
  for (let l = 0; l < L; l++) {
    for (let hq = 0; hq < Hq; hq++) {
      const a = p.anchors[l]![Math.floor(hq / G)]!;
      assert.ok(Math.abs(bias[l]![hq]! - (p.distantLse![l]![hq]! - p.distantLse![a]![hq]!)) < 1e-12);
      if (a === l) assert.equal(bias[l]![hq], 0);
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-bias-'));
  const file = path.join(dir, 'p.json');
  writeProfile(file, p);
  const model = modelPath(STORIES);
  const spec = kvChoice({ profile: file, model }).kv;
  assert.equal(spec.distantBias?.length, L);
  assert.equal(kvChoice({ profile: file, model, 'no-distant-bias': true }).kv.distantBias, undefined);
  assert.throws(() => kvChoice({ model, kv: 'pod', 'no-distant-bias': true }).kv, UsageError);
  assert.equal(kvChoice({ model, kv: 'pod', 'kv-int8': true }).kv.distantQuant, 'int8', '--kv-int8 is --kv-quant int8');
  assert.equal(kvChoice({ model, kv: 'pod', 'kv-quant': 'int4' }).kv.distantQuant, 'int4');
  assert.equal(
    kvChoice({ profile: file, model, 'kv-quant': 'int4' }).kv.distantQuant,
    'int4',
    'a profile implies --kv pod',
  );
  assert.equal(kvChoice({ model, kv: 'pod', 'kv-quant': 'none' }).kv.distantQuant, undefined);
  assert.throws(() => kvChoice({ model, kv: 'streaming', 'kv-int8': true }).kv, UsageError);
  assert.throws(
    () => kvChoice({ model, kv: 'full', 'kv-quant': 'int4' }).kv,
    (e: Error) => e instanceof UsageError && /needs --kv pod/.test(e.message),
  );
  assert.throws(
    () => kvChoice({ model, kv: 'pod', 'kv-quant': 'int2' }).kv,
    (e: Error) => e instanceof UsageError && /must be none, int8 or int4/.test(e.message),
  );
  assert.throws(
    () => kvChoice({ model, kv: 'pod', 'kv-quant': 'int4', 'kv-int8': true }).kv,
    (e: Error) => e instanceof UsageError && /contradicts/.test(e.message),
  );
  // a schema-1 profile (before the bias) still loads, without a bias
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const v1: Record<string, unknown> = { ...j, schemaVersion: 1 };
  delete v1.distantLse;
  assert.equal(profileDistantBias(parseProfile(JSON.stringify(v1), 'v1.json')), undefined);
  assert.throws(
    () => parseProfile(JSON.stringify({ ...j, distantLse: [[1]] }), 'x.json'),
    (e: Error) => e instanceof ProfileError && /distantLse must be 5 layers × 8/.test(e.message),
  );
  // new blocks from the same measurement
  const u = reblockProfile(p, { groupSize: 5 });
  assert.deepEqual(
    u.anchors,
    Array.from({ length: L }, () => [0, 0, 0, 0]),
  );
  assert.equal(u.groupSize, 5);
  assert.equal(u.nonAnchorShare, 0.8);
  assert.deepEqual(u.similarity, p.similarity);
  const d = reblockProfile(u, { delta: 0.5, maxBlock: 3 });
  assert.deepEqual(d.anchors, p.anchors);
  assert.equal(d.groupSize, undefined);
  fs.rmSync(dir, { recursive: true });
});

test('unit error (docs/pod-qwen.md §2) on a hand example: ‖W_o (o − o_P)‖² summed over the query heads of a KV head', () => {
  // 1 layer, 2 query heads on 1 KV head, D = 2, dim = 1; tokens 0..3, S = 1, R = 1: for query
  // position 3, P = {0, 3} and D = {1, 2}. Keys make the logits (q·k/√2) easy: q = (√2, 0).
  const r2 = Math.SQRT2;
  const keys = Float32Array.of(0, 0, 1, 0, 2, 0, 0, 0); // logits 0, 1, 2, 0 for head 0
  const values = Float32Array.of(1, 0, 0, 1, 2, 2, 0, 3);
  const queries = Float32Array.of(r2, 0, 0, 0); // head 1: q = 0, uniform attention
  const wo = Float32Array.of(1, 0, 0, 1); // dim 1 row: head 0 reads o[0], head 1 reads o[1]
  const acc = new UnitErrorAccumulator(1, 2, 1, 2, 1);
  const used = acc.addLayer(0, queries, keys, values, wo, 3, 1, 1, 1);
  assert.equal(used, 1);
  acc.endText(used);
  // head 0: weights e^0, e^1, e^2, e^0 over values' first component 1, 0, 2, 0; P part: tokens 0 and 3 → o_P[0] = ½.
  const z = 2 + Math.E + Math.E ** 2;
  const o0 = (1 + 2 * Math.E ** 2) / z,
    e0 = (o0 - 0.5) ** 2;
  // head 1: uniform over all four → o[1] = (0+1+2+3)/4 = 1.5; over P = {0, 3}: (0+3)/2 = 1.5 → no error.
  const want = e0 + (1.5 - 1.5) ** 2;
  assert.ok(Math.abs(acc.meanError()[0]![0]! - want) < 1e-6, `${acc.meanError()[0]![0]} vs ${want}`);
});

test('local units: the cheapest units by measured error, as many as the target saving needs', () => {
  const err = [
    [5, 0.1],
    [0.2, 9],
    [3, 0.05],
  ];
  assert.deepEqual(localAnchors(err, 0.5), [
    [0, LOCAL],
    [LOCAL, 1],
    [2, LOCAL],
  ]);
  assert.deepEqual(localAnchors(err, 0), [
    [0, 0],
    [1, 1],
    [2, 2],
  ]);
  assert.ok(Math.abs(localShareFor(0.35, 8192, 1024) - 0.4) < 1e-12); // 0.35 · 8192 / 7168
  assert.equal(localShareFor(0.9, 1000, 500), 1);
  assert.throws(() => localShareFor(0.3, 256, 512), RangeError);
});

test('calibration with a target saving on stories260K: the measured cheapest units are local, and they move the logits less than the dearest', async () => {
  const p = await calibrate(modelPath(STORIES), storiesTexts(), {
    contextSize: 256,
    sinks: 4,
    recent: 32,
    queries: 8,
    targetSaving: 0.3,
    threads: 1,
  });
  const flat = p.unitError!.flatMap((r, l) => r.map((e, h) => ({ l, h, e }))).sort((a, b) => a.e - b.e);
  const nLocal = p.anchors.flat().filter((a) => a === LOCAL).length;
  assert.ok(nLocal > 0 && nLocal < flat.length);
  for (const [i, u] of flat.entries())
    assert.equal(p.anchors[u.l]![u.h] === LOCAL, i < nLocal, `unit ${u.l},${u.h} (rank ${i})`);
  assert.equal(p.targetSaving, 0.3);
  // Oracle: the reference forward pass over a text with distant tokens; making the cheapest unit
  // local changes the logits less than making the dearest one local.
  const f = GGUFFile.open(modelPath(STORIES));
  const m = ReferenceModel.load(f);
  const ids = Tokenizer.fromGGUF(f).encode(storiesTexts()[0]!.text).slice(0, 80);
  f.close();
  const one = (u: { l: number; h: number }): number[][] =>
    p.anchors.map((r, l) => r.map((_, h) => (l === u.l && h === u.h ? LOCAL : l)));
  const full = m.forwardAll(ids);
  const run = (anchors: number[][]): number => {
    m.kvPlan = { kind: 'pod', sinks: 4, recent: 16, anchors, mode: 'scores' };
    return maxRelDiff(m.forwardAll(ids), full);
  };
  const cheap = run(one(flat[0]!)),
    dear = run(one(flat[flat.length - 1]!));
  assert.ok(cheap < dear, `cheapest unit moved the logits by ${cheap}, dearest by ${dear}`);
  // re-selection from the stored measurement, no model run
  const r = reblockProfile(p, { targetSaving: 0 });
  assert.ok(r.anchors.every((row, l) => row.every((a) => a === l)));
});
