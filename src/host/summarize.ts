// Summarizing a selection or a file with the loaded model, as a chat turn. Text that does not fit
// the context is cut into chunks at line boundaries (src/context/chunks.ts); each chunk is
// summarized on its own (fresh cache: parts share nothing), then the part summaries are combined
// when they fit. The turn's note says exactly which lines were covered — all of them, or up to
// where it was stopped. No vscode import: src/host/commands.ts gets the text from the editor.
import { planChunks, splitPieces } from '../context/chunks';
import { AnswerStats } from '../shared/protocol';
import { answerStats, ChatSession, TaskContext } from './chat-session';
import { Settings } from './settings';

export const SUMMARY_SESSION = 'summarize';
const SYSTEM = 'You summarize documents and code accurately and concisely. Use short bullet points.';
/** Tokens reserved for the chat template, the instruction and the line-range header. */
const PROMPT_OVERHEAD = 96;

export interface SummarizeRequest {
  /** Shown in the chat: "Summarize selection (lines 10–80 of src/a.ts)". */
  title: string;
  /** What the text is, for the prompt and the note: "src/a.ts". */
  label: string;
  text: string;
  /** 1-based line of the text's first line in its file. */
  firstLine: number;
}

const instruction = (label: string, a: number, b: number, part: string): string =>
  `Summarize ${part}of ${label} (lines ${a}–${b}):\n\n\`\`\`\n`;

export function summarize(chat: ChatSession, r: SummarizeRequest, settings: () => Settings, signal?: AbortSignal): ReturnType<ChatSession['task']> {
  return chat.task(r.title, (ctx) => runSummary(ctx, r, settings()), signal);
}

async function runSummary(ctx: TaskContext, r: SummarizeRequest, s: Settings): Promise<{ stats?: AnswerStats; note: string }> {
  const info = ctx.client.info;
  if (!info) throw new Error('the model is not loaded');
  const lastLine = r.firstLine + r.text.split(/(?<=\n)/).length - 1;
  const budget = info.contextSize - s.summaryMaxTokens - PROMPT_OVERHEAD;
  if (budget < 32) throw new Error(`the context (${info.contextSize} tokens) leaves no room for text after a ${s.summaryMaxTokens}-token summary; raise podlens.engine.contextSize or lower podlens.summarize.maxTokens`);
  ctx.progress('counting tokens…');
  const pieces = splitPieces(r.text, r.firstLine, budget);
  const chunks = planChunks(pieces, await ctx.client.count(pieces.map((p) => p.text)), Math.floor(budget * 0.95));
  if (chunks.length === 0) throw new Error(`${r.label} is empty: nothing to summarize`);
  const total = chunks.reduce((a, c) => a + c.tokens, 0);
  const parts: string[] = [];
  let stats: AnswerStats | undefined;
  let covered = r.firstLine - 1;
  const sampler = { ...s.sampler, temperature: Math.min(s.sampler.temperature, 0.3) };

  for (const [i, c] of chunks.entries()) {
    if (ctx.signal.aborted) break;
    const part = chunks.length > 1 ? `part ${i + 1} of ${chunks.length} ` : '';
    if (chunks.length > 1) ctx.append(`${i > 0 ? '\n\n' : ''}**Part ${i + 1}/${chunks.length} — lines ${c.startLine}–${c.endLine}**\n\n`);
    ctx.progress(`summarizing ${part}(${c.tokens} tokens)…`);
    await ctx.client.reset(SUMMARY_SESSION);
    const done = await ctx.generate({
      session: SUMMARY_SESSION, maxTokens: s.summaryMaxTokens, sampler, trimToFit: false,
      messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: `${instruction(r.label, c.startLine, c.endLine, part)}${c.text}\n\`\`\`` }],
    });
    stats = answerStats(done);
    parts.push(done.text.trim() || '(empty)');
    if (done.reason === 'abort') break;
    covered = c.endLine;
  }

  const stopped = ctx.signal.aborted || covered < lastLine;
  let combined = '';
  if (!stopped && chunks.length > 1) {
    const joined = parts.map((p, i) => `Part ${i + 1}:\n${p}`).join('\n\n');
    const counts = await ctx.client.count([joined]);
    if ((counts[0] ?? Infinity) <= budget) {
      ctx.append('\n\n**Overall**\n\n');
      ctx.progress('combining the parts…');
      await ctx.client.reset(SUMMARY_SESSION);
      const done = await ctx.generate({
        session: SUMMARY_SESSION, maxTokens: s.summaryMaxTokens, sampler, trimToFit: false,
        messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: `Combine these partial summaries of ${r.label} into one summary:\n\n${joined}` }],
      });
      stats = answerStats(done);
    } else {
      combined = ' The part summaries were too long to combine in one more pass; read them in order.';
    }
  }
  const range = `lines ${r.firstLine}–${lastLine}`;
  const how = chunks.length > 1 ? ` in ${chunks.length} parts` : '';
  const note = !stopped
    ? `Covered all of ${r.label} (${range}, ${total} tokens)${how}.${combined}`
    : covered < r.firstLine
      ? `Stopped before any part of ${r.label} (${range}) was summarized.`
      : `Stopped: covered lines ${r.firstLine}–${covered} of ${r.label} (${range}, ${total} tokens in total)${how}.`;
  return { stats, note };
}
