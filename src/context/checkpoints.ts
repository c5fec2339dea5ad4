// The in-memory KV checkpoints of a session (session.ts) whose cache cannot rewind (PoD,
// streaming): exportState copies at block boundaries, where they are taken
// (`checkpointPositions`), which one an edit restores (`nearest`), and their byte cap. The bytes
// of each state are counted once (kv/state.ts `stateBytes`); while the checkpoints hold more than
// the cap (default: CHECKPOINT_CACHE_FACTOR × the KV cache's bytes at the whole context) the least
// useful is dropped — the one that saves the fewest tokens over the checkpoint before it (an edit
// after it then recomputes from there) — the last block's start (the most recently edited file)
// and the workspace-prefix end last of all. Not here: computing the states, the store on disk.
import { KVState, stateBytes } from '../engine/kv/state';

export interface SessionOptions {
  /** Most bytes all checkpoints may hold together (default: CHECKPOINT_CACHE_FACTOR × the cache's bytes at the whole context). */
  checkpointBytes?: number;
}

/** The default checkpoint cap, as a multiple of the KV cache's bytes at the whole context (engine.memory.kvBytes). */
export const CHECKPOINT_CACHE_FACTOR = 2;

/** Checkpoints kept at block boundaries (plus the workspace end) for caches that cannot rewind. */
const MAX_CHECKPOINTS = 8;
/** Of those, at the starts of the last blocks: the files edited most recently are last (build.ts). */
const LAST_BLOCKS = 4;

export interface Checkpoint {
  ids: number[];
  state: KVState;
  /** stateBytes(state), counted once. */
  bytes: number;
}

export const mbOf = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;
/** Length of the common prefix of a and b, at most max. */
export const lcp = (a: readonly number[], b: readonly number[], max: number): number => {
  let p = 0;
  while (p < max && a[p] === b[p]) p++;
  return p;
};
export const isPrefix = (a: readonly number[], b: readonly number[]): boolean =>
  a.length <= b.length && lcp(a, b, a.length) === a.length;

/** Block boundaries to checkpoint at: the last blocks' starts, a few spread evenly over the rest, and the prefix end. */
export function checkpointPositions(starts: readonly number[], prefix: number): number[] {
  const last = starts.slice(-LAST_BLOCKS);
  const rest = starts.slice(0, starts.length - last.length);
  const spread = MAX_CHECKPOINTS - 1 - last.length;
  const picked =
    rest.length <= spread
      ? rest
      : Array.from({ length: spread }, (_, i) => rest[Math.floor((i * rest.length) / spread)]!);
  return [...new Set([...picked, ...last, prefix])].filter((p) => p > 0).sort((a, b) => a - b);
}

export class Checkpoints {
  private list: Checkpoint[] = [];
  /** The current prompt's workspace end and last block start: the checkpoints dropped last. */
  keepLongest: { prefix: number; lastStart: number } = { prefix: 0, lastStart: 0 };

  constructor(
    readonly cap: () => number,
    private readonly log: (line: string) => void,
  ) {}

  /** Position and bytes of each, in position order. */
  get info(): { at: number; bytes: number }[] {
    return this.list.map((c) => ({ at: c.ids.length, bytes: c.bytes }));
  }

  /** The checkpoint at exactly `at` tokens. */
  at(at: number): Checkpoint | undefined {
    return this.list.find((c) => c.ids.length === at);
  }

  /** The longest checkpoint of at most `p` tokens on the path of `target`. */
  nearest(p: number, target: readonly number[]): Checkpoint | undefined {
    return this.list
      .filter((c) => c.ids.length <= p && isPrefix(c.ids, target))
      .sort((a, b) => b.ids.length - a.ids.length)[0];
  }

  /** Only those on the path of `target` stay, except one at `at` (about to be replaced). */
  keepOnPath(target: readonly number[], at: number): void {
    this.list = this.list.filter((c) => c.ids.length !== at && isPrefix(c.ids, target));
  }

  /** Add one, then drop the least useful while there are too many or they hold more than the cap. */
  add(ids: number[], state: KVState): void {
    this.list.push({ ids, state, bytes: stateBytes(state) });
    this.list.sort((a, b) => a.ids.length - b.ids.length);
    while (this.list.length > MAX_CHECKPOINTS) this.list.shift();
    const cap = this.cap();
    const total = (): number => this.list.reduce((a, c) => a + c.bytes, 0);
    const before = total();
    const dropped: number[] = [];
    while (this.list.length > 0 && total() > cap) {
      const i = this.leastUseful();
      dropped.push(this.list[i]!.ids.length);
      this.list.splice(i, 1);
    }
    if (dropped.length > 0)
      this.log(
        `KV checkpoints at ${dropped.sort((a, b) => a - b).join(', ')} dropped: ${this.list.length + dropped.length} held ${mbOf(before)}, over the ${mbOf(cap)} cap (now ${mbOf(total())})`,
      );
  }

  /** Index of the one to drop first: fewest tokens saved over the one before it; the last block's start and the workspace end last. */
  private leastUseful(): number {
    const { prefix, lastStart } = this.keepLongest;
    const rank = (at: number): number => (at === prefix ? 2 : at === lastStart ? 1 : 0);
    let best = 0;
    let bestKey: [number, number] = [Infinity, Infinity];
    this.list.forEach((c, i) => {
      const at = c.ids.length;
      const key: [number, number] = [rank(at), at - (this.list[i - 1]?.ids.length ?? 0)];
      if (key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
        best = i;
        bestKey = key;
      }
    });
    return best;
  }
}
