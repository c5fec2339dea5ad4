// PoD attention (pod-method.md §5) for one layer, all KV heads at once where possible, computed as
// two partial softmaxes (own keys P; distant D) merged by their log-sum-exps — the same numbers as one
// softmax over both, and the block's distant probabilities are built once and shared in scores mode.
// Key/value segments: prox = sinks + recent ring [P1, Hkv, D] (own keys, every unit), dist =
// tokens that left the ring (values [ND, Hkv, D] for every unit, keys [ND, nA, D] only for this
// layer's anchor heads), new = this step's tokens [T, Hkv, D].
//   A (own logits, every head):   q_l · [k_prox | k_new]             masked to P(i) (anchor heads: all)
//   D (distant logits, per head): anchor head:  q_l · k_dist           (its own full attention)
//                                 non-anchor, scores mode: the anchor layer's raw logits over
//                                   [prox | dist | new], masked to D(i) — softmax built once per block
//                                 non-anchor, keys mode:   q_l · anchor keys, masked to D(i)
//   o_A = softmax(A)·[v_prox | v_new], o_D = softmax(D)·[v_prox | v_dist | v_new]  (own values)
//   o = o_D + σ(LSE_A − LSE_D − b)·(o_A − o_D)   b: the plan's calibrated distant bias (0 without)
// A local unit (plan LOCAL, docs/pod-qwen.md §2) has no D part: its output is o_A.
// Low-bit distant rows (plan distantQuant, kv/distant-quant.ts) are dequantized here; int4 rows
// stay Hadamard-rotated, so the queries meeting distant keys and the distant values' output are
// multiplied by H instead (q·k = qH·kH, Σp·v = (Σp·vH)H): O(D²) per query row, not per stored token.
// Masks (tiled over the G query heads of a KV head) and split sizes are step inputs from
// kv/pod.ts: mask_anc_a / mask_prox_a [G·T, P1+T], mask_anc_b / mask_dist_b [G·T, P1+ND+T],
// split_a [P1, T], split_b [P1, ND, T].
import { KVPlan, LOCAL, anchorHeads, distantBiasOf, valueHeads } from '../kv/plan';
import { OnnxType } from './proto';
import { DistantInput } from '../kv/contract';
import { hadamardMatrix } from '../kv/distant-quant';
import {
  cacheQuery,
  contractOf,
  declare,
  LayerAttentionInput,
  scores as scoresF,
  weighted as weightedF,
} from './attention';
import { GraphBuilder } from './builder';

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
  /** scores mode: per head selection, the block's distant probabilities and log-sum-exp, built once. */
  shared: Map<string, { lse: string; probs: [string, string, string] }>;
}

export class PodAttention {
  private readonly exports = new Map<number, AnchorExport>();

  constructor(private readonly plan: PodPlan) {}

  /**
   * lse [n, G·T, 1] of KV heads `heads` shifted by the plan's calibrated distant bias (per query
   * head; 0 for anchor heads): the gate then sees the distant mass the layer itself would give.
   */
  private biased(a: LayerAttentionInput, lse: string, heads: readonly number[]): string {
    const { g, layer: l, nKVHeads: H } = a;
    const row = this.plan.distantBias?.[l];
    if (!row) return lse;
    const G = row.length / H;
    const b = new Float32Array(heads.length * G);
    heads.forEach((h, i) => {
      for (let j = 0; j < G; j++) b[i * G + j] = distantBiasOf(this.plan, l, h * G + j, G);
    });
    if (b.every((x) => x === 0)) return lse;
    const bias = g.f32(`distant_bias_${l}_${heads.join('_')}`, [heads.length, G, 1], b);
    const perHead = g.op1('Reshape', [lse, g.i64([heads.length, G, -1])]);
    return g.op1('Reshape', [g.op1('Add', [perHead, bias]), g.i64([heads.length, -1, 1])]);
  }

  /** Attention output [Hkv, G·T, D] for one layer. Layers must be built in ascending order. */
  layer(a: LayerAttentionInput): string {
    const { g, layer: l, nKVHeads: H, headDim: D } = a;
    const { step, io } = contractOf(a, 'pod');
    const kp = declare(g, io.kp);
    const vp = declare(g, io.vp);
    /** A distant-store input: as stored, or quantized rows × per-(token, head) scales dequantized here (int4: still rotated, see rotated()). */
    const distant = (d: DistantInput): string => {
      if (!d.scale) return declare(g, d.data);
      const q =
        this.plan.distantQuant === 'int4'
          ? unpackInt4(g, declare(g, d.data), D)
          : g.op1('Cast', [declare(g, d.data)], { to: OnnxType.FLOAT });
      const f = g.op1('Mul', [q, declare(g, d.scale)]);
      return a.f16 ? g.op1('Cast', [f], { to: OnnxType.FLOAT16 }) : f;
    };
    /** int4 rows are Hadamard-rotated (kv/distant-quant.ts): x·H for queries that meet distant keys and for outputs of distant values. */
    const rotated = (x: string): string =>
      this.plan.distantQuant === 'int4'
        ? g.op1('MatMul', [x, g.shared(`hadamard_${D}`, [D, D], () => hadamardMatrix(D))])
        : x;
    const vHeads = valueHeads(this.plan, l);
    const vd = io.vd ? distant(io.vd) : '';
    const scores = (q: string, k: string, d: number): string => scoresF(g, q, k, d, a.f16);
    const weighted = (_g: unknown, p: string, v: string): string => weightedF(g, p, v, a.f16);
    const qr = cacheQuery(a);
    /** The query against distant keys (rotated like them for int4). */
    const qrD = this.plan.distantQuant === 'int4' ? cacheQuery({ ...a, qr: rotated(a.qr) }) : qr;
    /** Σ p·v over the distant values, back in the original space. */
    const distantOut = (p: string, heads: number[]): string => rotated(weighted(g, p, vdOf(heads)));
    const anc = anchorHeads(this.plan, l);
    const all = anc.length === H;
    /** t[idx] along `axis`, skipped when idx selects all `count` entries in order. */
    const pick = (t: string, idx: number[], count: number, axis = 0): string =>
      idx.length === count && idx.every((x, i) => x === i) ? t : g.op1('Gather', [t, g.i64(idx)], { axis });
    const gather = (t: string, heads: number[], axis = 0): string => pick(t, heads, H, axis);
    /** The distant values of `heads` (rows of vd are the non-local heads). */
    const vdOf = (heads: number[]): string =>
      pick(
        vd,
        heads.map((h) => vHeads.indexOf(h)),
        vHeads.length,
        1,
      );

    // A: own logits over [prox | new] for every head.
    const sP = scores(qr, kp, D);
    const sN = scores(qr, a.kNew, D);
    const aRaw = g.op1('Concat', [sP, sN], { axis: 2 });
    const mAncA = declare(g, step.maskAncA);
    const mProxA = declare(g, step.maskProxA);
    let mA: string;
    if (all) mA = mAncA;
    else if (anc.length === 0) mA = mProxA;
    else {
      const isAnc = new Uint8Array(H);
      for (const h of anc) isAnc[h] = 1;
      const cond = g.initializer(`is_anchor_${l}`, OnnxType.BOOL, [H, 1, 1], isAnc);
      mA = g.op1('Where', [cond, mAncA, mProxA]);
    }

    // P part (own keys, every head): one softmax over A and its log-sum-exp.
    const { p: pA, lse: lseA } = softmaxLse(g, g.op1('Add', [aRaw, mA]));
    const [pAp, pAn] = g.op('Split', [pA, declare(g, step.splitA)], { axis: 2 }, { nOutputs: 2 }) as [string, string];
    const oA = g.op1('Add', [weighted(g, pAp, vp), weighted(g, pAn, a.vNew)]);

    // D part, per group of heads that share an anchor layer: the anchor's own distant logits, or
    // (non-anchor) the anchor's logits masked to D(i). Masks use −1e30, not −inf, so a query with
    // no distant token gets a finite, ignored D part (its gate below is exactly 1).
    const mAncB = declare(g, step.maskAncB);
    const mDistB = declare(g, step.maskDistB);
    const splitB = declare(g, step.splitB);
    const parts: { heads: number[]; o: string; lse: string }[] = [];
    const distantPart = (logits: string, heads: number[]): { o: string; lse: string } => {
      const { p, lse } = softmaxLse(g, logits);
      const [pp, pd, pn] = g.op('Split', [p, splitB], { axis: 2 }, { nOutputs: 3 }) as [string, string, string];
      const o = g.op1('Add', [
        g.op1('Add', [weighted(g, pp, gather(vp, heads, 1)), distantOut(pd, heads)]),
        weighted(g, pn, gather(a.vNew, heads, 1)),
      ]);
      return { o, lse };
    };
    if (io.kd) {
      const kd = distant(io.kd);
      const logits = g.op1('Concat', [gather(sP, anc), scores(gather(qrD, anc), kd, D), gather(sN, anc)], { axis: 2 });
      this.exports.set(l, { heads: anc, logits, kp, kd, kNew: a.kNew, shared: new Map() });
      parts.push({ heads: anc, ...distantPart(g.op1('Add', [logits, mAncB]), anc) });
    }
    const byAnchor = new Map<number, number[]>();
    this.plan.anchors[l]!.forEach((al, h) => {
      if (al !== l && al !== LOCAL) byAnchor.set(al, [...(byAnchor.get(al) ?? []), h]);
    });
    for (const [al, heads] of byAnchor) {
      const ex = this.exports.get(al);
      if (!ex) throw new Error(`layer ${l}: anchor layer ${al} is not in this graph segment`);
      const idx = heads.map((h) => ex.heads.indexOf(h));
      if (this.plan.mode === 'scores') {
        // The block's distant probabilities are the same for every non-anchor layer that reads
        // them: computed once, reused (only the values differ per layer).
        const key = idx.join(',');
        let shared = ex.shared.get(key);
        if (!shared) {
          const { p, lse } = softmaxLse(g, g.op1('Add', [pick(ex.logits, idx, ex.heads.length), mDistB]));
          const probs = g.op('Split', [p, splitB], { axis: 2 }, { nOutputs: 3 }) as [string, string, string];
          shared = { lse, probs };
          ex.shared.set(key, shared);
        }
        const [pp, pd, pn] = shared.probs;
        const o = g.op1('Add', [
          g.op1('Add', [weighted(g, pp, gather(vp, heads, 1)), distantOut(pd, heads)]),
          weighted(g, pn, gather(a.vNew, heads, 1)),
        ]);
        parts.push({ heads, o, lse: shared.lse });
      } else {
        const q = gather(qr, heads);
        const raw = g.op1(
          'Concat',
          [
            scores(q, gather(ex.kp, heads, 1), D),
            scores(gather(qrD, heads), pick(ex.kd, idx, ex.heads.length, 1), D),
            scores(q, gather(ex.kNew, heads, 1), D),
          ],
          { axis: 2 },
        );
        parts.push({ heads, ...distantPart(g.op1('Add', [raw, mDistB]), heads) });
      }
    }
    if (parts.length === 0) return oA; // every head of this layer is local
    for (const p of parts) p.lse = this.biased(a, p.lse, p.heads);
    const withD = parts.flatMap((p) => p.heads);
    const cat = (t: string[]): string => (t.length === 1 ? t[0]! : g.op1('Concat', t, { axis: 0 }));
    const oD = cat(parts.map((p) => p.o));
    const lseD = cat(parts.map((p) => p.lse));
    // One softmax over [A ; D] = gate·o_A + (1 − gate)·o_D with gate = σ(LSE_A − LSE_D) (§5).
    const oAd = gather(oA, withD),
      gate = g.op1('Sigmoid', [g.op1('Sub', [gather(lseA, withD), lseD])]);
    const merged = g.op1('Add', [oD, g.op1('Mul', [gate, g.op1('Sub', [oAd, oD])])]);
    // Local heads take o_A as it is; then back to head order.
    const local = this.plan.anchors[l]!.flatMap((al, h) => (al === LOCAL ? [h] : []));
    const order = [...withD, ...local];
    const out = local.length === 0 ? merged : g.op1('Concat', [merged, gather(oA, local)], { axis: 0 });
    return order.some((h, i) => h !== i)
      ? g.op1('Gather', [out, g.i64(order.map((_, h) => order.indexOf(h)))], { axis: 0 })
      : out;
  }
}

/**
 * Packed int4 rows uint8 [n, h, D/2] → float [n, h, D] of q ∈ [−8, 7]: element 2j is byte j's low
 * nibble, 2j+1 its high one, each stored as q + 8 (kv/distant-quant.ts). Split in float (exact for
 * 0…255): the graph's opset (17) has no BitwiseAnd, and ORT's CPU Sub has no uint8 kernel.
 */
function unpackInt4(g: GraphBuilder, x: string, D: number): string {
  const xf = g.op1('Cast', [x], { to: OnnxType.FLOAT });
  const hi = g.op1('Floor', [g.op1('Mul', [xf, g.scalar(1 / 16)])]);
  const lo = g.op1('Sub', [xf, g.op1('Mul', [hi, g.scalar(16)])]);
  const pairs = g.op1('Concat', [g.op1('Unsqueeze', [lo, g.i64([-1])]), g.op1('Unsqueeze', [hi, g.i64([-1])])], {
    axis: -1,
  });
  return g.op1('Sub', [g.op1('Reshape', [pairs, g.i64([0, 0, D])]), g.scalar(8)]);
}

/**
 * softmax(x) over the last axis and its log-sum-exp, with the row maximum subtracted explicitly.
 * Not ONNX ReduceLogSumExp: ONNX Runtime 1.30's CPU kernel loses its max shift when a row starts
 * with −inf (a masked ring slot), so a row whose logits all lie below ≈ −104 underflows to
 * LSE = −inf and the gate turns the layer's output into NaN. Qwen2.5-Coder has such rows (layer 8
 * of the 0.5B: every logit of a head between −250 and −310); test/pod-numerics.test.ts pins it.
 * Rows must hold at least one finite value (A always has the query's own token; D masks are finite).
 */
export function softmaxLse(g: GraphBuilder, x: string): { p: string; lse: string } {
  const m = g.op1('ReduceMax', [x], { axes: [-1], keepdims: 1 });
  const e = g.op1('Exp', [g.op1('Sub', [x, m])]);
  const s = g.op1('ReduceSum', [e, g.i64([-1])], { keepdims: 1 });
  return { p: g.op1('Div', [e, s]), lse: g.op1('Add', [m, g.op1('Log', [s])]) };
}
