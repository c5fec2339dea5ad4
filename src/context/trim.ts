// Fitting a chat into the context: drop the oldest messages that are neither system messages nor
// the last message until the prompt plus the answer budget fits. The number to drop is found by
// binary search (a prompt never grows when messages are removed), so a long conversation costs
// O(log n) chat-template renderings per turn, not O(n) — the linear loop made turn 300 of a long
// session take tens of seconds (found by test/soak.test.ts). Same result as dropping one at a time.
export interface Trimmed<M> {
  messages: M[];
  ids: number[];
  dropped: number;
}

/** `render` gives the prompt ids of a message list; the prompt fits when ids + `reserve` ≤ `limit`. */
export function trimToFit<M extends { role: string }>(
  messages: readonly M[],
  render: (m: readonly M[]) => number[],
  reserve: number,
  limit: number,
): Trimmed<M> {
  const fits = (ids: number[]): boolean => ids.length + reserve <= limit;
  const all = [...messages];
  const first = render(all);
  if (fits(first)) return { messages: all, ids: first, dropped: 0 };
  const droppable = all.map((m, i) => (m.role !== 'system' && i < all.length - 1 ? i : -1)).filter((i) => i >= 0);
  const without = (k: number): M[] => {
    const gone = new Set(droppable.slice(0, k));
    return all.filter((_, i) => !gone.has(i));
  };
  // Smallest k in [1, droppable.length] that fits; droppable.length when none does.
  let lo = 1,
    hi = droppable.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fits(render(without(mid)))) hi = mid;
    else lo = mid + 1;
  }
  if (droppable.length === 0) return { messages: all, ids: first, dropped: 0 };
  const kept = without(lo);
  return { messages: kept, ids: render(kept), dropped: lo };
}
