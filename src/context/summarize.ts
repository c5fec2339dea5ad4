// Map-reduce summarization of one or more texts (a selection, a file, a folder's files) with the
// engine directly: texts are cut at line boundaries into parts that fit the context
// (summary-parts.ts), each part is summarized on a fresh cache (map), and the part summaries are
// combined, in further rounds while they do not fit (reduce). What the model sees is in
// summary-prompts.ts; every step's output goes through summary-text.ts (a step stops at its first
// repeated sentence). Progress is reported and an AbortSignal stops between and within steps; the
// result says which files and lines were covered. Not here: reading files (walk.ts), the chat.
import { Engine } from '../engine/engine';
import { GenerateEvent } from '../engine/generate';
import { KVCache } from '../engine/kv/types';
import { SamplerOptions } from '../engine/sampler';
import { planParts } from './summary-parts';
import { FramedText, mapInstruction, mapPrompt, reducePrompt, SUMMARY_SYSTEM } from './summary-prompts';
import { cleanSummary, repeatedSentences } from './summary-text';

/**
 * Sampling for summaries unless the caller overrides it: greedy, with llama.cpp's classic
 * repetition penalty (1.1 over the last 64 tokens) against the loops greedy decoding falls into.
 */
const SUMMARY_SAMPLER: Readonly<Partial<SamplerOptions>> = Object.freeze({
  temperature: 0,
  repeatPenalty: 1.1,
  repeatLastN: 64,
});
/** Tokens kept free besides the chat template, the instruction and the framing (counts of concatenations can differ slightly). */
const MARGIN = 16;
/** Reduce rounds at most (each at least halves the number of summaries). */
const MAX_ROUNDS = 8;
/**
 * A step's summary may be this long even when its share of maxTokens is smaller: two or three
 * sentences. Shares exist because small models combine summaries mostly by copying them: the
 * summaries a reduce step combines must together fit in its output, or the last ones are lost.
 */
const MIN_SHARE = 48;

export interface SourceText {
  path: string;
  text: string;
  /** 1-based line of the text's first line in its file (a selection; default 1). */
  firstLine?: number;
}

export interface Coverage {
  path: string;
  startLine: number;
  endLine: number;
  /** The text's last line (its line count when it starts at line 1). */
  totalLines: number;
}

export interface SummaryResult {
  summary: string;
  /** Parts summarized in the map step (1 = the whole input at once). */
  parts: number;
  partsDone: number;
  rounds: number;
  inputTokens: number;
  complete: boolean;
  covered: Coverage[];
  /** One sentence: what the summary covers. */
  note: string;
  /** What the last-resort clean-up (summary-text.ts) removed over all steps; all 0 when the model wrote clean prose. */
  cleanup: CleanupCounts;
}

export interface CleanupCounts {
  /** Echoed headers, fences (with what they held), "Part N:" labels, line ranges. */
  echoes: number;
  /** Repeated sentences removed. */
  repeats: number;
  /** Steps stopped early because they repeated a sentence. */
  loops: number;
  /** Steps whose last, unfinished sentence (token limit) was dropped. */
  cutOff: number;
}

export interface SummarizeOptions {
  /** The longest summary in tokens: the final one; each of n parts (or n groups being combined) gets maxTokens / n, at least MIN_SHARE. */
  maxTokens: number;
  sampler?: Partial<SamplerOptions>;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
  /** Every generation event of every step, with the cache it fills (live KV snapshots, the last step's stats). */
  onEvent?: (ev: GenerateEvent, cache: KVCache) => void;
  /** What the texts are, for the reduce step ("the folder src/engine"); default: the one file's path, or "a folder of N files". */
  subject?: string;
}

export async function summarizeTexts(
  engine: Engine,
  docs: readonly SourceText[],
  o: SummarizeOptions,
): Promise<SummaryResult> {
  const count = (t: string) => (t ? engine.tokenizer.encode(t, { addBos: false, parseSpecial: false }).length : 0);
  const prompt = (user: string): number[] =>
    engine.chatPrompt([
      { role: 'system', content: SUMMARY_SYSTEM },
      { role: 'user', content: user },
    ]);
  const subject = o.subject ?? (docs.length === 1 ? docs[0]!.path : `a folder of ${docs.length} files`);
  // Template, system prompt and instruction around a part's texts (the several-files variant is the longest).
  const empty: FramedText = { path: '', text: '', excerpt: true };
  const budget = engine.contextSize - o.maxTokens - prompt(mapPrompt([empty, empty])).length - MARGIN;
  if (budget < 64)
    throw new RangeError(
      `the context (${engine.contextSize} tokens) leaves no room for text after a ${o.maxTokens}-token summary; lower --max-tokens`,
    );
  const { parts, inputTokens } = planParts(docs, budget, count);
  if (parts.length === 0) throw new Error('nothing to summarize: the input is empty');
  const cache = engine.createCache();
  const sampler = { ...SUMMARY_SAMPLER, ...o.sampler };
  const cleanup: CleanupCounts = { echoes: 0, repeats: 0, loops: 0, cutOff: 0 };
  const share = (n: number): number => Math.min(o.maxTokens, Math.max(MIN_SHARE, Math.floor(o.maxTokens / n)));
  /** `instruction`: the prompt's own words (without the texts), which the output must not repeat. */
  const ask = async (
    user: string,
    maxTokens: number,
    instruction: string,
  ): Promise<{ text: string; aborted: boolean }> => {
    cache.truncate(0); // parts share nothing; truncating to 0 is exact for every cache kind
    const step = new AbortController(); // the caller's signal, or this step's first repeated sentence
    const stop = (): void => step.abort();
    if (o.signal?.aborted) stop();
    o.signal?.addEventListener('abort', stop);
    let text = '',
      streamed = '',
      cutOff = false,
      looped = false;
    try {
      for await (const ev of engine.generate(cache, {
        prompt: prompt(user),
        maxTokens,
        sampler,
        signal: step.signal,
      })) {
        // A step stopped at its first repeated sentence finished at a stop condition, not by the caller.
        o.onEvent?.(ev.type === 'done' && looped ? { ...ev, reason: 'stop' } : ev, cache);
        if (ev.type === 'token') {
          streamed += ev.text;
          if (/[.!?\n]/.test(ev.text) && repeatedSentences(streamed).length > 0) {
            looped = true;
            stop();
          }
        }
        if (ev.type === 'done') {
          text = ev.text;
          cutOff = ev.reason === 'length' || ev.reason === 'context';
        }
      }
    } finally {
      o.signal?.removeEventListener('abort', stop);
    }
    const c = cleanSummary(text, { cutOff: cutOff || looped, instruction });
    cleanup.echoes += c.echoes;
    cleanup.repeats += c.repeats;
    cleanup.loops += looped ? 1 : 0;
    cleanup.cutOff += c.truncated ? 1 : 0;
    return { text: c.text || '(empty)', aborted: o.signal?.aborted === true };
  };

  const summaries: string[] = [];
  const covered = new Map<string, Coverage>();
  const firstLine = (d: SourceText): number => d.firstLine ?? 1;
  const totalLines = new Map(docs.map((d) => [d.path, firstLine(d) + d.text.split(/(?<=\n)/).length - 1]));
  let partsDone = 0;
  for (const [i, p] of parts.entries()) {
    if (o.signal?.aborted) break;
    o.onProgress?.(`summarizing part ${i + 1} of ${parts.length} (${p.tokens} tokens)…`);
    const r = await ask(mapPrompt(p.texts), share(parts.length), mapInstruction(p.texts));
    if (r.aborted) break;
    summaries.push(r.text);
    partsDone++;
    for (const g of p.ranges) {
      const c = covered.get(g.path);
      if (c) c.endLine = g.endLine;
      else
        covered.set(g.path, {
          path: g.path,
          startLine: g.startLine,
          endLine: g.endLine,
          totalLines: totalLines.get(g.path) ?? g.endLine,
        });
    }
  }
  // Parts not combined (stopped, or more rounds needed) are shown in order, as paragraphs without labels.
  let summary = summaries.join('\n\n');
  let rounds = 1;
  let level = summaries;
  // The reduce step sees only the map summaries: no chunk text, headers or labels.
  const reduceBudget = engine.contextSize - o.maxTokens - prompt(reducePrompt([], subject)).length - MARGIN;
  while (level.length > 1 && !o.signal?.aborted && partsDone === parts.length && rounds < MAX_ROUNDS) {
    rounds++;
    // Group the summaries so that a group's together fit in one summary (maxTokens), at least two
    // per group while they fit the context; combine each group; repeat until one remains.
    const groups: string[][] = [[]];
    let used = 0;
    for (const s of level) {
      const n = count(s) + 4;
      const g = groups[groups.length - 1]!;
      if (g.length > 0 && (used + n > reduceBudget || (used + n > o.maxTokens && g.length >= 2))) {
        groups.push([]);
        used = 0;
      }
      groups[groups.length - 1]!.push(s);
      used += n;
    }
    const next: string[] = [];
    for (const [gi, g] of groups.entries()) {
      o.onProgress?.(`combining ${g.length} summaries (round ${rounds}, group ${gi + 1} of ${groups.length})…`);
      const r =
        g.length === 1
          ? { text: g[0]!, aborted: false }
          : await ask(reducePrompt(g, subject), share(groups.length), reducePrompt([], subject));
      if (r.aborted) break;
      next.push(r.text);
    }
    if (next.length !== groups.length) break;
    level = next;
    summary = level.join('\n\n');
  }
  const complete = partsDone === parts.length && level.length === 1;
  const files = docs.length;
  const cov = [...covered.values()];
  const fully = cov.filter((c) => c.endLine >= c.totalLines).length;
  const one = files === 1 ? docs[0]! : undefined;
  const range = one ? `lines ${firstLine(one)}–${totalLines.get(one.path)}` : '';
  const note =
    partsDone === parts.length
      ? `Covered all ${one ? `of ${one.path} (${range}, ${inputTokens} tokens)` : `${files} files (${inputTokens} tokens)`} in ${parts.length} part${parts.length > 1 ? 's' : ''}${complete ? '' : '; the part summaries could not be combined into one'}.`
      : one
        ? `Stopped after ${partsDone} of ${parts.length} parts: ${cov[0] ? `covered lines ${firstLine(one)}–${cov[0].endLine}` : 'nothing covered'} of ${one.path} (${range}).`
        : `Stopped after ${partsDone} of ${parts.length} parts: ${fully} of ${files} files fully covered${cov.length > fully ? `, ${cov.find((c) => c.endLine < c.totalLines)?.path ?? ''} partly` : ''}.`;
  return { summary, parts: parts.length, partsDone, rounds, inputTokens, complete, covered: cov, note, cleanup };
}
