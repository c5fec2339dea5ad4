// Summaries through the one map-reduce summarizer (src/context/summarize.ts), which runs in the
// engine worker on the loaded model: text that does not fit the context is cut at line
// boundaries into parts, each part summarized on a fresh cache, the part summaries combined in
// further rounds. Used by Summarize Selection / File (into the chat) and Summarize Folder /
// Workspace (chat or a markdown document). Stopping keeps what was summarized; the note says
// exactly which lines or files were covered. Like a chat answer, a summary streams throttled
// snapshots of its KV cache (the visualizer is live) and its turn gets the last step's stats
// (podlens.summarize.maxTokens bounds each step). No vscode import: the commands get the text.
import { SourceText } from '../../context/summarize';
import { answerStats, ChatSession, SNAPSHOT_EVERY_MS } from '../chat/chat-session';
import { EngineClient, SummaryDone } from '../engine-client';
import { Settings } from '../settings';

export interface SummarizeRequest {
  /** Shown in the chat: "Summarize selection (lines 10–80 of src/a.ts)". */
  title: string;
  /** What the text is, for the prompt and the note: "src/a.ts". */
  label: string;
  text: string;
  /** 1-based line of the text's first line in its file. */
  firstLine: number;
}

/**
 * Run the summarizer on the loaded model; an abort (signal) keeps what was covered. `subject`:
 * what the texts are, for the reduce step ("the folder src/engine"; default: the file's path).
 */
export async function runSummary(
  client: EngineClient,
  docs: readonly SourceText[],
  s: Settings,
  signal: AbortSignal,
  onProgress?: (message: string) => void,
  subject?: string,
): Promise<SummaryDone> {
  // Greedy, as the CLI and test/summary-quality.test.ts (the settings' repetition penalty still
  // applies): sampling made the small models' reduce step drop or invent parts more often.
  const sampler = { ...s.sampler, temperature: 0 };
  const job = client.summarize(
    { docs: [...docs], maxTokens: s.summaryMaxTokens, sampler, subject, snapshotEveryMs: SNAPSHOT_EVERY_MS },
    onProgress,
  );
  const stop = (): void => job.abort();
  if (signal.aborted) stop();
  signal.addEventListener('abort', stop);
  try {
    return await job.done;
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

/** Summarize texts as a chat turn: progress in the turn (and `onProgress`), the summary and its coverage note at the end. */
export function summarizeDocs(
  chat: ChatSession,
  title: string,
  docs: readonly SourceText[],
  settings: () => Settings,
  o: { signal?: AbortSignal; note?: string; subject?: string; onProgress?: (message: string) => void } = {},
): ReturnType<ChatSession['task']> {
  return chat.task(
    title,
    async (ctx) => {
      ctx.progress('counting tokens…');
      const r = await runSummary(
        ctx.client,
        docs,
        settings(),
        ctx.signal,
        (m) => {
          ctx.progress(m);
          o.onProgress?.(m);
        },
        o.subject,
      );
      ctx.append(r.summary);
      return { stats: r.last ? answerStats(r.last) : undefined, note: `${r.note}${o.note ? ` ${o.note}` : ''}` };
    },
    o.signal,
  );
}

export function summarize(
  chat: ChatSession,
  r: SummarizeRequest,
  settings: () => Settings,
  signal?: AbortSignal,
): ReturnType<ChatSession['task']> {
  return summarizeDocs(chat, r.title, [{ path: r.label, text: r.text, firstLine: r.firstLine }], settings, { signal });
}
