// What the model sees when summarizing (src/context/summarize.ts): the system prompt, how a file
// or an excerpt of one is framed in the map step, and the reduce step's input. Small models
// (Qwen2.5-Coder-0.5B, SmolLM2) copy whatever framing they are shown and forget an instruction
// that precedes a long text, so: the content comes first, framed only by its file name (no line
// ranges, no "part N of M" labels); the instruction comes after it and asks for prose; the reduce
// step gets the map summaries as plain paragraphs, never chunk headers or labels; a folder's
// overview gets one short summary per file, each after its path. Not here:
// splitting texts (chunks.ts), sampling, cleaning the output (summary-text.ts).
import { sentences } from './summary-text';

export const SUMMARY_SYSTEM =
  'You are a technical writer. You explain documents and source code in plain English prose: ' +
  'complete sentences, no headings, no lists, no code, and you never copy the text itself.';

/** One file's text, or a consecutive excerpt of it, in a map step. */
export interface FramedText {
  path: string;
  text: string;
  /** The text is only part of the file (the file did not fit the context). */
  excerpt: boolean;
  /** For an excerpt that does not start the file: the file's first line (its title), so the model knows what it is part of. */
  title?: string;
}

/** A file's first non-blank line, at most 100 characters (cut at a word), as the title of its later excerpts. */
export function titleOf(text: string): string | undefined {
  const line = /^[^\S\n]*(\S[^\n]*)/m.exec(text)?.[1]?.trim();
  if (!line) return undefined;
  return line.length <= 100 ? line : `${line.slice(0, 100).replace(/\s+\S*$/, '')}…`;
}

const FENCE_LANG: Record<string, string> = {
  ts: 'typescript',
  tsx: 'tsx',
  mts: 'typescript',
  cts: 'typescript',
  js: 'javascript',
  jsx: 'jsx',
  mjs: 'javascript',
  cjs: 'javascript',
  py: 'python',
  rs: 'rust',
  go: 'go',
  java: 'java',
  kt: 'kotlin',
  c: 'c',
  h: 'c',
  cc: 'cpp',
  cpp: 'cpp',
  hpp: 'cpp',
  cs: 'csharp',
  rb: 'ruby',
  php: 'php',
  swift: 'swift',
  sh: 'bash',
  bash: 'bash',
  json: 'json',
  yaml: 'yaml',
  yml: 'yaml',
  toml: 'toml',
  html: 'html',
  css: 'css',
  sql: 'sql',
  md: 'markdown',
  markdown: 'markdown',
};

/** The fence's info string for a file name ('' for plain text). */
export function fenceLanguage(path: string): string {
  const m = /\.([A-Za-z0-9]+)$/.exec(path);
  return m ? (FENCE_LANG[m[1]!.toLowerCase()] ?? '') : '';
}

/** A fence longer than any backtick run in the text, so the text cannot close it. */
function fenceFor(text: string): string {
  let longest = 0;
  for (const m of text.matchAll(/`{3,}/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(3, longest + 1));
}

/** One file (or excerpt) as the model sees it: its name on a line, then the text in a code fence. */
export function frameText(t: FramedText): string {
  const fence = fenceFor(t.text);
  const body = t.text.endsWith('\n') ? t.text : `${t.text}\n`;
  const what = t.excerpt
    ? `An excerpt of ${t.path}${t.title ? ` (a file that begins "${t.title}")` : ''}`
    : `The file ${t.path}`;
  return `${what}:\n${fence}${fenceLanguage(t.path)}\n${body}${fence}\n`;
}

/** Tokens the framing of `t` adds around its text (an upper bound is enough: the caller keeps a margin). */
export function framingOf(t: FramedText): string {
  return frameText({ ...t, text: '' });
}

const PROSE =
  'Write plain prose in complete sentences: no headings, no lists, no code, no file names in brackets, and do not copy the text.';

/**
 * The map step: explain one framed text. "Summarize this document" makes a small model copy a
 * prose document's opening paragraphs; "explain in your own words" does not. `brief`: one or two
 * sentences (a file of a folder, whose summary is one entry of the folder's).
 */
export function mapPrompt(t: FramedText, brief = false): string {
  return `${frameText(t)}\n${mapInstruction(t, brief)}`;
}

/** The map step's instruction alone (what its output must not repeat). */
export function mapInstruction(t: FramedText, brief = false): string {
  const code = fenceLanguage(t.path) !== '' && fenceLanguage(t.path) !== 'markdown';
  const what = t.excerpt ? 'this excerpt' : code ? 'this code' : 'this document';
  const size = brief ? BRIEF : t.excerpt ? '2 or 3 sentences' : '3 to 5 sentences';
  // A file of a folder is one entry among many: it should say which class or function it is about.
  const name = brief && code ? ', naming its main class or function' : '';
  return `In your own words, explain in ${size} what ${what} ${code ? 'does and how it works' : 'says'}${name}. ${PROSE}`;
}

/** The length of a folder's file summary (map and reduce steps of one file). */
export const BRIEF = 'one or two sentences';

/** How the reduce step names a folder (or workspace folder) being summarized: "the folder src/engine". */
export function folderSubject(name: string): string {
  return `the folder ${name}`;
}

/**
 * The reduce step: the summaries of consecutive parts (in order, as plain paragraphs) → one
 * summary of `subject` ("docs/design.md", "the folder src/engine") of `size` sentences. The
 * instruction comes first: the summaries are short, and after them a small model tends to repeat
 * an instruction verbatim.
 */
export function reducePrompt(summaries: readonly string[], subject: string, size = '3 to 5 sentences'): string {
  return (
    `Combine the summaries below, of consecutive sections of ${subject}, into one summary of ${subject} in ${size} ` +
    `that covers every section and keeps their specific names. ${PROSE} Do not mention sections, parts or summaries.\n\n${summaries.join('\n\n')}`
  );
}

/**
 * One file's entry in the overview step's input: its path, then the first sentence of its
 * summary (what it is; with whole summaries the overview copied their details).
 */
export function fileEntry(path: string, summary: string): string {
  return `${path}: ${sentences(summary)[0] ?? summary}`;
}

/**
 * The overview of a folder: what `subject` is for as a whole, from what each of its files is
 * (fileEntry lines). It need not repeat every file (each file's summary is shown with it). The
 * entries come first: with the instruction first, Qwen2.5-Coder-0.5B copied the first entries as
 * a numbered list; told how to begin, it writes one paragraph about the folder.
 */
export function overviewPrompt(entries: readonly string[], subject: string): string {
  const start = subject.charAt(0).toUpperCase() + subject.slice(1);
  return `${entries.join('\n')}\n\n${overviewInstruction(subject, start)}`;
}

/**
 * The overview's instruction; `start`: how the overview begins. Checked for repeats with the
 * subject "this folder": a sentence may well name the subject.
 */
export function overviewInstruction(subject: string, start?: string): string {
  return (
    `These are the files of ${subject}. In 3 to 5 sentences, say what ${subject} is for: what it gives the rest ` +
    `of the program, and which files do the main work.${start ? ` Start with "${start}".` : ''} ${PROSE}`
  );
}
