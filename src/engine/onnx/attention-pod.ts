// PoD attention (pod-method.md §5) for one layer, all KV heads at once where possible. Three kinds
// of (layer, KV head) unit (kv/plan.ts):
//   anchor head:  its own full attention, one softmax over [prox | dist | new] (mask_full_b); its
//                 raw logits (scores mode) or keys (keys mode) are left for its block's members.
//   local head:   sinks + recent only: one softmax over [prox | new] masked to P(i) (mask_prox_a).
//   member head:  part A, own logits over [prox | new] masked to P(i), and part D, read through the
//                 anchor layer (scores mode: its raw logits masked to D(i), the softmax built once
//                 per block; keys mode: the member's query against the anchor's keys), both over the
//                 member's own values, merged by their log-sum-exps:
//                 o = o_D + σ(LSE_A − LSE_D − b)·(o_A − o_D), b the plan's calibrated distant bias.
// That is the same number as one softmax over A ∪ D; only members need two. Shipped profiles have
// anchor and local units only (docs/pod-qwen.md §2), so their layers cost one softmax per head.
// Key/value segments: prox = sinks + recent ring [P1, Hkv, D] (own keys, every unit), dist =
// tokens that left the ring (values [ND, Hkv, D] for every non-local unit, keys [ND, nA, D] only
// for this layer's anchor heads), new = this step's tokens [T, Hkv, D].
// Low-bit distant rows (plan distantQuant, kv/distant-quant.ts) are widened to f32 as they are and
// their per-row scales applied to the scores and probabilities (distantRows); int4 rows
// stay Hadamard-rotated, so the queries meeting distant keys and the distant values' output are
// multiplied by H instead (q·k = qH·kH, Σp·v = (Σp·vH)H): O(D²) per query row, not per stored token.
// Masks (tiled over the G query heads of a KV head) and split sizes are step inputs from
// kv/pod.ts: mask_prox_a [G·T, P1+T], mask_full_b and (plans with members) mask_dist_b
// [G·T, P1+ND+T], split_a [P1, T], split_b [P1, ND, T].
import { DistantQuant, KVPlan, LOCAL, anchorHeads, distantBiasOf, valueHeads } from '../kv/plan';
import { OnnxType } from './proto';
import { DistantInput, specsOf } from '../kv/contract';
import { hadamardMatrix } from '../kv/distant-quant';
import { contractOf, declare, LayerAttentionInput, scores as scoresF, weighted as weightedF } from './attention';
import { GraphBuilder } from './builder';

type PodPlan = Extract<KVPlan, { kind: 'pod' }>;
type Split3 = [string, string, string];

/** What an anchor layer leaves for the non-anchor layers of its blocks. */
interface AnchorExport {
  heads: number[];
  /** scores mode: raw logits [nA, G·T, P1+ND+T] of the anchor heads. */
  logits: string;
  /** keys mode: the anchor's keys per segment (all heads for prox/new, anchor heads for dist). */
  kp: string;
  kd: Distant;
  kNew: string;
  /** scores mode: per head selection, the block's distant probabilities and log-sum-exp, built once. */
  shared: Map<string, { probs: Split3; lse: string }>;
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
    /** int4 rows are Hadamard-rotated (kv/distant-quant.ts): x·H for queries that meet distant keys and for outputs of distant values. */
    const rotated = (x: string): string =>
      this.plan.distantQuant === 'int4'
        ? g.op1('MatMul', [x, g.shared(`hadamard_${D}`, [D, D], () => hadamardMatrix(D))])
        : x;
    /** Distant rows are read as stored (f16 widened next to each matmul) unless quantized. */
    const distF16 = a.f16 && !this.plan.distantQuant;
    const distant = (d: DistantInput): Distant => distantRows(g, d, this.plan.distantQuant, D);
    const vHeads = valueHeads(this.plan, l);
    const vd = io.vd ? distant(io.vd) : undefined;
    const scores = (q: string, k: string, d: number): string => scoresF(g, q, k, d, a.f16);
    const weighted = (p: string, v: string): string => weightedF(g, p, v, a.f16);
    const qr = a.qr;
    /** The query against distant keys (rotated like them for int4). */
    const qrD = this.plan.distantQuant === 'int4' ? rotated(qr) : qr;
    /** q · kᵀ against distant keys, times each row's scale when quantized: q·(s·k) = s·(q·k). */
    const scoresD = (q: string, k: Distant): string => {
      const s = scoresF(g, q, k.rows, D, distF16);
      return k.scale ? g.op1('Mul', [s, k.scale]) : s;
    };
    /** Σ p·v over the distant values of `heads`, back in the original space: Σ p·(s·v) = Σ (p·s)·v. */
    const distantOut = (p: string, heads: number[]): string => {
      if (!vd)
        throw new Error(`layer ${l}: heads ${heads.join(', ')} read distant values, but the layer's contract has none`);
      const v = pickDistant(
        vd,
        heads.map((h) => vHeads.indexOf(h)),
        vHeads.length,
      );
      return rotated(weightedF(g, v.scale ? g.op1('Mul', [p, v.scale]) : p, v.rows, distF16));
    };
    const anc = anchorHeads(this.plan, l);
    /** t[idx] along `axis`, skipped when idx selects all `count` entries in order. */
    const pick = (t: string, idx: number[], count: number, axis = 0): string =>
      idx.length === count && idx.every((x, i) => x === i) ? t : g.op1('Gather', [t, g.i64(idx)], { axis });
    const gather = (t: string, heads: number[], axis = 0): string => pick(t, heads, H, axis);
    /** Heads idx (of count) of a distant input: rows along axis 1, scales along axis 0. */
    const pickDistant = (d: Distant, idx: number[], count: number): Distant => ({
      rows: pick(d.rows, idx, count, 1),
      scale: d.scale && pick(d.scale, idx, count),
    });

    for (const spec of specsOf(step)) declare(g, spec); // every segment declares the whole step contract
    const sP = scores(qr, kp, D);
    const sN = scores(qr, a.kNew, D);
    const mProxA = declare(g, step.maskProxA);
    const splitB = declare(g, step.splitB);
    const outs: { heads: number[]; o: string }[] = [];
    /** Probabilities over [prox | dist | new] split by split_b. */
    const split3 = (p: string): Split3 => g.op('Split', [p, splitB], { axis: 2 }, { nOutputs: 3 }) as Split3;
    /** Σ p·v over [prox | dist | new] for `heads`. */
    const outB = ([pp, pd, pn]: Split3, heads: number[]): string =>
      g.op1('Add', [
        g.op1('Add', [weighted(pp, gather(vp, heads, 1)), distantOut(pd, heads)]),
        weighted(pn, gather(a.vNew, heads, 1)),
      ]);

    // Anchor heads attend to everything they store — their own full attention — with one softmax
    // over [prox | dist | new]; their raw logits (scores mode) or keys (keys mode) are left for the
    // member heads of their blocks.
    if (io.kd) {
      const kd = distant(io.kd);
      const logits = g.op1('Concat', [gather(sP, anc), scoresD(gather(qrD, anc), kd), gather(sN, anc)], { axis: 2 });
      this.exports.set(l, { heads: anc, logits, kp, kd, kNew: a.kNew, shared: new Map() });
      const p = g.op1('Softmax', [g.op1('Add', [logits, declare(g, step.maskFullB)])], { axis: -1 });
      outs.push({ heads: anc, o: outB(split3(p), anc) });
    }

    /**
     * A member head's D part: its anchor's raw logits (scores mode: the block's distant
     * probabilities are built once and reused, only the values differ per layer) or its own query
     * against the anchor's keys (keys mode), masked to D(i), over its own values. Masks use −1e30,
     * not −inf, so a query with no distant token gets a finite, ignored D part (its gate is 1).
     */
    const distantOfMember = (al: number, heads: number[]): { o: string; lse: string } => {
      const ex = this.exports.get(al);
      if (!ex) throw new Error(`layer ${l}: anchor layer ${al} is not in this graph segment`);
      if (!step.maskDistB) throw new Error(`layer ${l}: a member unit, but the plan's contract has no mask_dist_b`);
      const mDistB = declare(g, step.maskDistB);
      const idx = heads.map((h) => ex.heads.indexOf(h));
      if (this.plan.mode === 'scores') {
        const key = idx.join(',');
        let shared = ex.shared.get(key);
        if (!shared) {
          const { p, lse } = softmaxLse(g, g.op1('Add', [pick(ex.logits, idx, ex.heads.length), mDistB]));
          shared = { probs: split3(p), lse };
          ex.shared.set(key, shared);
        }
        return { o: outB(shared.probs, heads), lse: shared.lse };
      }
      const q = gather(qr, heads);
      const raw = g.op1(
        'Concat',
        [
          scores(q, gather(ex.kp, heads, 1), D),
          scoresD(gather(qrD, heads), pickDistant(ex.kd, idx, ex.heads.length)),
          scores(q, gather(ex.kNew, heads, 1), D),
        ],
        { axis: 2 },
      );
      const { p, lse } = softmaxLse(g, g.op1('Add', [raw, mDistB]));
      return { o: outB(split3(p), heads), lse };
    };

    // Local and member heads: own logits over [prox | new] masked to P(i) (part A). A local head's
    // output is softmax(A)·v; a member adds the distant part D read through its anchor, merged
    // by the two log-sum-exps.
    const own = this.plan.anchors[l]!.flatMap((al, h) => (al !== l ? [h] : []));
    if (own.length > 0) {
      const aOwn = g.op1('Add', [g.op1('Concat', [gather(sP, own), gather(sN, own)], { axis: 2 }), mProxA]);
      const byAnchor = new Map<number, number[]>();
      this.plan.anchors[l]!.forEach((al, h) => {
        if (al !== l && al !== LOCAL) byAnchor.set(al, [...(byAnchor.get(al) ?? []), h]);
      });
      const withA = (p: string): string => {
        const [pAp, pAn] = g.op('Split', [p, declare(g, step.splitA)], { axis: 2 }, { nOutputs: 2 }) as [
          string,
          string,
        ];
        return g.op1('Add', [weighted(pAp, gather(vp, own, 1)), weighted(pAn, gather(a.vNew, own, 1))]);
      };
      if (byAnchor.size === 0) outs.push({ heads: own, o: withA(g.op1('Softmax', [aOwn], { axis: -1 })) });
      else {
        const { p: pA, lse: lseA } = softmaxLse(g, aOwn);
        const oA = withA(pA);
        const ofOwn = (t: string, heads: number[]): string =>
          pick(
            t,
            heads.map((h) => own.indexOf(h)),
            own.length,
          );
        for (const [al, heads] of byAnchor) {
          const d = distantOfMember(al, heads);
          // One softmax over [A ; D] = gate·o_A + (1 − gate)·o_D with gate = σ(LSE_A − LSE_D − b) (§5).
          const gate = g.op1('Sigmoid', [g.op1('Sub', [ofOwn(lseA, heads), this.biased(a, d.lse, heads)])]);
          const oAm = ofOwn(oA, heads);
          outs.push({ heads, o: g.op1('Add', [d.o, g.op1('Mul', [gate, g.op1('Sub', [oAm, d.o])])]) });
        }
        const local = own.filter((h) => this.plan.anchors[l]![h] === LOCAL);
        if (local.length > 0) outs.push({ heads: local, o: ofOwn(oA, local) });
      }
    }
    const order = outs.flatMap((o) => o.heads);
    const out =
      outs.length === 1
        ? outs[0]!.o
        : g.op1(
            'Concat',
            outs.map((o) => o.o),
            { axis: 0 },
          );
    return order.some((h, i) => h !== i)
      ? g.op1('Gather', [out, g.i64(order.map((_, h) => order.indexOf(h)))], { axis: 0 })
      : out;
  }
}

/** A layer's distant keys or values as the graph reads them: rows [ND, h, D] and, when quantized, per-row scales [h, 1, ND]. */
interface Distant {
  rows: string;
  scale?: string;
}

/**
 * A distant-store input: rows as stored (the cache's type), or quantized rows widened to f32 as
 * they are (int8 by DequantizeLinear with scale 1, int4 unpacked and still rotated) with their
 * per-(token, head) scales laid out as [h, 1, ND], to be applied to the step's scores and
 * probabilities (O(G·T·ND) per head) instead of to the rows (O(ND·D)). Qwen 0.5B at 16K
 * (docs/performance.md): PoD + int8 decoded in 1.41× PoD's time with a per-axis DequantizeLinear
 * over the rows, in 1.11× with the scales applied here; Cast + Mul was 5× the f16 cast.
 */
function distantRows(g: GraphBuilder, d: DistantInput, quant: DistantQuant | undefined, D: number): Distant {
  const data = declare(g, d.data);
  if (!d.scale) return { rows: data };
  const scale = g.op1('Transpose', [declare(g, d.scale)], { perm: [1, 2, 0] });
  const rows = quant === 'int4' ? unpackInt4(g, data, D) : g.op1('DequantizeLinear', [data, g.scalar(1)]);
  return { rows, scale };
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
