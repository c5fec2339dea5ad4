// The worker's chat sessions with a PoD cache (recent window 32 tokens, so answers push tokens out
// of it and the cache cannot rewind past them): a follow-up and a regenerated answer restore the
// checkpoint at the end of the system message (the workspace context) instead of reading the
// whole prompt again, the stats count the checkpoint's tokens as computed on the turn that read
// them, and the restored state is exact — the greedy answer equals a fresh session's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EngineSessions, newTurnInfo } from '../src/worker/sessions';
import { GenerateStats } from '../src/engine/generate';
import { ChatMessage } from '../src/engine/tokenizer';
import { modelPath, SMOLLM2 } from './helpers';

let engine: EngineSessions;
before(async () => {
  engine = await EngineSessions.load(modelPath(SMOLLM2), {
    contextSize: 1024,
    kv: { kind: 'pod', sinks: 4, recent: 32, groupSize: 5, mode: 'scores' },
  });
});
after(() => engine?.dispose());

const sampler = { temperature: 0, topK: 0, topP: 1, minP: 0, repeatPenalty: 1, seed: 0 };
const system = `You answer questions about this project.\n\n${Array.from({ length: 30 }, (_, i) => `Line ${i}: harbour ${i} has a tide range of ${(i * 0.37).toFixed(2)} metres.`).join('\n')}`;

async function ask(
  session: string,
  messages: ChatMessage[],
): Promise<{ text: string; stats: GenerateStats; prefill: number[] }> {
  const prefill: number[] = [];
  for await (const ev of engine.generate(
    { session, messages, maxTokens: 48, sampler, stop: [], trimToFit: true, signal: new AbortController().signal },
    newTurnInfo(),
  )) {
    if (ev.type === 'prefill') prefill.push(ev.done);
    if (ev.type === 'done') return { text: ev.text, stats: ev.stats, prefill };
  }
  throw new Error('no done event');
}

test('PoD chat: follow-up and regenerate restore the system-message checkpoint; answers match a fresh session', async () => {
  const q1: ChatMessage[] = [
    { role: 'system', content: system },
    { role: 'user', content: 'Which harbour has the largest tide range?' },
  ];
  const a1 = await ask('chat', q1);
  assert.equal(a1.stats.reusedTokens, 0);
  assert.ok(a1.stats.promptTokens > 300, `prompt ${a1.stats.promptTokens}`);
  assert.ok(
    a1.prefill.every((d, i) => i === 0 || d >= a1.prefill[i - 1]!),
    'progress only grows across the checkpoint',
  );
  assert.equal(a1.prefill.at(-1), a1.stats.promptTokens);
  assert.ok(a1.stats.generatedTokens > 32, 'the answer pushes prompt tokens out of the recent window');

  const q2: ChatMessage[] = [
    ...q1,
    { role: 'assistant', content: a1.text.trim() },
    { role: 'user', content: 'And the smallest?' },
  ];
  const a2 = await ask('chat', q2);
  const systemTokens = a2.stats.reusedTokens;
  assert.ok(
    systemTokens > 300 && systemTokens < a1.stats.promptTokens,
    `follow-up reused ${systemTokens} (the system message)`,
  );
  const cold2 = await ask('cold-2', q2);
  assert.equal(a2.text, cold2.text, 'restored state = fresh state');
  assert.equal(cold2.stats.reusedTokens, 0);
  assert.equal(a2.stats.promptTokens + a2.stats.reusedTokens, cold2.stats.promptTokens);

  // Regenerate: the same prompt again.
  const r2 = await ask('chat', q2);
  assert.equal(r2.stats.reusedTokens, systemTokens);
  assert.equal(r2.text, a2.text);
  console.log(
    `PoD chat turn 2: ${systemTokens} reused, ${a2.stats.promptTokens} computed, TTFT ${a2.stats.ttftMs.toFixed(0)} ms (cold ${cold2.stats.ttftMs.toFixed(0)} ms)`,
  );
});

test('a full cache keeps rewinding by prefix without checkpoints', async () => {
  const full = await EngineSessions.load(modelPath(SMOLLM2), { contextSize: 1024 });
  try {
    const q1: ChatMessage[] = [
      { role: 'system', content: system },
      { role: 'user', content: 'Hi' },
    ];
    const run = async (m: ChatMessage[]) => {
      for await (const ev of full.generate(
        {
          session: 's',
          messages: m,
          maxTokens: 8,
          sampler,
          stop: [],
          trimToFit: true,
          signal: new AbortController().signal,
        },
        newTurnInfo(),
      )) {
        if (ev.type === 'done') return ev.stats;
      }
      throw new Error('no done');
    };
    const s1 = await run(q1);
    const s2 = await run(q1);
    assert.equal(s2.reusedTokens, s1.promptTokens - 1, 'regenerate: all but the last prompt token');
  } finally {
    await full.dispose();
  }
});
