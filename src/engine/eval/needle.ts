// Needle-in-a-haystack (issue 3 §5): a deterministic haystack builder (a real long text cut to a
// token budget, a one-sentence fact inserted on a line boundary at a requested depth) and the
// trial runner (question at the end through the chat template, greedy answer, correct if it
// contains the passphrase). Not a benchmark of speed; not a generic prompt builder.
import { Engine } from '../engine';
import { Xoshiro128 } from '../sampler';
import { Tokenizer } from '../tokenizer';

const ADJECTIVES = [
  'amber',
  'silver',
  'purple',
  'golden',
  'crimson',
  'frozen',
  'quiet',
  'rapid',
  'hollow',
  'gentle',
  'copper',
  'velvet',
  'northern',
  'bitter',
  'lucky',
  'ancient',
];
const NOUNS = [
  'falcon',
  'lantern',
  'harbor',
  'meadow',
  'pebble',
  'violin',
  'glacier',
  'orchard',
  'compass',
  'thunder',
  'canyon',
  'walrus',
  'teapot',
  'kettle',
  'saddle',
  'beacon',
];

export const NEEDLE_QUESTION =
  'What is the secret passphrase mentioned in the text above? Reply with the passphrase only.';

/** The passphrase of a trial: an adjective–noun pair drawn with a seeded generator. */
export function passphrase(seed: number): string {
  const r = new Xoshiro128(seed);
  return `${ADJECTIVES[Math.floor(r.next() * ADJECTIVES.length)]!} ${NOUNS[Math.floor(r.next() * NOUNS.length)]!}`;
}

export const needleSentence = (phrase: string): string =>
  `The secret passphrase is "${phrase}". Remember it: the secret passphrase is "${phrase}".`;

export interface Haystack {
  /** The document: the source cut to the budget with the needle line inserted. */
  text: string;
  /** Tokens of the document (no BOS). */
  tokens: number;
  /** Tokens before the needle (no BOS). */
  needleToken: number;
  /** needleToken / tokens — where the fact actually landed. */
  depth: number;
}

/**
 * Cut `source` (repeated if too short) to `budget` tokens and insert `needle` as its own line at
 * the line boundary nearest to depth × budget tokens. Deterministic: same inputs, same text.
 */
export function buildHaystack(tok: Tokenizer, source: string, budget: number, depth: number, needle: string): Haystack {
  if (!(depth >= 0 && depth <= 1)) throw new RangeError(`depth must be in [0, 1] (got ${depth})`);
  let src = source;
  let ids = tok.encode(src, { addBos: false });
  if (ids.length === 0) throw new RangeError('empty haystack source');
  while (ids.length < budget) {
    src = `${src}\n\n${source}`;
    ids = tok.encode(src, { addBos: false });
  }
  const needleTokens = tok.encode(`${needle}\n`, { addBos: false }).length;
  let body = tok.decode(ids.slice(0, Math.max(1, budget - needleTokens - 2)));
  const end = Math.max(body.lastIndexOf('\n') + 1, body.lastIndexOf('. ') + 2);
  if (end > body.length * 0.9) body = body.slice(0, end); // end on a whole line or sentence
  const target = tok.decode(ids.slice(0, Math.round(depth * tok.encode(body, { addBos: false }).length))).length;
  // nearest boundary to the target character: a line start, or a sentence start (after ". ")
  const starts = [0];
  for (const m of body.matchAll(/\n|\. /g)) starts.push(m.index + m[0].length);
  let at = 0;
  for (const b of starts) if (Math.abs(b - target) < Math.abs(at - target)) at = b;
  const lineStart = at === 0 || body[at - 1] === '\n';
  const text = `${body.slice(0, at)}${needle}${lineStart ? '\n' : ' '}${body.slice(at)}`;
  const needleToken = tok.encode(body.slice(0, at), { addBos: false }).length;
  const tokens = tok.encode(text, { addBos: false }).length;
  return { text, tokens, needleToken, depth: needleToken / tokens };
}

export interface NeedleTrial {
  depth: number;
  actualDepth: number;
  trial: number;
  passphrase: string;
  answer: string;
  correct: boolean;
  promptTokens: number;
  distanceTokens: number;
}

/** Correct when the answer contains the passphrase (case, punctuation and spacing ignored). */
export function isCorrect(answer: string, phrase: string): boolean {
  const norm = (s: string) =>
    ` ${s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, ' ')
      .trim()} `;
  return norm(answer).includes(norm(phrase));
}

/** One trial: chat prompt of (haystack + question) filling the context minus the answer room, greedy answer. */
export async function needleTrial(
  engine: Engine,
  source: string,
  depth: number,
  trial: number,
  maxAnswer = 16,
): Promise<NeedleTrial> {
  const phrase = passphrase(0x9e3779b9 ^ (trial * 7919 + Math.round(depth * 1000)));
  const needle = needleSentence(phrase);
  const room = engine.contextSize - maxAnswer - 1;
  const prompt = (hay: string) => engine.chatPrompt([{ role: 'user', content: `${hay}\n\n${NEEDLE_QUESTION}` }]);
  // Fit the whole prompt into the room, as close to it as a few tries get (the cut at a line or
  // sentence end and the template make the prompt length jump a little with the budget).
  let budget = room - 40,
    best: { h: Haystack; ids: number[] } | undefined;
  for (let k = 0; k < 12; k++) {
    const h = buildHaystack(engine.tokenizer, source, budget, depth, needle);
    const ids = prompt(h.text);
    if (ids.length <= room) {
      if (!best || ids.length > best.ids.length) best = { h, ids };
      if (ids.length >= room - 24) break;
      budget += Math.max(1, Math.floor((room - ids.length) / 2));
    } else budget -= ids.length - room + 8;
  }
  if (!best) throw new RangeError(`no needle prompt fits the context of ${engine.contextSize}`);
  const { h, ids } = best;
  const cache = engine.createCache();
  let answer = '';
  for await (const ev of engine.generate(cache, {
    prompt: ids,
    maxTokens: maxAnswer,
    sampler: { temperature: 0, repeatPenalty: 1 },
  })) {
    if (ev.type === 'done') answer = ev.text;
  }
  // tokens from the needle to the end of the prompt (±2: the template's tail is counted separately)
  const tail = engine.tokenizer.encode(`\n\n${NEEDLE_QUESTION}`, { addBos: false }).length + 5;
  const distanceTokens = h.tokens - h.needleToken + tail;
  return {
    depth,
    actualDepth: h.depth,
    trial,
    passphrase: phrase,
    answer: answer.trim(),
    correct: isCorrect(answer, phrase),
    promptTokens: ids.length,
    distanceTokens,
  };
}
