// Fitting a chat into the context (src/context/trim.ts): the binary search gives exactly what the
// old one-message-at-a-time loop gave (system messages and the last message kept, the oldest
// others dropped first) on random conversations, with O(log n) renderings instead of O(n).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trimToFit } from '../src/context/trim';

type M = { role: 'system' | 'user' | 'assistant'; content: string };

/** The previous implementation, kept as the oracle. */
function linear(
  messages: readonly M[],
  render: (m: readonly M[]) => number[],
  reserve: number,
  limit: number,
): { ids: number[]; dropped: number } {
  const ms = [...messages];
  let dropped = 0;
  let ids = render(ms);
  while (ids.length + reserve > limit) {
    const i = ms.findIndex((m, k) => m.role !== 'system' && k < ms.length - 1);
    if (i < 0) break;
    ms.splice(i, 1);
    dropped++;
    ids = render(ms);
  }
  return { ids, dropped };
}

test('binary-search trimming equals the linear loop, with logarithmically many renderings', () => {
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  let renders = 0;
  // A template: 3 tokens per message plus one per character, 2 for the generation prompt.
  const render = (ms: readonly M[]): number[] => {
    renders++;
    return new Array<number>(ms.reduce((a, m) => a + 3 + m.content.length, 2)).fill(1);
  };
  for (let trial = 0; trial < 300; trial++) {
    const n = 1 + rand(400);
    const ms: M[] = Array.from({ length: n }, (_, i) => ({
      role: i === 0 && rand(2) ? 'system' : rand(10) === 0 ? 'system' : i % 2 ? 'assistant' : 'user',
      content: 'x'.repeat(rand(60)),
    }));
    const reserve = rand(64),
      limit = 32 + rand(3000);
    const want = linear(ms, render, reserve, limit);
    renders = 0;
    const got = trimToFit(ms, render, reserve, limit);
    assert.equal(got.dropped, want.dropped, `trial ${trial}`);
    assert.deepEqual(got.ids.length, want.ids.length);
    assert.equal(got.messages.length, n - got.dropped);
    assert.equal(got.messages.at(-1), ms.at(-1), 'the last message is kept');
    assert.ok(renders <= 3 + Math.ceil(Math.log2(n + 1)), `${renders} renderings for ${n} messages`);
  }
});
