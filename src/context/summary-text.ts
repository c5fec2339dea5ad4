// Sentences of summary text and a last-resort clean-up of it (src/context/summarize.ts). The
// prompts and the sampler are what keep a summary clean (summary-prompts.ts); this only catches
// what a small model still does now and then: it echoes framing it was shown (a "### file
// (lines a–b)" header, a code fence, a "Part 2:" label), loops on one sentence, or stops
// mid-sentence at the token limit. `repeatedSentences` lets generation stop at the first repeat;
// `cleanSummary` removes the rest and counts what it removed. The sentence splitting and
// comparison here are also what the summary tests judge by. Not here: prompts, sampling.

export interface Cleaned {
  text: string;
  /** Lines or labels of echoed framing removed (headings, fences and what they held, labels, line ranges). */
  echoes: number;
  /** Repeated sentences removed (the first occurrence is kept), and sentences repeating the instruction. */
  repeats: number;
  /** A trailing sentence cut off by the token limit was removed. */
  truncated: boolean;
  /** List items (and the line introducing them) removed with `noLists`. */
  lists: number;
}

/** A line's sentences, each with the white space after it: cut after . ! ? followed by white space. */
function sentencesOf(line: string): string[] {
  return line.split(/(?<=[.!?]["')\]]*\s+)(?=[^\s\p{Ll}])/u); // not before a lower-case word: "e.g. the"
}

/** The sentences of a text (a line break also ends one), trimmed, without empty ones. */
export function sentences(text: string): string[] {
  return text
    .split('\n')
    .flatMap(sentencesOf)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A sentence as compared with others: lower case, letters and digits only, single spaces. */
export function normalizeSentence(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** Every run of `n` consecutive words of `text` (normalized as sentences are). */
export function wordRuns(text: string, n: number): Set<string> {
  const w = normalizeSentence(text).split(' ');
  const runs = new Set<string>();
  for (let i = 0; i + n <= w.length; i++) runs.add(w.slice(i, i + n).join(' '));
  return runs;
}

/** Sentences of fewer words are never counted as repeats ("Yes.", list labels). */
const MIN_REPEAT_WORDS = 4;
/** A sentence sharing this many consecutive words with the instruction repeats the instruction. */
const INSTRUCTION_RUN = 6;

const wordCount = (normalized: string): number => (normalized ? normalized.split(' ').length : 0);

/** The sentences of at least four words that occur more than once (normalized), each listed once. */
export function repeatedSentences(text: string): string[] {
  const seen = new Set<string>(),
    twice = new Set<string>();
  for (const s of sentences(text)) {
    const k = normalizeSentence(s);
    if (wordCount(k) < MIN_REPEAT_WORDS) continue;
    if (seen.has(k)) twice.add(k);
    seen.add(k);
  }
  return [...twice];
}

const HEADING = /^\s*#{1,6}\s/;
const FENCE = /^\s*(`{3,}|~{3,})/;
/** "Part 2:", "**Part 2 of 5:**", "Section 3 of 4 -" at the start of a line. */
const LABEL =
  /^(\s*(?:[-*]\s+)?)(?:\*\*)?(?:part|section|chunk|excerpt)\s+\d+(?:\s+of\s+\d+)?(?:\s+of\s+the\s+input)?\s*(?:\*\*)?\s*[:.\-–—]\s*(?:\*\*)?\s*/i;
/** "(lines 12–40)", "lines 12-40 of", "(line 7)". */
const LINE_RANGE = /\s*\(?\blines?\s+\d+(?:\s*(?:[–—-]|to)\s*\d+)?\)?(?:\s+of\b)?/gi;

/** A list item: "- x", "* x", "1. x", "2) x". */
const LIST_ITEM = /^\s*(?:[-*+•]|\d+[.)])\s/;
/** A bold label opening a line: "**Purpose**:", "**Files:**". */
const BOLD_LABEL = /^\s*\*\*[^*\n]{1,40}\*\*\s*:\s*|^\s*\*\*[^*\n]{1,40}:\*\*\s*/;

/**
 * Drop list items, the lines indented under them, and the line that introduces a list (ends in
 * ":"); strip bold labels ("**Purpose**:") at line starts. For texts shown beside PodLens's own
 * list of files, where a list the model wrote only repeats that list, cut short.
 */
function dropLists(lines: readonly string[]): { lines: string[]; dropped: number } {
  const out: string[] = [];
  let dropped = 0,
    inList = false;
  for (const line of lines) {
    if (LIST_ITEM.test(line) || (inList && /^\s+\S/.test(line))) {
      if (!inList) dropLeadIn(out);
      inList = true;
      dropped++;
      continue;
    }
    inList = inList && line.trim() === '';
    const label = BOLD_LABEL.exec(line);
    if (label) dropped++;
    const l = label ? line.slice(label[0].length) : line;
    if (/:\s*$/.test(l) && /^\S*$/.test(l.replace(/:\s*$/, ''))) continue; // a bare "Files:" line
    out.push(l);
  }
  dropLeadIn(out); // a list cut off right after its lead-in
  return { lines: out, dropped };
}

/** Remove the sentence that introduces a list ("It has three parts:") from the last line of `out`. */
function dropLeadIn(out: string[]): void {
  while (out.length > 0 && out[out.length - 1]!.trim() === '') out.pop();
  const last = out[out.length - 1];
  if (last === undefined || !/:\s*$/.test(last)) return;
  const rest = sentencesOf(last).slice(0, -1).join('').trimEnd();
  if (rest) out[out.length - 1] = rest;
  else out.pop();
}

/**
 * Remove echoed framing, repeated sentences and sentences that repeat `instruction` (the prompt
 * without the texts); with `cutOff` (generation hit its token limit), also a last sentence
 * without an ending (unless it is all there is); with `noLists`, lists (dropLists). Keeps
 * everything else as written.
 */
export function cleanSummary(
  raw: string,
  o: { cutOff?: boolean; instruction?: string; noLists?: boolean } = {},
): Cleaned {
  let echoes = 0,
    repeats = 0,
    truncated = false,
    lists = 0;
  const kept: string[] = [];
  let inFence: string | null = null;
  let rawLines = raw.split('\n');
  if (o.noLists) {
    const d = dropLists(rawLines);
    rawLines = d.lines;
    lists = d.dropped;
  }
  for (const line of rawLines) {
    const fence = FENCE.exec(line);
    if (inFence !== null) {
      // code the model copied: drop it with its fences
      if (fence && fence[1]![0] === inFence[0] && fence[1]!.length >= inFence.length) inFence = null;
      continue;
    }
    if (fence) {
      inFence = fence[1]!;
      echoes++;
      continue;
    }
    if (HEADING.test(line)) {
      echoes++;
      continue;
    }
    let l = line;
    const label = LABEL.exec(l);
    if (label) {
      l = label[1]! + l.slice(label[0].length);
      echoes++;
    }
    const ranges = l.replace(LINE_RANGE, '');
    if (ranges !== l) {
      l = ranges;
      echoes++;
    }
    kept.push(l);
  }
  // Repeated sentences, across lines: keep the first occurrence of each; drop the instruction's.
  const seen = new Set<string>();
  const told = o.instruction ? wordRuns(o.instruction, INSTRUCTION_RUN) : new Set<string>();
  const lines = kept.map((line) =>
    sentencesOf(line)
      .filter((s) => {
        const k = normalizeSentence(s);
        if ([...wordRuns(s, INSTRUCTION_RUN)].some((r) => told.has(r))) {
          repeats++;
          return false;
        }
        if (wordCount(k) < MIN_REPEAT_WORDS) return true;
        if (seen.has(k)) {
          repeats++;
          return false;
        }
        seen.add(k);
        return true;
      })
      .join('')
      .trimEnd(),
  );
  let text = lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  if (o.cutOff) {
    const end = Math.max(
      text.lastIndexOf('. '),
      text.lastIndexOf('.\n'),
      text.lastIndexOf('! '),
      text.lastIndexOf('? '),
    );
    if (!/[.!?]["')\]]*$/.test(text) && end > 0) {
      text = text.slice(0, end + 1);
      truncated = true;
    }
  }
  return { text, echoes, repeats, truncated, lists };
}
