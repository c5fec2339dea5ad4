// The chat transcript and the one generation that may run at a time. The host owns the
// transcript (webviews only draw it, and get it replayed when they come back); answers stream
// into it as `chat/delta` events whether the chat input or a command (Summarize) started them.
// Each answer records its stats (TTFT, tok/s, tokens reused from the cached prefix). The chat's KV
// cache lives in the worker's 'chat' session, so follow-up questions reuse the conversation;
// Regenerate drops the last answer and asks again, and the worker's session rewinds to the
// common prefix (the question's prompt) instead of recomputing it. The system message (system
// prompt + workspace blocks of the context chips) comes from `prompt` (chat-prompt.ts) and goes
// to the worker as text — it tokenizes it; the transcript is loaded from and saved to `store`
// (chat-history.ts) so it survives reloads, and the workspace prefix's KV state is kept on disk by
// the worker when `persist` names a store (after a reload
// the first answer restores it instead of reading the workspace; the answer's note says so).
// While the workspace is read (in the reader worker) the turn's progress line says how far it is
// (files, tokens, time left), and Stop cancels the read like it cancels a generation.
// No vscode import: the panel and commands wire it to VS Code.
import { PromptBlock } from '../../context/build';
import { progressLabel, ReadProgress } from '../../context/read';
import { AnswerStats, EventMap, Topic, Turn } from '../../shared/protocol';
import type { Counter } from './chat-prompt';
import { EngineClient, GenerateDone, GenerateParams, PersistTarget } from '../engine-client';
import { describeError } from '../errors';
import { Settings } from '../settings';

export const CHAT_SESSION = 'chat';
/** Minimum time between KV snapshots the worker sends while generating. */
export const SNAPSHOT_EVERY_MS = 250;

export interface ChatDeps {
  /** An engine with the model loaded (loads it on first use; throws with advice on failure). */
  engine(): Promise<EngineClient>;
  /** The engine if a model is loaded already (never starts a load). */
  loadedEngine(): EngineClient | null;
  settings(): Settings;
  /** Push an event to the chat webview; dropped if none is ready (the transcript replays). */
  emit<T extends Topic>(topic: T, data: EventMap[T]): void;
  /** Generation started (stats undefined) or finished. */
  onActivity(active: boolean, stats?: AnswerStats): void;
  /** The system message for an answer (default: the system prompt setting alone); `onProgress` follows the workspace read. */
  prompt?: {
    prepare(
      engine: Counter,
      history: ChatHistory,
      signal?: AbortSignal,
      maxWalkAgeMs?: number,
      onProgress?: (p: ReadProgress) => void,
    ): Promise<{ system: string; blocks?: PromptBlock[] }>;
    /** The session's own count of each block after the answer (done.blockTokens): the view shows those. */
    confirm?(blocks: readonly PromptBlock[], sessionCounts: readonly number[] | undefined): unknown;
  };
  /** Where the transcript is kept between reloads. */
  store?: { load(): Turn[]; save(turns: readonly Turn[]): void };
  /** Where the worker keeps the workspace prefix's KV state between reloads (none: not persisted). */
  persist?(): PersistTarget | undefined;
}

type ChatHistory = { role: 'user' | 'assistant'; content: string }[];
export type AskResult = { turnId: number; status: Turn['status']; stats?: AnswerStats };

/** What a task (a chat answer, a summary) can do with its assistant turn. */
export interface TaskContext {
  readonly client: EngineClient;
  readonly signal: AbortSignal;
  append(text: string): void;
  progress(label: string): void;
  /** Run one generation; its deltas are appended to the turn. */
  generate(p: Omit<GenerateParams, 'snapshotEveryMs'>): Promise<GenerateDone>;
}

export interface TaskOutcome {
  stats?: AnswerStats;
  note?: string;
}

/** A chat turn's stats from a generation's finish (a chat answer, or a summary's last step). */
export function answerStats(d: Pick<GenerateDone, 'reason' | 'stats' | 'contextSize'>): AnswerStats {
  const s = d.stats;
  return {
    finishReason: d.reason,
    promptTokens: s.promptTokens,
    reusedTokens: s.reusedTokens,
    generatedTokens: s.generatedTokens,
    ttftMs: s.ttftMs,
    decodeTokensPerSecond: s.decodeTokensPerSecond,
    prefillTokensPerSecond: s.prefillTokensPerSecond,
    totalMs: s.totalMs,
    contextTokens: s.contextTokens,
    contextSize: d.contextSize,
  };
}

export class ChatSession {
  private readonly list: Turn[] = [];
  private nextTurn = 1;
  private current: AbortController | null = null;
  /** Added to the sampler seed for the last chat answer (Regenerate bumps it). */
  private seedOffset = 0;

  constructor(private readonly deps: ChatDeps) {
    const saved = deps.store?.load() ?? [];
    this.list.push(...saved);
    this.nextTurn = saved.reduce((m, t) => Math.max(m, t.id + 1), 1);
  }

  private save(): void {
    this.deps.store?.save(this.list);
  }

  get turns(): readonly Turn[] {
    return this.list;
  }

  get busy(): boolean {
    return this.current !== null;
  }

  /** Stop the running generation; false when nothing was running. */
  stop(): boolean {
    if (!this.current) return false;
    this.current.abort();
    return true;
  }

  async clear(): Promise<void> {
    this.stop();
    this.list.length = 0;
    this.save();
    this.deps.emit('chat/transcript', { turns: [] });
    await this.deps.loadedEngine()?.reset(CHAT_SESSION);
  }

  /** The conversation as the model sees it: finished turns with text. */
  history(): ChatHistory {
    return this.list
      .filter((t) => t.status === 'done' && t.text.length > 0)
      .map((t) => ({ role: t.role, content: t.text }));
  }

  /** The last answer, if it was asked in the chat and is finished (what Regenerate redoes). */
  get regenerable(): { user: Turn; answer: Turn } | null {
    const answer = this.list.at(-1),
      user = this.list.at(-2);
    if (
      this.current ||
      !answer ||
      !user ||
      answer.role !== 'assistant' ||
      user.role !== 'user' ||
      answer.origin !== 'chat'
    )
      return null;
    return { user, answer };
  }

  /**
   * Drop the last answer and its question from the transcript, and ask the question again with
   * the next sampler seed (the same seed would give the same answer; greedy decoding always does).
   */
  regenerate(signal?: AbortSignal): Promise<AskResult> {
    const last = this.regenerable;
    if (!last)
      return Promise.reject(
        new Error(this.current ? 'PodLens is generating; stop it first' : 'there is no chat answer to regenerate'),
      );
    this.list.splice(-2, 2);
    this.save();
    this.deps.emit('chat/transcript', { turns: [...this.list] });
    return this.ask(last.user.text, signal, this.seedOffset + 1);
  }

  /** Answer a chat message with the conversation so far as context. */
  ask(text: string, signal?: AbortSignal, seedOffset = 0): Promise<AskResult> {
    this.seedOffset = seedOffset;
    const history = this.history();
    return this.task(
      text,
      async (ctx) => {
        const s = this.deps.settings();
        if (this.deps.prompt) ctx.progress('reading the workspace…');
        const { system, blocks = [] } = this.deps.prompt
          ? await this.deps.prompt.prepare(ctx.client, history, ctx.signal, undefined, (p) =>
              ctx.progress(progressLabel(p)),
            )
          : { system: s.systemPrompt };
        const persist = system || blocks.length > 0 ? this.deps.persist?.() : undefined;
        const done = await ctx.generate({
          session: CHAT_SESSION,
          system,
          blocks,
          messages: [...history, { role: 'user', content: text }],
          maxTokens: s.maxTokens,
          sampler: { ...s.sampler, seed: (s.sampler.seed + seedOffset) % 2 ** 32 },
          trimToFit: true,
          ...(persist ? { persist } : {}),
        });
        if (blocks.length > 0) this.deps.prompt?.confirm?.(blocks, done.blockTokens);
        const notes = [
          ...(done.restoredTokens
            ? [`The workspace context (${done.restoredTokens} tokens) was restored from disk, not read again.`]
            : []),
          ...(done.droppedMessages > 0
            ? [
                `${done.droppedMessages} earliest message${done.droppedMessages > 1 ? 's were' : ' was'} left out to fit the ${done.contextSize}-token context.`,
              ]
            : []),
        ];
        return { stats: answerStats(done), note: notes.length ? notes.join(' ') : undefined };
      },
      signal,
      'chat',
    );
  }

  /**
   * Add a user turn and an assistant turn, and run `work` to fill the assistant turn.
   * Resolves (never rejects) with the turn's final state; errors end up in the turn.
   */
  async task(
    userText: string,
    work: (ctx: TaskContext) => Promise<TaskOutcome>,
    signal?: AbortSignal,
    origin: Turn['origin'] = 'command',
  ): Promise<AskResult> {
    if (this.current) throw new Error('PodLens is already generating; stop it first');
    const ac = new AbortController();
    this.current = ac;
    const onAbort = (): void => ac.abort();
    signal?.addEventListener('abort', onAbort);
    const user: Turn = { id: this.nextTurn++, role: 'user', text: userText, status: 'done', origin };
    const turn: Turn = { id: this.nextTurn++, role: 'assistant', text: '', status: 'streaming', origin };
    this.list.push(user, turn);
    this.deps.emit('chat/turn', user);
    this.deps.emit('chat/turn', { ...turn });
    let outcome: TaskOutcome = {};
    try {
      this.deps.emit('chat/progress', { turnId: turn.id, label: 'loading the model…' });
      const client = await this.deps.engine();
      this.deps.onActivity(true);
      const append = (t: string): void => {
        if (!t) return;
        turn.text += t;
        this.deps.emit('chat/delta', { turnId: turn.id, text: t });
      };
      const ctx: TaskContext = {
        client,
        signal: ac.signal,
        append,
        progress: (label) => this.deps.emit('chat/progress', { turnId: turn.id, label }),
        generate: async (p) => {
          if (ac.signal.aborted) throw Object.assign(new Error('stopped'), { name: 'AbortError' });
          const run = client.generate(
            { ...p, snapshotEveryMs: SNAPSHOT_EVERY_MS },
            {
              onPrefill: (d, total) => {
                if (d < total) ctx.progress(`reading the prompt: ${d} / ${total} tokens`);
              },
              onDelta: append,
            },
          );
          const stop = (): void => run.abort();
          ac.signal.addEventListener('abort', stop);
          try {
            return await run.done;
          } finally {
            ac.signal.removeEventListener('abort', stop);
          }
        },
      };
      outcome = await work(ctx);
      turn.status = ac.signal.aborted ? 'stopped' : 'done';
    } catch (e) {
      if (ac.signal.aborted) turn.status = 'stopped';
      else {
        turn.status = 'error';
        turn.error = describeError(e);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.current = null;
    }
    if (outcome.stats) turn.stats = outcome.stats;
    if (outcome.note) turn.note = outcome.note;
    this.save();
    this.deps.emit('chat/finish', {
      turnId: turn.id,
      status: turn.status,
      stats: turn.stats,
      note: turn.note,
      error: turn.error,
    });
    this.deps.onActivity(false, turn.stats);
    return { turnId: turn.id, status: turn.status, stats: turn.stats };
  }
}
