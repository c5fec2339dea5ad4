// A KV cache's state as plain arrays, for persistence (src/context/persist.ts) and in-memory
// checkpoints (src/context/session.ts): what every cache's exportState() returns and importState()
// accepts. `ints` holds the small bookkeeping (lengths, ring slot positions) and `buffers` the K/V
// arrays trimmed to live data, both in an order each implementation defines. Helpers here check a
// state against a cache before anything is overwritten. Not here: file format, hashing.
import { KVArray, KVDtype } from './dtype';
import { ProximalRing } from './ring';

export interface KVState {
  readonly kind: string;
  readonly dtype: KVDtype;
  readonly length: number;
  readonly ints: Int32Array;
  readonly buffers: readonly KVArray[];
}

/** Bytes a state holds in memory (bookkeeping and K/V buffers): the one count checkpoints, logs and stores use. */
export const stateBytes = (s: KVState): number => s.buffers.reduce((a, b) => a + b.byteLength, s.ints.byteLength);

/** Throws a RangeError naming the first difference between a state and what a cache expects. */
export function checkState(s: KVState, kind: string, dtype: KVDtype, ints: number, lengths: readonly number[]): void {
  if (s.kind !== kind) throw new RangeError(`KV state is for a ${s.kind} cache, this cache is ${kind}`);
  if (s.dtype !== dtype) throw new RangeError(`KV state stores ${s.dtype}, this cache stores ${dtype}`);
  if (s.ints.length !== ints)
    throw new RangeError(`KV state has ${s.ints.length} bookkeeping integers, expected ${ints}`);
  if (s.buffers.length !== lengths.length)
    throw new RangeError(`KV state has ${s.buffers.length} buffers, expected ${lengths.length}`);
  s.buffers.forEach((b, i) => {
    const okType = dtype === 'f32' ? b instanceof Float32Array : b instanceof Uint16Array;
    if (!okType) throw new RangeError(`KV state buffer ${i} is not ${dtype}`);
    if (b.length !== lengths[i])
      throw new RangeError(`KV state buffer ${i} has ${b.length} elements, expected ${lengths[i]}`);
  });
}

/** Ring bookkeeping: [len, ...slotPos]. */
export function ringInts(r: ProximalRing, extra: number): Int32Array {
  const out = new Int32Array(2 + r.P1);
  out[0] = r.len;
  out[1] = extra;
  out.set(r.slotPos, 2);
  return out;
}

/** Restore a ring from ringInts and its 2·L buffers (kp per layer, then vp per layer). */
export function restoreRing(r: ProximalRing, ints: Int32Array, buffers: readonly KVArray[]): void {
  const L = r.kp.length;
  const len = ints[0]!;
  for (let s = 0; s < r.P1; s++) {
    const p = ints[2 + s]!;
    if (p < -1 || p >= len) throw new RangeError(`KV state: ring slot ${s} holds position ${p} of ${len}`);
  }
  for (let l = 0; l < L; l++) {
    r.kp[l]!.set(buffers[l]!);
    r.vp[l]!.set(buffers[L + l]!);
  }
  r.slotPos.set(ints.subarray(2, 2 + r.P1));
  r.len = len;
}
