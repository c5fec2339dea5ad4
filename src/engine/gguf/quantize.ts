// Quantizers: float32 → raw GGUF tensor bytes for every supported type, following ggml's
// reference (non-imatrix) quantize_row_*_ref in ggml-quants.c. Every float32 operation of the C
// code is reproduced with Math.fround (a float64 op rounded once to float32 is the correctly
// rounded float32 op), so results match a non-FMA build of ggml bit for bit; test/quants.test.ts
// checks this against gguf-py and ggml's own C. Used by the writer, synthetic models and tests.
import { GGMLType, TYPE_TRAITS, typeName } from './types';
import { floatToBf16, floatToHalf, halfTable } from './half';

const fr = Math.fround;
const GROUP_MAX_EPS = fr(1e-15);
const F01 = fr(0.1);

/** Quantize `data` (length a multiple of the type's block size) into a new byte array. */
export function quantize(type: GGMLType, data: Float32Array): Uint8Array {
  const traits = TYPE_TRAITS.get(type);
  if (!traits) throw new Error(`cannot quantize to ${typeName(type)}`);
  const n = data.length;
  if (n % traits.blockSize !== 0)
    throw new Error(`${n} elements is not a multiple of the ${traits.name} block size ${traits.blockSize}`);
  const out = new Uint8Array((n / traits.blockSize) * traits.typeSize);
  if (traits.blockSize > 1) {
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(data[i]!))
        throw new RangeError(`cannot quantize non-finite value ${data[i]} at ${i} to ${traits.name}`);
    }
  }
  const nb = n / traits.blockSize;
  switch (type) {
    case GGMLType.F32:
      out.set(new Uint8Array(data.buffer, data.byteOffset, n * 4));
      break;
    case GGMLType.F16:
      for (let i = 0; i < n; i++) put16(out, 2 * i, floatToHalf(data[i]!));
      break;
    case GGMLType.BF16:
      for (let i = 0; i < n; i++) put16(out, 2 * i, floatToBf16(data[i]!));
      break;
    case GGMLType.Q4_0:
      for (let i = 0; i < nb; i++) q4_0(data, 32 * i, out, 18 * i);
      break;
    case GGMLType.Q4_1:
      for (let i = 0; i < nb; i++) q4_1(data, 32 * i, out, 20 * i);
      break;
    case GGMLType.Q5_0:
      for (let i = 0; i < nb; i++) q5_0(data, 32 * i, out, 22 * i);
      break;
    case GGMLType.Q5_1:
      for (let i = 0; i < nb; i++) q5_1(data, 32 * i, out, 24 * i);
      break;
    case GGMLType.Q8_0:
      for (let i = 0; i < nb; i++) q8_0(data, 32 * i, out, 34 * i);
      break;
    case GGMLType.Q4_K: {
      const s = new K4Scratch();
      for (let i = 0; i < nb; i++) q4_K(data, 256 * i, out, 144 * i, s);
      break;
    }
    case GGMLType.Q6_K: {
      const L = new Int8Array(256);
      for (let i = 0; i < nb; i++) q6_K(data, 256 * i, out, 210 * i, L);
      break;
    }
    default:
      throw new Error(`no quantizer for ${traits.name}`);
  }
  return out;
}

function put16(b: Uint8Array, p: number, v: number): void {
  b[p] = v & 0xff;
  b[p + 1] = v >>> 8;
}

/** ggml nearest_int: round half to even through the 1.5·2^23 float32 trick (|v| < 2^22). */
function nearestInt(v: number): number {
  return fr(v + 12582912) - 12582912;
}

/** Value with the largest magnitude (first one on ties), as the ggml loops pick it. */
function absMaxSigned(x: Float32Array, o: number, n: number): number {
  let amax = 0,
    max = 0;
  for (let j = 0; j < n; j++) {
    const v = x[o + j]!;
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

function q4_0(x: Float32Array, o: number, y: Uint8Array, p: number): void {
  const d = fr(absMaxSigned(x, o, 32) / -8);
  const id = d !== 0 ? fr(1 / d) : 0;
  put16(y, p, floatToHalf(d));
  for (let j = 0; j < 16; j++) {
    const a = Math.min(15, Math.trunc(fr(fr(x[o + j]! * id) + 8.5)));
    const b = Math.min(15, Math.trunc(fr(fr(x[o + 16 + j]! * id) + 8.5)));
    y[p + 2 + j] = a | (b << 4);
  }
}

function minMax(x: Float32Array, o: number, n: number): [number, number] {
  let min = Infinity,
    max = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = x[o + j]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

function q4_1(x: Float32Array, o: number, y: Uint8Array, p: number): void {
  const [min, max] = minMax(x, o, 32);
  const d = fr(fr(max - min) / 15);
  const id = d !== 0 ? fr(1 / d) : 0;
  put16(y, p, floatToHalf(d));
  put16(y, p + 2, floatToHalf(min));
  for (let j = 0; j < 16; j++) {
    const a = Math.min(15, Math.trunc(fr(fr(fr(x[o + j]! - min) * id) + 0.5)));
    const b = Math.min(15, Math.trunc(fr(fr(fr(x[o + 16 + j]! - min) * id) + 0.5)));
    y[p + 4 + j] = a | (b << 4);
  }
}

function putQh(y: Uint8Array, p: number, qh: number): void {
  y[p] = qh & 0xff;
  y[p + 1] = (qh >>> 8) & 0xff;
  y[p + 2] = (qh >>> 16) & 0xff;
  y[p + 3] = qh >>> 24;
}

function q5_0(x: Float32Array, o: number, y: Uint8Array, p: number): void {
  const d = fr(absMaxSigned(x, o, 32) / -16);
  const id = d !== 0 ? fr(1 / d) : 0;
  put16(y, p, floatToHalf(d));
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    const a = Math.min(31, Math.trunc(fr(fr(x[o + j]! * id) + 16.5)));
    const b = Math.min(31, Math.trunc(fr(fr(x[o + 16 + j]! * id) + 16.5)));
    y[p + 6 + j] = (a & 15) | ((b & 15) << 4);
    qh |= ((a & 0x10) >> 4) << j;
    qh |= ((b & 0x10) >> 4) << (j + 16);
  }
  putQh(y, p + 2, qh >>> 0);
}

function q5_1(x: Float32Array, o: number, y: Uint8Array, p: number): void {
  const [min, max] = minMax(x, o, 32);
  const d = fr(fr(max - min) / 31);
  const id = d !== 0 ? fr(1 / d) : 0;
  put16(y, p, floatToHalf(d));
  put16(y, p + 2, floatToHalf(min));
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    // ggml casts straight to uint8_t here (no MIN); the value never exceeds 31 for finite input.
    const a = Math.trunc(fr(fr(fr(x[o + j]! - min) * id) + 0.5)) & 0xff;
    const b = Math.trunc(fr(fr(fr(x[o + 16 + j]! - min) * id) + 0.5)) & 0xff;
    y[p + 8 + j] = (a & 15) | ((b & 15) << 4);
    qh |= ((a & 0x10) >> 4) << j;
    qh |= ((b & 0x10) >> 4) << (j + 16);
  }
  putQh(y, p + 4, qh >>> 0);
}

function q8_0(x: Float32Array, o: number, y: Uint8Array, p: number): void {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[o + j]!));
  const d = fr(amax / 127);
  const id = d !== 0 ? fr(1 / d) : 0;
  put16(y, p, floatToHalf(d));
  for (let j = 0; j < 32; j++) {
    const v = fr(x[o + j]! * id);
    const r = Math.floor(Math.abs(v) + 0.5); // roundf: half away from zero (exact in float64)
    y[p + 2 + j] = (v < 0 ? -r : r) & 0xff;
  }
}

/** Per-call scratch for Q4_K so the hot loop allocates nothing. */
class K4Scratch {
  readonly L = new Uint8Array(256);
  readonly Laux = new Uint8Array(32);
  readonly weights = new Float32Array(32);
  readonly scales = new Float32Array(8);
  readonly mins = new Float32Array(8);
}

/** ggml make_qkx2_quants: returns the scale; writes levels to L[lo..] and -min to mins[j]. */
function makeQkx2(
  n: number,
  nmax: number,
  x: Float32Array,
  xo: number,
  w: Float32Array,
  L: Uint8Array,
  lo: number,
  Laux: Uint8Array,
  mins: Float32Array,
  j: number,
  rmin: number,
  rdelta: number,
  nstep: number,
): number {
  let min = x[xo]!,
    max = x[xo]!;
  let sumW = w[0]!;
  let sumX = fr(sumW * x[xo]!);
  for (let i = 1; i < n; i++) {
    const v = x[xo + i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    sumW = fr(sumW + w[i]!);
    sumX = fr(sumX + fr(w[i]! * v));
  }
  if (min > 0) min = 0;
  if (max === min) {
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    mins[j] = -min;
    return 0;
  }
  let iscale = fr(nmax / fr(max - min));
  let scale = fr(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xo + i]!;
    const l = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(v - min)))));
    L[lo + i] = l;
    const diff = fr(fr(fr(scale * l) + min) - v);
    bestError = fr(bestError + fr(w[i]! * fr(diff * diff)));
  }
  for (let is = 0; is <= nstep; is++) {
    // min may have moved to an accepted fit: ggml recomputes max - min every step
    iscale = fr(fr(fr(rmin + fr(rdelta * is)) + nmax) / fr(max - min));
    let sumL = 0,
      sumL2 = 0,
      sumXL = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xo + i]!;
      const l = Math.max(0, Math.min(nmax, nearestInt(fr(iscale * fr(v - min)))));
      Laux[i] = l;
      const wl = fr(w[i]! * l);
      sumL = fr(sumL + wl);
      sumL2 = fr(sumL2 + fr(wl * l));
      sumXL = fr(sumXL + fr(wl * v));
    }
    const D = fr(fr(sumW * sumL2) - fr(sumL * sumL));
    if (D > 0) {
      let thisScale = fr(fr(fr(sumW * sumXL) - fr(sumX * sumL)) / D);
      let thisMin = fr(fr(fr(sumL2 * sumX) - fr(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = fr(sumXL / sumL2);
      }
      let cur = 0;
      for (let i = 0; i < n; i++) {
        const diff = fr(fr(fr(thisScale * Laux[i]!) + thisMin) - x[xo + i]!);
        cur = fr(cur + fr(w[i]! * fr(diff * diff)));
      }
      if (cur < bestError) {
        for (let i = 0; i < n; i++) L[lo + i] = Laux[i]!;
        bestError = cur;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  mins[j] = -min;
  return scale;
}

function q4_K(x: Float32Array, o: number, y: Uint8Array, p: number, s: K4Scratch): void {
  const { L, Laux, weights, scales, mins } = s;
  let maxScale = 0,
    maxMin = 0;
  for (let j = 0; j < 8; j++) {
    const xo = o + 32 * j;
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = fr(sumX2 + fr(x[xo + l]! * x[xo + l]!));
    const avX = fr(Math.sqrt(fr(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = fr(avX + Math.abs(x[xo + l]!));
    const sc = makeQkx2(32, 15, x, xo, weights, L, 32 * j, Laux, mins, j, -1, F01, 20);
    scales[j] = sc;
    if (sc > maxScale) maxScale = sc;
    if (mins[j]! > maxMin) maxMin = mins[j]!;
  }
  const invScale = maxScale > 0 ? fr(63 / maxScale) : 0;
  const invMin = maxMin > 0 ? fr(63 / maxMin) : 0;
  const sc = p + 4;
  for (let j = 0; j < 8; j++) {
    const ls = Math.min(63, nearestInt(fr(invScale * scales[j]!)) & 0xff);
    const lm = Math.min(63, nearestInt(fr(invMin * mins[j]!)) & 0xff);
    if (j < 4) {
      y[sc + j] = ls;
      y[sc + j + 4] = lm;
    } else {
      y[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
      y[sc + j - 4] = y[sc + j - 4]! | ((ls >> 4) << 6);
      y[sc + j] = y[sc + j]! | ((lm >> 4) << 6);
    }
  }
  const dh = floatToHalf(fr(maxScale / 63));
  const mh = floatToHalf(fr(maxMin / 63));
  put16(y, p, dh);
  put16(y, p + 2, mh);
  const t = halfTable();
  const df = t[dh]!,
    mf = t[mh]!;
  for (let j = 0; j < 8; j++) {
    let s6: number, m6: number;
    if (j < 4) {
      s6 = y[sc + j]! & 63;
      m6 = y[sc + j + 4]! & 63;
    } else {
      s6 = (y[sc + j + 4]! & 0xf) | ((y[sc + j - 4]! >> 6) << 4);
      m6 = (y[sc + j + 4]! >> 4) | ((y[sc + j]! >> 6) << 4);
    }
    const d = fr(df * s6);
    if (d === 0) continue;
    const dm = fr(mf * m6);
    for (let ii = 0; ii < 32; ii++) {
      const l = nearestInt(fr(fr(x[o + 32 * j + ii]! + dm) / d));
      L[32 * j + ii] = Math.max(0, Math.min(15, l));
    }
  }
  for (let j = 0, q = p + 16; j < 256; j += 64, q += 32) {
    for (let l = 0; l < 32; l++) y[q + l] = L[j + l]! | (L[j + l + 32]! << 4);
  }
}

/** ggml make_qx_quants with rmse_type 1 and no importance weights (what Q6_K ref uses). */
function makeQx(n: number, nmax: number, x: Float32Array, xo: number, L: Int8Array, lo: number): number {
  const max = absMaxSigned(x, xo, n);
  if (Math.abs(max) < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lo + i] = 0;
    return 0;
  }
  const level = (iscale: number, v: number): number => Math.max(-nmax, Math.min(nmax - 1, nearestInt(fr(iscale * v))));
  let iscale = fr(-nmax / max);
  let sumlx = 0,
    suml2 = 0;
  for (let i = 0; i < n; i++) {
    const v = x[xo + i]!;
    const l = level(iscale, v);
    L[lo + i] = l + nmax;
    const w = fr(v * v);
    sumlx = fr(sumlx + fr(fr(w * v) * l));
    suml2 = fr(suml2 + fr(fr(w * l) * l));
  }
  let scale = suml2 !== 0 ? fr(sumlx / suml2) : 0;
  let best = fr(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = fr(-fr(nmax + fr(F01 * is)) / max);
    sumlx = 0;
    suml2 = 0;
    for (let i = 0; i < n; i++) {
      const v = x[xo + i]!;
      const l = level(iscale, v);
      const w = fr(v * v);
      sumlx = fr(sumlx + fr(fr(w * v) * l));
      suml2 = fr(suml2 + fr(fr(w * l) * l));
    }
    if (suml2 > 0 && fr(sumlx * sumlx) > fr(best * suml2)) {
      for (let i = 0; i < n; i++) L[lo + i] = nmax + level(iscale, x[xo + i]!);
      scale = fr(sumlx / suml2);
      best = fr(scale * sumlx);
    }
  }
  return scale;
}

function q6_K(x: Float32Array, o: number, y: Uint8Array, p: number, L: Int8Array): void {
  const scales = new Float32Array(16);
  let maxScale = 0,
    maxAbsScale = 0;
  for (let ib = 0; ib < 16; ib++) {
    const s = makeQx(16, 32, x, o + 16 * ib, L, 16 * ib);
    scales[ib] = s;
    if (Math.abs(s) > maxAbsScale) {
      maxAbsScale = Math.abs(s);
      maxScale = s;
    }
  }
  if (maxAbsScale < GROUP_MAX_EPS) {
    y.fill(0, p, p + 210);
    return;
  }
  const iscale = fr(-128 / maxScale);
  const dh = floatToHalf(fr(1 / iscale));
  put16(y, p + 208, dh);
  const sc = p + 192;
  for (let ib = 0; ib < 16; ib++) y[sc + ib] = Math.min(127, nearestInt(fr(iscale * scales[ib]!))) & 0xff;
  const df = halfTable()[dh]!;
  for (let j = 0; j < 16; j++) {
    const d = fr(df * ((y[sc + j]! << 24) >> 24));
    if (d === 0) continue;
    for (let ii = 0; ii < 16; ii++) {
      const l = nearestInt(fr(x[o + 16 * j + ii]! / d));
      L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
    }
  }
  for (let j = 0, ql = p, qh = p + 128; j < 256; j += 128, ql += 64, qh += 32) {
    for (let l = 0; l < 32; l++) {
      const a = L[j + l]!,
        b = L[j + l + 32]!,
        c = L[j + l + 64]!,
        e = L[j + l + 96]!;
      y[ql + l] = (a & 0xf) | ((c & 0xf) << 4);
      y[ql + l + 32] = (b & 0xf) | ((e & 0xf) << 4);
      y[qh + l] = (a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6);
    }
  }
}
