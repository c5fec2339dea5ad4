// Map-reduce summarization of one or more texts (a selection, a file, a folder's files) with the
// engine directly. A text is cut at line boundaries into parts that fit the context
// (summary-parts.ts); each part is summarized on a fresh cache (map), and the part summaries are
// combined, in further rounds while they do not fit (reduce). A folder's files are summarized one
// by one, each in one or two sentences (its coverage carries it), and an overview step says what
// the folder is for from those: a small model asked for one summary of many files names only the
// first few. What the model sees is in summary-prompts.ts; the steps themselves (a step stops at
// its first repeated sentence, its output is cleaned) in summary-steps.ts. Progress is reported
// and an AbortSignal stops between and within steps; the result says which files and lines were
// covered. Not here: reading files (walk.ts), the chat.
import { Engine } from '../engine/engine';
import { planParts } from './summary-parts';
import {
  BRIEF,
  fileEntry,
  mapInstruction,
  mapPrompt,
  overviewInstruction,
  overviewPrompt,
  reducePrompt,
} from './summary-prompts';
import { CleanupCounts, shareOf, StepOptions, SummarySteps } from './summary-steps';

export type { CleanupCounts } from './summary-steps';

/** The longest summary of one file of a folder, in tokens (one or two sentences). */
const FILE_TOKENS = 80;
/**
 * The longest overview of a folder (3 to 5 sentences). Qwen2.5-Coder-0.5B given more goes on to
 * describe the files one by one, repeating their summaries (measured on src/engine/kv).
 */
const OVERVIEW_TOKENS = 160;

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
  /** A folder's file: its own summary, one or two sentences (absent when stopped before it was written). */
  summary?: string;
}

export interface SummaryResult {
  /** The summary of a text; of a folder, the overview (each file's own summary is in `covered`). */
  summary: string;
  /** Parts summarized in the map step (1 = the whole input at once). */
  parts: number;
  partsDone: number;
  /** The map step and the combine rounds after it (of a folder: those of the overview). */
  rounds: number;
  inputTokens: number;
  complete: boolean;
  covered: Coverage[];
  /** One sentence: what the summary covers. */
  note: string;
  /** What the last-resort clean-up (summary-text.ts) removed over all steps; all 0 when the model wrote clean prose. */
  cleanup: CleanupCounts;
}

/**
 * maxTokens: the longest summary in tokens, the final one; each of n parts (or n groups being
 * combined) gets maxTokens / n, at least 48; a folder's file summaries get at most 80.
 */
export interface SummarizeOptions extends StepOptions {
  /** What the texts are, for the reduce step ("the folder src/engine"); default: the one file's path, or "a folder of N files". */
  subject?: string;
}

export async function summarizeTexts(
  engine: Engine,
  docs: readonly SourceText[],
  o: SummarizeOptions,
): Promise<SummaryResult> {
  const steps = new SummarySteps(engine, o);
  const folder = docs.length > 1;
  const subject = o.subject ?? (folder ? `a folder of ${docs.length} files` : docs[0]!.path);
  const out = folder ? Math.min(o.maxTokens, FILE_TOKENS) : o.maxTokens; // one text's summary
  // Template, system prompt, framing and instruction around a part's text.
  const budget = steps.room(mapPrompt({ path: '', text: '', excerpt: true }, folder), out);
  if (budget < 64)
    throw new RangeError(
      `the context (${engine.contextSize} tokens) leaves no room for text after a ${out}-token summary; lower --max-tokens`,
    );
  const plans = docs.map((d) => ({ doc: d, ...planParts(d, budget, (t) => steps.count(t)) }));
  const total = plans.reduce((n, p) => n + p.parts.length, 0);
  const inputTokens = plans.reduce((n, p) => n + p.inputTokens, 0);
  if (total === 0) throw new Error('nothing to summarize: the input is empty');

  const covered: Coverage[] = [];
  let partsDone = 0;
  let stopped = false;
  let text: string[] = []; // one text's summaries (several when stopped or not combined)
  let rounds = 1;
  for (const { doc, parts } of plans) {
    if (parts.length === 0) continue; // an empty file
    const summaries: string[] = [];
    const cov: Coverage = { path: doc.path, startLine: firstLine(doc), endLine: 0, totalLines: lastLine(doc) };
    for (const part of parts) {
      if (steps.aborted) break;
      o.onProgress?.(
        `summarizing part ${partsDone + 1} of ${total} (${folder ? `${doc.path}, ` : ''}${part.tokens} tokens)…`,
      );
      const r = await steps.ask(mapPrompt(part.text, folder), {
        maxTokens: shareOf(out, parts.length),
        instruction: mapInstruction(part.text, folder),
        noLists: folder,
      });
      if (r.aborted) break;
      summaries.push(r.text);
      partsDone++;
      cov.endLine = part.endLine;
    }
    if (cov.endLine > 0) covered.push(cov);
    if (summaries.length < parts.length) {
      // Stopped: a text shows its part summaries; a folder's file what was summarized of it (marked partly covered).
      stopped = true;
      if (!folder) text = summaries;
      else if (summaries.length > 0) cov.summary = oneParagraph(summaries.join(' '));
      break;
    }
    const c = await steps.combine(summaries, {
      maxTokens: out,
      keepAll: true,
      noLists: folder,
      prompt: (g) => (folder ? reducePrompt(g, doc.path, BRIEF) : reducePrompt(g, subject)),
      label: (n, round, gi, groups) =>
        `combining ${n} summaries${folder ? ` of ${doc.path}` : ''} (round ${round + 1}, group ${gi} of ${groups})…`,
    });
    if (!folder) {
      text = c.level;
      rounds += c.rounds;
    } else if (c.level.length === 1 && c.level[0]) cov.summary = oneParagraph(c.level[0]);
    if (c.aborted) {
      stopped = true;
      break;
    }
  }
  if (folder && !stopped) {
    // The overview, from every file's summary (rounds of groups when they do not fit one step).
    const done = covered.filter((c) => c.summary);
    const entries = done.length === 1 ? [done[0]!.summary!] : done.map((c) => fileEntry(c.path, c.summary!)); // one: it is the overview
    const c = await steps.combine(entries, {
      maxTokens: Math.min(o.maxTokens, OVERVIEW_TOKENS),
      keepAll: false,
      noLists: true,
      prompt: (g, round) => (round === 1 ? overviewPrompt(g, subject) : reducePrompt(g, subject)),
      // Without the subject: "The folder src/engine/kv is …" shares six words with the instruction.
      instruction: (round) => (round === 1 ? overviewInstruction('this folder') : reducePrompt([], 'this folder')),
      label: (n, round, gi, groups) =>
        round === 1
          ? `writing the overview from ${n} file summaries${groups > 1 ? ` (group ${gi} of ${groups})` : ''}…`
          : `combining ${n} overviews (round ${round + 1}, group ${gi} of ${groups})…`,
    });
    rounds += c.rounds;
    // Not combined (stopped, out of rounds): no overview; the file summaries say it all.
    text = c.level.length === 1 ? c.level : [];
  }
  // Summaries not combined are shown in order, as paragraphs without labels.
  const summary = text.join('\n\n') || (folder ? '' : '(empty)');
  const complete = partsDone === total && !stopped && text.length === 1;
  return {
    summary,
    parts: total,
    partsDone,
    rounds,
    inputTokens,
    complete,
    covered,
    note: noteOf(docs, covered, { partsDone, total, inputTokens, complete }),
    cleanup: steps.cleanup,
  };
}

const firstLine = (d: SourceText): number => d.firstLine ?? 1;
const lastLine = (d: SourceText): number => firstLine(d) + d.text.split(/(?<=\n)/).length - 1;
/** A file's summary is shown on one line beside its path. */
const oneParagraph = (s: string): string => s.replace(/\s*\n\s*/g, ' ');

/** One sentence: what the summary covers ("Covered all 3 files (912 tokens) in 3 parts.", "Stopped after …"). */
function noteOf(
  docs: readonly SourceText[],
  cov: readonly Coverage[],
  s: { partsDone: number; total: number; inputTokens: number; complete: boolean },
): string {
  const files = docs.length;
  const fully = cov.filter((c) => c.endLine >= c.totalLines).length;
  const one = files === 1 ? docs[0]! : undefined;
  const range = one ? `lines ${firstLine(one)}–${lastLine(one)}` : '';
  if (s.partsDone === s.total)
    return `Covered all ${one ? `of ${one.path} (${range}, ${s.inputTokens} tokens)` : `${files} files (${s.inputTokens} tokens)`} in ${s.total} part${s.total > 1 ? 's' : ''}${s.complete ? '' : '; the part summaries could not be combined into one'}.`;
  if (one)
    return `Stopped after ${s.partsDone} of ${s.total} parts: ${cov[0] ? `covered lines ${firstLine(one)}–${cov[0].endLine}` : 'nothing covered'} of ${one.path} (${range}).`;
  const partly = cov.find((c) => c.endLine < c.totalLines);
  return `Stopped after ${s.partsDone} of ${s.total} parts: ${fully} of ${files} files fully covered${partly ? `, ${partly.path} partly` : ''}.`;
}
