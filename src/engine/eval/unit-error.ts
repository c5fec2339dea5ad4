// What a (layer, KV head) unit's distant tokens are worth (docs/pod-qwen.md §2): the error a local
// unit — proximal tokens only — would add to the residual stream, measured on calibration text
// with the full cache, and the choice of local units under a byte target. For query position i
// and query head hq of KV head h in layer l:
//   o    = softmax(q·K[0..i]) V              (full attention)
//   o_P  = softmax(q·K[P(i)]) V[P(i)]        (sinks + recent window only)
//   err  = ‖W_o[:, hq] (o − o_P)‖²           (what the head would write differently)
// summed over the query heads of h and averaged over positions. Units are ranked by it; the
// cheapest become local until the plan saves the target share of distant K/V bytes.
import { LOCAL } from '../kv/plan';
import { distantRange } from './jsd';

export class UnitErrorAccumulator {
  /** Σ err per unit [l·Hkv + h]. */
  readonly err: Float64Array;
  private positions = 0;
  private logits = new Float64Array(0);

  constructor(
    readonly nLayers: number,
    readonly nHeads: number,
    readonly nKVHeads: number,
    readonly headDim: number,
    readonly dim: number,
  ) {
    this.err = new Float64Array(nLayers * nKVHeads);
  }

  /**
   * Add layer l's query rows t = 0 … q−1 at absolute positions firstPos + t. queries [q, Hq, D]
   * (rotated), keys/values [tokens, Hkv, D] (keys rotated), wo [dim, Hq·D] row-major. Call once
   * per layer per text, then `endText(q)` with the positions that had distant tokens.
   */
  addLayer(
    l: number,
    queries: Float32Array,
    keys: Float32Array,
    values: Float32Array,
    wo: Float32Array,
    firstPos: number,
    q: number,
    sinks: number,
    recent: number,
  ): number {
    const { nHeads: Hq, nKVHeads: Hkv, headDim: D, dim } = this;
    const G = Hq / Hkv,
      scale = 1 / Math.sqrt(D);
    const o = new Float64Array(D),
      oP = new Float64Array(D),
      diff = new Float64Array(D);
    let used = 0;
    for (let t = 0; t < q; t++) {
      const i = firstPos + t;
      const { from, to } = distantRange(i, sinks, recent);
      if (to <= from) continue;
      used++;
      if (this.logits.length < i + 1) this.logits = new Float64Array(i + 1);
      const s = this.logits;
      for (let hq = 0; hq < Hq; hq++) {
        const h = Math.floor(hq / G),
          qo = (t * Hq + hq) * D;
        let mx = -Infinity;
        for (let j = 0; j <= i; j++) {
          let dot = 0;
          const ko = (j * Hkv + h) * D;
          for (let d = 0; d < D; d++) dot += queries[qo + d]! * keys[ko + d]!;
          s[j] = dot * scale;
          if (s[j]! > mx) mx = s[j]!;
        }
        o.fill(0);
        oP.fill(0);
        let z = 0,
          zP = 0;
        for (let j = 0; j <= i; j++) {
          const e = Math.exp(s[j]! - mx),
            vo = (j * Hkv + h) * D,
            prox = j < from || j >= to;
          z += e;
          if (prox) zP += e;
          for (let d = 0; d < D; d++) {
            const v = values[vo + d]! * e;
            o[d] = o[d]! + v;
            if (prox) oP[d] = oP[d]! + v;
          }
        }
        for (let d = 0; d < D; d++) {
          o[d] = o[d]! / z;
          oP[d] = oP[d]! / zP;
          diff[d] = o[d]! - oP[d]!;
        }
        let e2 = 0;
        for (let r = 0; r < dim; r++) {
          const wo0 = r * Hq * D + hq * D;
          let a = 0;
          for (let d = 0; d < D; d++) a += wo[wo0 + d]! * diff[d]!;
          e2 += a * a;
        }
        this.err[l * Hkv + h]! += e2;
      }
    }
    return used;
  }

  endText(positions: number): void {
    this.positions += positions;
  }

  /** meanError[l][h]: mean over positions of Σ over h's query heads of ‖W_o (o − o_P)‖². */
  meanError(): number[][] {
    const n = Math.max(1, this.positions);
    return Array.from({ length: this.nLayers }, (_, l) =>
      Array.from({ length: this.nKVHeads }, (_, h) => this.err[l * this.nKVHeads + h]! / n),
    );
  }
}

/**
 * Local units for a byte target: units sorted by measured error, cheapest first, become local
 * until `share` of all units are local (a local unit saves its distant keys and values, so the
 * KV saving vs a full cache is share × (T − W) / T). Everything else is its own anchor.
 */
export function localAnchors(meanError: readonly (readonly number[])[], share: number): number[][] {
  if (!(share >= 0 && share <= 1)) throw new RangeError(`local share must be in [0, 1] (got ${share})`);
  const units = meanError.flatMap((row, l) => row.map((e, h) => ({ l, h, e })));
  units.sort((a, b) => a.e - b.e || a.l - b.l || a.h - b.h);
  const local = new Set(units.slice(0, Math.round(share * units.length)).map((u) => `${u.l},${u.h}`));
  return meanError.map((row, l) => row.map((_, h) => (local.has(`${l},${h}`) ? LOCAL : l)));
}

/** The local share that gives `saving` of a full cache at context T with window W: saving·T/(T − W), capped at 1. */
export function localShareFor(saving: number, T: number, W: number): number {
  if (!(saving >= 0 && saving < 1)) throw new RangeError(`target saving must be in [0, 1) (got ${saving})`);
  if (T <= W) throw new RangeError(`context ${T} leaves no distant tokens with a window of ${W}`);
  return Math.min(1, (saving * T) / (T - W));
}
