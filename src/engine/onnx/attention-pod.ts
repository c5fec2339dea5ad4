// PoD attention (pod-method.md §5) for one layer, all KV heads at once where possible.
// Key/value segments: prox = sinks + recent ring [P1, Hkv, D] (own keys, every unit), dist =
// tokens that left the ring (values [ND, Hkv, D] for every unit, keys [ND, nA, D] only for this
// layer's anchor heads), new = this step's tokens [T, Hkv, D].
//   A (own logits, every head):   q_l · [k_prox | k_new]             masked to P(i) (anchor heads: all)
//   B (distant logits, per head): anchor head:  q_l · k_dist           (its own full attention)
//                                 non-anchor, scores mode: the anchor layer's raw logits over
//                                   [prox | dist | new], masked to D(i) — computed once per block
//                                 non-anchor, keys mode:   q_l · anchor keys, masked to D(i)
//   o = softmax([A ; B]) · [v_prox | v_new ; v_prox | v_dist | v_new]   (own values, one softmax)
// Masks (tiled over the G query heads of a KV head) and split sizes are step inputs from
// kv/pod.ts: mask_anc_a / mask_prox_a [G·T, P1+T], mask_anc_b / mask_dist_b [G·T, P1+ND+T],
// split_a [P1, T], split_b [P1, ND, T], split_ab [P1+T, P1+ND+T].
import { KVPlan, anchorHeads } from '../kv/plan';
import { OnnxType } from './proto';
import { cacheInputNames, cacheQuery, kvType, LayerAttentionInput, scores as scoresF, stepInput, weighted as weightedF } from './attention';

type PodPlan = Extract<KVPlan, { kind: 'pod' }>;

/** What an anchor layer leaves for the non-anchor layers of its blocks. */
interface AnchorExport {
  heads: number[];
  /** scores mode: raw logits [nA, G·T, P1+ND+T] of the anchor heads. */
  logits: string;
  /** keys mode: the anchor's keys per segment (all heads for prox/new, anchor heads for dist). */
  kp: string;
  kd: string;
  kNew: string;
}

export class PodAttention {
  private readonly exports = new Map<number, AnchorExport>();

  constructor(private readonly plan: PodPlan) {}

  /** Attention output [Hkv, G·T, D] for one layer. Layers must be built in ascending order. */
  layer(a: LayerAttentionInput): string {
    const { g, layer: l, nKVHeads: H, headDim: D } = a;
    const n = cacheInputNames(l);
    const kp = g.input(n.kp, kvType(a), ['P1', H, D]);
    const vp = g.input(n.vp, kvType(a), ['P1', H, D]);
    const vd = g.input(n.vd, kvType(a), ['ND', H, D]);
    const scores = (q: string, k: string, d: number): string => scoresF(g, q, k, d, a.f16);
    const weighted = (_g: unknown, p: string, v: string): string => weightedF(g, p, v, a.f16);
    const qr = cacheQuery(a);
    const anc = anchorHeads(this.plan, l);
    const all = anc.length === H;
    /** t[idx] along `axis`, skipped when idx selects all `count` entries in order. */
    const pick = (t: string, idx: number[], count: number, axis = 0): string =>
      idx.length === count && idx.every((x, i) => x === i) ? t : g.op1('Gather', [t, g.i64(idx)], { axis });
    const gather = (t: string, heads: number[], axis = 0): string => pick(t, heads, H, axis);

    // A: own logits over [prox | new] for every head.
    const sP = scores(qr, kp, D);
    const sN = scores(qr, a.kNew, D);
    const aRaw = g.op1('Concat', [sP, sN], { axis: 2 });
    const mAncA = stepInput(g, 'mask_anc_a', ['GT', 'XA']);
    const mProxA = stepInput(g, 'mask_prox_a', ['GT', 'XA']);
    let mA: string;
    if (all) mA = mAncA;
    else if (anc.length === 0) mA = mProxA;
    else {
      const isAnc = new Uint8Array(H);
      for (const h of anc) isAnc[h] = 1;
      const cond = g.initializer(`is_anchor_${l}`, OnnxType.BOOL, [H, 1, 1], isAnc);
      mA = g.op1('Where', [cond, mAncA, mProxA]);
    }
    const A = g.op1('Add', [aRaw, mA]);

    // B: distant logits, built per group of heads sharing an anchor layer.
    const mAncB = stepInput(g, 'mask_anc_b', ['GT', 'XB']);
    const mDistB = stepInput(g, 'mask_dist_b', ['GT', 'XB']);
    const parts: { heads: number[]; t: string }[] = [];
    if (anc.length > 0) {
      const kd = g.input(n.kd, kvType(a), ['ND', anc.length, D]);
      const qa = gather(qr, anc);
      const logits = g.op1('Concat', [gather(sP, anc), scores(qa, kd, D), gather(sN, anc)], { axis: 2 });
      this.exports.set(l, { heads: anc, logits, kp, kd, kNew: a.kNew });
      parts.push({ heads: anc, t: g.op1('Add', [logits, mAncB]) });
    }
    const byAnchor = new Map<number, number[]>();
    this.plan.anchors[l]!.forEach((al, h) => { if (al !== l) byAnchor.set(al, [...(byAnchor.get(al) ?? []), h]); });
    for (const [al, heads] of byAnchor) {
      const ex = this.exports.get(al);
      if (!ex) throw new Error(`layer ${l}: anchor layer ${al} is not in this graph segment`);
      const idx = heads.map((h) => ex.heads.indexOf(h));
      let raw: string;
      if (this.plan.mode === 'scores') raw = pick(ex.logits, idx, ex.heads.length);
      else {
        const q = gather(qr, heads);
        raw = g.op1('Concat', [scores(q, gather(ex.kp, heads, 1), D), scores(q, pick(ex.kd, idx, ex.heads.length, 1), D), scores(q, gather(ex.kNew, heads, 1), D)], { axis: 2 });
      }
      parts.push({ heads, t: g.op1('Add', [raw, mDistB]) });
    }
    let B = parts.length === 1 ? parts[0]!.t : g.op1('Concat', parts.map((p) => p.t), { axis: 0 });
    const order = parts.flatMap((p) => p.heads);
    if (order.some((h, i) => h !== i)) B = g.op1('Gather', [B, g.i64(order.map((_, h) => order.indexOf(h)))], { axis: 0 });

    // One softmax over [A ; B], then own values for every segment.
    const probs = g.op1('Softmax', [g.op1('Concat', [A, B], { axis: 2 })], { axis: -1 });
    const [pA, pB] = g.op('Split', [probs, stepInput(g, 'split_ab', [2], OnnxType.INT64)], { axis: 2 }, { nOutputs: 2 }) as [string, string];
    const [pAp, pAn] = g.op('Split', [pA, stepInput(g, 'split_a', [2], OnnxType.INT64)], { axis: 2 }, { nOutputs: 2 }) as [string, string];
    const [pBp, pBd, pBn] = g.op('Split', [pB, stepInput(g, 'split_b', [3], OnnxType.INT64)], { axis: 2 }, { nOutputs: 3 }) as [string, string, string];
    return g.op1('Add', [
      g.op1('Add', [weighted(g, g.op1('Add', [pAp, pBp]), vp), weighted(g, pBd, vd)]),
      weighted(g, g.op1('Add', [pAn, pBn]), a.vNew),
    ]);
  }
}

