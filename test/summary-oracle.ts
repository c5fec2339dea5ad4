// The oracle for summary quality (issue 12): given a summary and the key terms of the document it
// summarizes, report which terms it mentions, which framing it echoed (chunk headers, line
// ranges, code fences, "Part N:" labels, headings, the prompt's words), which sentences it
// repeats, whether it reads as prose and how much of it is copied verbatim from the document.
// Pure string checks, shared by test/summary-quality.test.ts and scripts/summary-quality.ts.
// Sentences are split and compared as the summarizer does (src/context/summary-text.ts); what
// counts as an echo is spelled out here, independently of what the summarizer's clean-up removes.
import { BRIEF, mapInstruction, overviewInstruction, reducePrompt } from '../src/context/summary-prompts';
import { normalizeSentence, repeatedSentences, sentences, wordRuns } from '../src/context/summary-text';

/** A key term and the spellings that count for it (case-insensitive, matched at word starts). */
export interface KeyTerm {
  name: string;
  /** Regular-expression sources; any match counts. */
  forms: readonly string[];
}

export interface SummaryVerdict {
  terms: string[];
  missing: string[];
  echoes: string[];
  repeated: string[];
  sentences: number;
  /** Why it is not prose ('' when it is). */
  notProse: string;
  /** Share of the summary's words inside runs of ≥ COPY_RUN words copied verbatim from the source (0 without a source). */
  copied: number;
}

/** A run of this many words found verbatim in the source counts as copied (a sentence fragment, not a phrase). */
export const COPY_RUN = 12;

/** Share of `summary`'s words covered by runs of ≥ `run` consecutive words that also occur in `source`. */
export function copiedShare(summary: string, source: string, run = COPY_RUN): number {
  const w = normalizeSentence(summary).split(' ');
  if (w.length < run) return 0;
  const grams = wordRuns(source, run);
  const covered = new Uint8Array(w.length);
  for (let i = 0; i + run <= w.length; i++) if (grams.has(w.slice(i, i + run).join(' '))) covered.fill(1, i, i + run);
  return covered.reduce((n, c) => n + c, 0) / w.length;
}

/** Echoed framing: a "### file (lines a–b)" header, a line range, a code fence, a "Part N:" label, a heading, words of the instruction. */
const ECHOES: readonly [string, RegExp][] = [
  ['chunk header', /^#{1,6}\s+\S.*\(lines?\s+\d+/im],
  ['line range', /\(?\blines?\s+\d+\s*(?:[–—-]|to)\s*\d+\)?/i],
  ['code fence', /^\s*(?:```|~~~)/m],
  [
    'part label',
    /(?:^|\n)\s*(?:\*\*)?part\s+\d+(?:\s+of\s+\d+)?\s*(?:\*\*)?\s*:|\b(?:part|section)\s+\d+\s+of\s+\d+\b/i,
  ],
  ['markdown heading', /^\s*#{1,6}\s/m],
  ['instruction', /\bin your own words\b|\bkey terms\b|\b(?:summaries|notes|excerpts?) (?:above|below)\b/i],
];

export function echoes(text: string): string[] {
  return ECHOES.filter(([, re]) => re.test(text)).map(
    ([name, re]) => `${name}: ${JSON.stringify(re.exec(text)![0].trim())}`,
  );
}

/**
 * Prose: at least `minSentences` sentences of ≥ 5 words that end in . ! or ?, most of the text's
 * words are in such sentences (not a keyword list or code), and no table or list items.
 */
export function proseProblem(text: string, minSentences = 2): string {
  const all = sentences(text);
  const words = (s: string): number => s.split(/\s+/).filter(Boolean).length;
  const full = all.filter((s) => /[.!?]["')\]]*$/.test(s) && words(s) >= 5);
  if (full.length < minSentences) return `${full.length} full sentence(s), need ${minSentences}`;
  const total = all.reduce((n, s) => n + words(s), 0);
  const inFull = full.reduce((n, s) => n + words(s), 0);
  if (inFull < 0.7 * total) return `only ${inFull} of ${total} words are in full sentences`;
  if (/^\s*\|.*\|\s*$/m.test(text)) return 'contains a table';
  if (/^\s*(?:[-*+•]|\d+[.)])\s/m.test(text)) return 'contains a list';
  return '';
}

/**
 * The words of every instruction the summarizer may give about `path` (map and reduce), which a
 * summary must not repeat; with `files` > 1, also those of a folder's steps (of `subject`).
 */
export function promptWords(path: string, files = 1, subject = `a folder of ${files} files`): string {
  const t = { path, text: '', excerpt: false };
  const folder = [
    ...[true, false].map((excerpt) => mapInstruction({ ...t, excerpt }, true)),
    reducePrompt([], path, BRIEF),
    reducePrompt([], subject),
    overviewInstruction('this folder'), // as the summarizer checks it: a sentence may name the subject
  ];
  return [true, false]
    .map((excerpt) => mapInstruction({ ...t, excerpt }))
    .concat(reducePrompt([], path))
    .concat(files > 1 ? folder : [])
    .join('\n');
}

/**
 * `source`: the documents (for `copied`); `instructions`: the prompts' own words, which the summary
 * must not repeat (runs of 6 words); `minSentences`: for prose (default 2).
 */
export function judge(
  summary: string,
  terms: readonly KeyTerm[],
  o: { source?: string; instructions?: string; minSentences?: number } = {},
): SummaryVerdict {
  const told =
    o.instructions && copiedShare(summary, o.instructions, 6) > 0
      ? ['instruction: repeats 6+ words of the prompt']
      : [];
  const found = terms.filter((t) => t.forms.some((f) => new RegExp(`\\b${f}`, 'i').test(summary)));
  return {
    terms: found.map((t) => t.name),
    missing: terms.filter((t) => !found.includes(t)).map((t) => t.name),
    echoes: [...echoes(summary), ...told],
    repeated: repeatedSentences(summary),
    sentences: sentences(summary).length,
    notProse: proseProblem(summary, o.minSentences),
    copied: o.source ? copiedShare(summary, o.source) : 0,
  };
}

/** One line for logs and assertion messages. */
export function describeVerdict(v: SummaryVerdict, k: number): string {
  return (
    `terms ${v.terms.length}/${v.terms.length + v.missing.length} (need ${k}; missing ${v.missing.join(', ') || 'none'}), ` +
    `echoes [${v.echoes.join('; ')}], repeated [${v.repeated.join(' | ')}], ${v.sentences} sentences, ${(v.copied * 100).toFixed(0)}% copied${v.notProse ? `, not prose: ${v.notProse}` : ''}`
  );
}
