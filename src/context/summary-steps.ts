// The steps of a summary (src/context/summarize.ts): one generation on a fresh cache (`ask`),
// stopped at its first repeated sentence and cleaned (summary-text.ts), and `combine`, which
// merges a list of summaries into one in rounds of groups that fit the context. What the clean-up
// removed is counted over all steps. Not here: what is summarized in which order, the prompts'
// words (summary-prompts.ts).
import { Engine } from '../engine/engine';
import { GenerateEvent } from '../engine/generate';
import { KVCache } from '../engine/kv/types';
import { SamplerOptions } from '../engine/sampler';
import { SUMMARY_SYSTEM } from './summary-prompts';
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
/** Combine rounds at most (each at least halves the number of summaries). */
const MAX_ROUNDS = 7;
/**
 * A step's summary may be this long even when its share of the output is smaller: two or three
 * sentences. Shares exist because small models combine summaries mostly by copying them: the
 * summaries a reduce step combines must together fit in its output, or the last ones are lost.
 */
const MIN_SHARE = 48;

export interface CleanupCounts {
  /** Echoed headers, fences (with what they held), "Part N:" labels, line ranges. */
  echoes: number;
  /** Repeated sentences removed. */
  repeats: number;
  /** Steps stopped early because they repeated a sentence. */
  loops: number;
  /** Steps whose last, unfinished sentence (token limit) was dropped. */
  cutOff: number;
  /** List items dropped from a folder's file summaries and overview (shown beside PodLens's own list of files). */
  lists: number;
}

export interface StepOptions {
  /** No step writes more than this (the longest summary the caller asked for). */
  maxTokens: number;
  sampler?: Partial<SamplerOptions>;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
  /** Every generation event of every step, with the cache it fills (live KV snapshots, the last step's stats). */
  onEvent?: (ev: GenerateEvent, cache: KVCache) => void;
}

export interface Combined {
  /** The summaries left: one when complete; more when stopped or out of rounds (shown in order). */
  level: string[];
  /** Rounds run (0 when there was one summary to begin with). */
  rounds: number;
  aborted: boolean;
}

export interface CombineOptions {
  /** The combined summary's length in tokens (each group's output). */
  maxTokens: number;
  /** The prompt for a group in a round (1-based). */
  prompt: (group: readonly string[], round: number) => string;
  /** A round's instruction (what the output must not repeat); default: the prompt without the group. */
  instruction?: (round: number) => string;
  /**
   * Groups must fit in the output (a small model combines by copying, so more would be lost),
   * at least two per group; otherwise groups are limited by the context only.
   */
  keepAll: boolean;
  /** Drop lists from the output (summary-text.ts). */
  noLists?: boolean;
  /** Progress for a group: "combining 4 summaries (round 1, group 1 of 2)…". */
  label: (size: number, round: number, group: number, groups: number) => string;
}

/** A summary's length when it is one of `n` that are combined into `maxTokens`. */
export const shareOf = (maxTokens: number, n: number): number =>
  Math.min(maxTokens, Math.max(MIN_SHARE, Math.floor(maxTokens / n)));

export class SummarySteps {
  readonly cleanup: CleanupCounts = { echoes: 0, repeats: 0, loops: 0, cutOff: 0, lists: 0 };
  private readonly cache: KVCache;
  private readonly sampler: Partial<SamplerOptions>;

  constructor(
    private readonly engine: Engine,
    private readonly o: StepOptions,
  ) {
    this.cache = engine.createCache();
    this.sampler = { ...SUMMARY_SAMPLER, ...o.sampler };
  }

  get aborted(): boolean {
    return this.o.signal?.aborted === true;
  }

  count(text: string): number {
    return text ? this.engine.tokenizer.encode(text, { addBos: false, parseSpecial: false }).length : 0;
  }

  private prompt(user: string): number[] {
    return this.engine.chatPrompt([
      { role: 'system', content: SUMMARY_SYSTEM },
      { role: 'user', content: user },
    ]);
  }

  /** Tokens left for the input of a step whose prompt without input is `user`, writing `maxTokens`. */
  room(user: string, maxTokens: number): number {
    return this.engine.contextSize - maxTokens - this.prompt(user).length - MARGIN;
  }

  /**
   * One step: `user` is the prompt, `instruction` its own words (without the texts), which the
   * output must not repeat; `noLists`: drop lists from the output (summary-text.ts).
   */
  async ask(
    user: string,
    s: { maxTokens: number; instruction: string; noLists?: boolean },
  ): Promise<{ text: string; aborted: boolean }> {
    const r = await this.generate(user, s);
    // Nothing left but an unfinished sentence (a list took the tokens): once more, with room to
    // finish, as long as the summary's own limit allows.
    const more = Math.min(2 * s.maxTokens, this.o.maxTokens);
    if (r.unfinished && !r.aborted && more > s.maxTokens) return this.generate(user, { ...s, maxTokens: more });
    return r;
  }

  private async generate(
    user: string,
    s: { maxTokens: number; instruction: string; noLists?: boolean },
  ): Promise<{ text: string; aborted: boolean; unfinished: boolean }> {
    const { cache, o } = this;
    cache.truncate(0); // steps share nothing; truncating to 0 is exact for every cache kind
    const step = new AbortController(); // the caller's signal, or this step's first repeated sentence
    const stop = (): void => step.abort();
    if (o.signal?.aborted) stop();
    o.signal?.addEventListener('abort', stop);
    let text = '',
      streamed = '',
      cutOff = false,
      looped = false;
    try {
      for await (const ev of this.engine.generate(cache, {
        prompt: this.prompt(user),
        maxTokens: s.maxTokens,
        sampler: this.sampler,
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
    const c = cleanSummary(text, { cutOff: cutOff || looped, instruction: s.instruction, noLists: s.noLists });
    const n = this.cleanup;
    n.echoes += c.echoes;
    n.repeats += c.repeats;
    n.loops += looped ? 1 : 0;
    n.cutOff += c.truncated ? 1 : 0;
    n.lists += c.lists;
    // `unfinished`: cut off with no sentence ended (or nothing left at all).
    const unfinished = (cutOff || looped) && !/[.!?]["')\]]*$/.test(c.text);
    return { text: c.text, aborted: this.aborted, unfinished };
  }

  /** Combine `items` into one summary: groups that fit are combined, round after round, until one is left. */
  async combine(items: readonly string[], c: CombineOptions): Promise<Combined> {
    let level = [...items];
    let rounds = 0;
    while (level.length > 1 && !this.aborted && rounds < MAX_ROUNDS) {
      rounds++;
      const budget = this.room(c.prompt([], rounds), c.maxTokens);
      const groups: string[][] = [[]];
      let used = 0;
      for (const s of level) {
        const n = this.count(s) + 4;
        const g = groups[groups.length - 1]!;
        if (g.length > 0 && (used + n > budget || (c.keepAll && used + n > c.maxTokens && g.length >= 2))) {
          groups.push([]);
          used = 0;
        }
        groups[groups.length - 1]!.push(s);
        used += n;
      }
      const next: string[] = [];
      for (const [gi, g] of groups.entries()) {
        this.o.onProgress?.(c.label(g.length, rounds, gi + 1, groups.length));
        const share = c.keepAll ? shareOf(c.maxTokens, groups.length) : c.maxTokens;
        const r =
          g.length === 1
            ? { text: g[0]!, aborted: false }
            : await this.ask(c.prompt(g, rounds), {
                maxTokens: share,
                instruction: c.instruction?.(rounds) ?? c.prompt([], rounds),
                noLists: c.noLists,
              });
        if (r.aborted) return { level, rounds, aborted: true };
        next.push(r.text);
      }
      level = next;
    }
    return { level, rounds, aborted: this.aborted };
  }
}
