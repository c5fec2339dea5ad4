// The chat's prompt head and what the webview shows about it: which context chips are on, the
// system prompt and workspace blocks for the next answer (path + text, src/host/chat/chat-context.ts;
// the engine worker renders and tokenizes them),
// the chips' labels and counts, and the token meter (used / window / reserved for the answer,
// with what is left out). `prepare` runs at the start of every answer and its result is both what
// the worker gets and what the webview is told; `refresh` recomputes the view between answers
// (chip toggled, editor changed) when a model is loaded, without starting one. The workspace is
// read and tokenized by the reader worker (`reader`, off the host's thread) with progress and
// cancel; tests without it read an in-memory `source` in this thread. After the answer, `confirm`
// takes the engine session's own token count of each block (done.blockTokens): the chips and the
// meter show those, corrected and sent again should they differ. No vscode import.
import { ReadProgress } from '../../context/read';
import { FileSource, NodeFileSource } from '../../context/source';
import { WalkOptions } from '../../context/walk';
import { CHIP_KINDS, ChatContextView, ChipKind, ContextChip, TokenMeter } from '../../shared/chat-context';
import { PromptBlock } from '../../context/build';
import { BuiltContext, buildChatContext, EditorInfo, promptBlocks, TokenCounts } from './chat-context';
import { ReaderClient } from '../workspace/reader-client';
import { Settings } from '../settings';
import { inThreadReads, StartRead, WorkspaceReads } from '../workspace/workspace-reads';

export interface Counter {
  count(texts: string[]): Promise<number[]>;
  readonly info: { contextSize: number } | null;
  /** The loaded GGUF file: the reader worker builds the same tokenizer from it. */
  readonly modelPath?: string | null;
}

export interface PromptDeps {
  root(): string | undefined;
  editor(): EditorInfo | undefined;
  settings(): Settings;
  emit(view: ChatContextView): void;
  /** Include / exclude globs for the workspace walk (the podlens.context.* settings). */
  filter?(): Pick<WalkOptions, 'include' | 'ignore'>;
  /** Reads (and tokenizes) the workspace off the host's thread; without it, `source` (or the disk) is read in this thread. */
  reader?: Pick<ReaderClient, 'read'>;
  /** Tests: workspace files from memory instead of the disk (read in this thread). */
  source?: FileSource;
  /** The PodLens output channel: each workspace read's summary (counts per reason, largest excluded, time, memory). */
  log?(line: string): void;
}

type History = readonly { role: 'user' | 'assistant'; content: string }[];

/** What the last `prepare` counted: the view is drawn from it (again when the session's counts correct it). */
interface Prepared {
  built: BuiltContext;
  root: string | undefined;
  editor: EditorInfo | undefined;
  window: number;
  reserved: number;
  head: number;
  hist: number[];
  /** A system prompt is set (the workspace then adds no message of its own). */
  system: boolean;
}

/** Tokens a chat template adds around each message (role markers), roughly. */
const PER_MESSAGE = 4;
const WARN_AT = 0.85;
/**
 * How long a workspace walk is reused: the panel calls invalidate() when files change on disk (a
 * file system watcher), so this only bounds what a missed event can cost. Between answers (editor
 * or selection changes) the walk is reused for longer than for an answer.
 */
const REFRESH_WALK_MS = 5 * 60_000;
const ANSWER_WALK_MS = 60_000;

/** Room left for the workspace: the window minus the answer and a quarter (≤ 1024) for the conversation. */
export const workspaceBudget = (window: number, reserved: number, system: number): number =>
  Math.max(0, window - reserved - Math.min(1024, Math.floor(window / 4)) - system);

export function tokenMeter(
  window: number,
  reserved: number,
  head: number,
  history: readonly number[],
  files: string[],
): TokenMeter {
  let used = head + history.reduce((a, n) => a + n + PER_MESSAGE, 0);
  let dropped = 0;
  // The worker drops the oldest messages until the prompt and the answer fit (trimToFit).
  while (window > 0 && used + reserved > window && dropped < history.length) used -= history[dropped++]! + PER_MESSAGE;
  const leftOut = [
    ...files,
    ...(dropped > 0 ? [`${dropped} earliest message${dropped > 1 ? 's' : ''} of the conversation`] : []),
  ];
  const level =
    window > 0 && (dropped > 0 || used + reserved > window)
      ? 'over'
      : window > 0 && used + reserved > WARN_AT * window
        ? 'warn'
        : 'ok';
  return { used, window, reserved, level, leftOut: leftOut.slice(0, 200) };
}

const base = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
const clip = (s: string): string => (s.length > 8000 ? `${s.slice(0, 8000)}…` : s);

export function contextChips(
  enabled: Record<ChipKind, boolean>,
  root: string | undefined,
  editor: EditorInfo | undefined,
  built?: BuiltContext,
): ContextChip[] {
  const inc = built?.ws.included ?? [];
  const why = (p: string): string | undefined => built?.ws.excluded.find((e) => e.path === p)?.reason;
  const sum = (role: string): number => inc.filter((e) => e.role === role).reduce((a, e) => a + e.tokens, 0);
  const removed = 'Removed: not in the prompt. Click to add it back.';
  const uncounted = 'Counted when the model is loaded (after the first question).';
  const files = inc.filter((e) => e.role === 'file');
  const overBudget = built?.ws.excluded.filter((e) => e.reason.startsWith('over the token budget')) ?? [];
  const skipped = (built?.ws.excluded.length ?? 0) - overBudget.length;
  const wsDetail = !root
    ? 'No workspace folder is open.'
    : !enabled.workspace
      ? removed
      : !built
        ? uncounted
        : clip(
            [
              `${files.length} files, ${sum('file')} tokens in the prompt`,
              ...files.slice(0, 60).map((e) => `+ ${e.path} (${e.tokens})`),
              ...(files.length > 60 ? [`+ ${files.length - 60} more`] : []),
              ...(overBudget.length
                ? [
                    `${overBudget.length} left out by the token budget:`,
                    ...overBudget.slice(0, 30).map((e) => `- ${e.path}`),
                  ]
                : []),
              ...(skipped > 0 ? [`${skipped} skipped (ignored, binary, generated, too large…)`] : []),
            ].join('\n'),
          );
  const sel = editor?.selection && editor.selection.text.trim() ? editor.selection : undefined;
  const fileIn = inc.some((e) => e.role === 'active');
  const selIn = inc.some((e) => e.role === 'selection');
  const chips: ContextChip[] = [
    {
      kind: 'workspace',
      enabled: enabled.workspace,
      available: root !== undefined,
      label: 'Workspace',
      detail: wsDetail,
      ...(built && enabled.workspace && root ? { tokens: sum('file'), files: files.length } : {}),
    },
    {
      kind: 'file',
      enabled: enabled.file,
      available: editor !== undefined,
      label: editor ? base(editor.path) : 'Current file',
      detail: !editor
        ? 'No file is open in an editor.'
        : !enabled.file
          ? removed
          : !built
            ? `${editor.path}\n${uncounted}`
            : fileIn
              ? `${editor.path} (placed last, after the workspace files)`
              : `${editor.path}: not included (${why(editor.path) ?? 'skipped'})`,
      ...(built && enabled.file && editor ? { tokens: sum('active') } : {}),
    },
    {
      kind: 'selection',
      enabled: enabled.selection,
      available: sel !== undefined,
      label: sel ? `Selection (lines ${sel.startLine}–${sel.endLine})` : 'Selection',
      detail: !sel
        ? 'Nothing is selected in the editor.'
        : !enabled.selection
          ? removed
          : !built
            ? uncounted
            : selIn
              ? `Lines ${sel.startLine}–${sel.endLine} of ${editor!.path}`
              : `Not included (${why(editor!.path) ?? 'over the token budget'})`,
      ...(built && enabled.selection && sel ? { tokens: sum('selection') } : {}),
    },
  ];
  return chips;
}

export class ChatPrompt {
  readonly enabled: Record<ChipKind, boolean> = Object.fromEntries(CHIP_KINDS.map((k) => [k, true])) as Record<
    ChipKind,
    boolean
  >;
  private readonly counts = new TokenCounts();
  private last: ChatContextView | null = null;
  private prepared: Prepared | null = null;
  private readonly reads: WorkspaceReads;
  /** The engine of the running prepare (in-thread reads count with it). */
  private counter: Counter | null = null;

  constructor(private readonly deps: PromptDeps) {
    const reader = deps.reader;
    const start: StartRead =
      reader && !deps.source
        ? (req, onProgress) => reader.read(req, onProgress)
        : inThreadReads(
            (root) => deps.source ?? new NodeFileSource(root),
            () => {
              const c = this.counter;
              return c ? (t: string[]) => this.counts.get(t, (x) => c.count(x)) : undefined;
            },
          );
    this.reads = new WorkspaceReads(start, deps.log);
  }

  /** The last view sent (replayed when the webview comes back). */
  get view(): ChatContextView {
    return this.last ?? this.uncounted();
  }

  private uncounted(): ChatContextView {
    const s = this.deps.settings();
    return {
      chips: contextChips(this.enabled, this.deps.root(), this.deps.editor()),
      meter: tokenMeter(0, s.maxTokens, 0, [], []),
    };
  }

  /** Files changed on disk: the next answer or refresh reads the workspace again. */
  invalidate(): void {
    this.reads.invalidate();
  }

  /**
   * Build the system message for an answer with `history`, and publish what it holds. A workspace
   * read younger than `maxWalkAgeMs` is reused; `onProgress` follows a new one (files, tokens,
   * ETA); `signal` cancels it (the read stops unless another caller still waits on it).
   */
  async prepare(
    engine: Counter,
    history: History,
    signal?: AbortSignal,
    maxWalkAgeMs = ANSWER_WALK_MS,
    onProgress?: (p: ReadProgress) => void,
  ): Promise<{ system: string; blocks: PromptBlock[]; view: ChatContextView }> {
    const s = this.deps.settings();
    const window = engine.info?.contextSize ?? 0;
    const count = (t: string[]): Promise<number[]> => engine.count(t);
    const head = s.systemPrompt ? (await this.counts.get([s.systemPrompt], count))[0]! + PER_MESSAGE : 0;
    const root = this.deps.root(),
      editor = this.deps.editor();
    const budgetTokens = workspaceBudget(window, s.maxTokens, head);
    const f = this.deps.filter?.() ?? {};
    const filter = {
      ...(f.include ? { include: [...f.include] } : {}),
      ...(f.ignore !== undefined ? { ignore: f.ignore } : {}),
    };
    const model = engine.modelPath ?? undefined;
    const built = await buildChatContext(
      {
        root,
        editor,
        enabled: { ...this.enabled },
        budgetTokens,
        count,
        signal,
        readWorkspace:
          root === undefined
            ? undefined
            : async (sig) => {
                this.counter = engine;
                try {
                  // Without a model file the reader cannot count: it returns every text and the engine counts them here.
                  const req = {
                    root,
                    budgetTokens,
                    ...filter,
                    ...(model !== undefined ? { model } : { keepTexts: 'all' as const }),
                  };
                  return (await this.reads.get(req, { maxAgeMs: maxWalkAgeMs, signal: sig, onProgress })).result;
                } finally {
                  this.counter = null;
                }
              },
      },
      this.counts,
    );
    const hist = await this.counts.get(
      history.map((m) => m.content),
      count,
    );
    this.prepared = { built, root, editor, window, reserved: s.maxTokens, head, hist, system: !!s.systemPrompt };
    const view = this.publish(this.prepared);
    return { system: s.systemPrompt, blocks: promptBlocks(built), view };
  }

  /** The view of a prepared prompt, sent to the webview and kept for replay. */
  private publish(p: Prepared): ChatContextView {
    const over = p.built.ws.excluded
      .filter((e) => e.reason.startsWith('over the token budget'))
      .map((e) => `${e.path}: ${e.reason}`);
    const view: ChatContextView = {
      chips: contextChips(this.enabled, p.root, p.editor, p.built),
      meter: tokenMeter(
        p.window,
        p.reserved,
        p.head + p.built.tokens + (p.built.ws.blocks.length > 0 && !p.system ? PER_MESSAGE : 0),
        p.hist,
        over,
      ),
    };
    this.last = view;
    this.deps.emit(view);
    return view;
  }

  /**
   * The engine session's own token count of each block (the answer's `blockTokens`, prompt
   * order) for the blocks the last `prepare` returned: where a count shown differs, the chips and
   * the meter are corrected to the session's and sent again (and the difference is logged). The
   * reader and the session tokenize with the same GGUF tokenizer, so this should never fire.
   */
  confirm(blocks: readonly PromptBlock[], sessionCounts: readonly number[] | undefined): boolean {
    const p = this.prepared;
    const wsBlocks = p?.built.ws.blocks;
    if (!p || !wsBlocks || !sessionCounts || sessionCounts.length !== wsBlocks.length) return false;
    if (blocks.length !== wsBlocks.length || blocks.some((b, i) => b.text !== wsBlocks[i]!.text)) return false;
    const diff = wsBlocks.flatMap((b, i) =>
      b.tokens !== sessionCounts[i] ? [`${b.path} ${b.tokens} → ${sessionCounts[i]}`] : [],
    );
    if (diff.length === 0) return false;
    this.deps.log?.(`token counts corrected to the engine session's: ${diff.slice(0, 10).join(', ')}`);
    wsBlocks.forEach((b, i) => (b.tokens = sessionCounts[i]!));
    p.built.ws.included.forEach((e, i) => (e.tokens = sessionCounts[i]!));
    p.built.tokens = sessionCounts.reduce((a, n) => a + n, 0);
    this.publish(p);
    return true;
  }

  /** Recompute the view: counted when a model is loaded, else only what each chip would add. */
  async refresh(engine: Counter | null, history: History): Promise<void> {
    if (!engine?.info) {
      this.last = this.uncounted();
      this.deps.emit(this.last);
      return;
    }
    await this.prepare(engine, history, undefined, REFRESH_WALK_MS);
  }
}
