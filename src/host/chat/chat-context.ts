// What the chat puts in front of the conversation, and what the chips and the token meter say
// about it: the workspace blocks that src/context/build.ts chooses — workspace files (oldest
// first), then the current file, then the selection, the order that keeps the cached prefix
// stable across turns — as path + text. The engine worker renders and tokenizes them
// (src/context/prompt.ts owns the ids) and reuses what did not change; this side only decides,
// with token counts, what fits the budget. The workspace files come read and
// counted from `readWorkspace` (the reader worker: walked and tokenized with the loaded model's
// tokenizer off the host's thread, src/host/workspace/workspace-reads.ts); the editor's buffer, the
// selection and any file the read did not count are counted with `count` (EngineClient.count,
// cached by text). With no model loaded the chips show what they would add, without counts. The
// chips are built from the very blocks that go into the prompt, so they cannot disagree with
// it. No vscode import: the panel supplies the workspace folder and the editor
// (src/host/chat/editor-tracker.ts).
import {
  buildContext,
  fileBlock,
  orderForCache,
  PromptBlock,
  Selection,
  selectionBlock,
  WorkspaceContext,
} from '../../context/build';
import { Fill, NOT_READ, ReadResult, TOO_LONG } from '../../context/read';
import { MemoryFileSource } from '../../context/source';
import { Candidate } from '../../context/walk';
import { ChipKind } from '../../shared/chat-context';

export interface EditorInfo {
  /** Workspace-relative path ('/'-separated), or the file name for a file outside the workspace. */
  path: string;
  /** The buffer's text (unsaved edits included). */
  text: string;
  selection?: Omit<Selection, 'path'>;
}

export interface ContextRequest {
  root?: string;
  editor?: EditorInfo;
  enabled: Record<ChipKind, boolean>;
  budgetTokens: number;
  count(texts: string[]): Promise<number[]>;
  signal?: AbortSignal;
  /** The workspace folder read (and counted, for this budget) — asked only when the workspace chip is on. */
  readWorkspace?(signal?: AbortSignal): Promise<ReadResult>;
}

export interface BuiltContext {
  /** The blocks (ws.blocks, in prompt order) and the manifest. */
  ws: WorkspaceContext;
  /** The blocks' tokens. */
  tokens: number;
  /** Candidates not even counted because the budget was full long before them. */
  notRead: string[];
}

const COUNT_BATCH = 64;

/** Counts by text, remembered across turns (a block's count changes only when its text does). */
export class TokenCounts {
  private readonly map = new Map<string, number>();

  constructor(private readonly maxEntries = 4096) {}

  async get(texts: string[], count: (t: string[]) => Promise<number[]>): Promise<number[]> {
    const missing = [...new Set(texts.filter((t) => !this.map.has(t)))];
    for (let i = 0; i < missing.length; i += COUNT_BATCH) {
      const batch = missing.slice(i, i + COUNT_BATCH);
      const n = await count(batch);
      batch.forEach((t, k) => this.map.set(t, n[k] ?? 0));
    }
    const out = texts.map((t) => this.map.get(t) ?? 0);
    // Least recently used first: touched texts move to the end; the oldest go beyond the cap.
    texts.forEach((t, k) => {
      this.map.delete(t);
      this.map.set(t, out[k]!);
    });
    for (const t of this.map.keys()) {
      if (this.map.size <= this.maxEntries) break;
      this.map.delete(t);
    }
    return out;
  }
}

/** Build the workspace context for the enabled chips, with exact token counts. */
export async function buildChatContext(r: ContextRequest, counts: TokenCounts): Promise<BuiltContext> {
  const activePath = r.enabled.file && r.editor ? r.editor.path : undefined;
  let candidates: Candidate[] = [];
  const excluded: WorkspaceContext['excluded'] = [];
  /** Counts the read already made, by block text. */
  const known = new Map<string, number>();
  const notRead: string[] = [];
  if (r.enabled.workspace && r.root !== undefined && r.readWorkspace) {
    const w = await r.readWorkspace(r.signal);
    // Files the read left out by the budget stay out (with keepTexts 'all' their text came along).
    const over = new Set(w.excluded.filter((e) => e.reason === TOO_LONG || e.reason === NOT_READ).map((e) => e.path));
    for (const f of w.files) {
      if (f.text === undefined || (f.tokens === undefined && over.has(f.path))) continue;
      candidates.push({ path: f.path, text: f.text, encoding: f.encoding, bytes: f.bytes, mtimeMs: f.mtimeMs });
      if (f.tokens !== undefined) known.set(fileBlock(f.path, f.text), f.tokens);
    }
    // The current file is the editor's buffer, counted below whatever the read said about the file on disk.
    excluded.push(
      ...w.excluded.filter((e) => !(e.path === activePath && (e.reason === TOO_LONG || e.reason === NOT_READ))),
    );
    notRead.push(...w.notRead.filter((p) => p !== activePath));
  }
  const count = async (texts: string[]): Promise<number[]> => {
    const missing = texts.filter((t) => !known.has(t));
    const n = missing.length > 0 ? await r.count(missing) : [];
    missing.forEach((t, k) => known.set(t, n[k] ?? 0));
    return texts.map((t) => known.get(t)!);
  };
  if (r.editor && (activePath !== undefined || candidates.some((c) => c.path === r.editor!.path))) {
    // The editor's buffer wins over the file on disk (unsaved edits are what the user sees).
    const e = r.editor;
    const old = candidates.find((c) => c.path === e.path);
    candidates = candidates.filter((c) => c !== old);
    candidates.push({
      path: e.path,
      text: e.text,
      encoding: 'utf-8',
      bytes: e.text.length,
      mtimeMs: old?.mtimeMs ?? Date.now(),
    });
  }
  const selection: Selection | undefined =
    r.enabled.selection && r.editor?.selection && r.editor.selection.text.trim()
      ? { path: r.editor.path, ...r.editor.selection }
      : undefined;

  // Count the blocks build.ts would tokenize, in its order (selection and current file first),
  // stopping once the counted blocks fill the budget (read.ts `Fill`): later files cannot change it much.
  const ordered = orderForCache(candidates, activePath);
  const active = ordered.find((c) => c.path === activePath);
  const queue = [...(active ? [active] : []), ...ordered.filter((c) => c !== active)];
  const texts: string[] = selection ? [selectionBlock(selection)] : [];
  const counted: Candidate[] = [];
  const notCounted: string[] = [];
  const fill = new Fill(r.budgetTokens);
  if (selection) fill.add((await counts.get(texts, count))[0]!, texts[0]!.length);
  for (let i = 0; i < queue.length; i += COUNT_BATCH) {
    const batch = queue
      .slice(i, i + COUNT_BATCH)
      .filter((c) => c.text.length <= r.budgetTokens * 16 + 64 || c === active);
    if (fill.full) {
      notCounted.push(...queue.slice(i).map((c) => c.path));
      break;
    }
    const blockTexts = batch.map((c) => fileBlock(c.path, c.text));
    const n = await counts.get(blockTexts, count);
    n.forEach((t, k) => fill.add(t, blockTexts[k]!.length));
    counted.push(...batch);
    texts.push(...blockTexts);
    excluded.push(
      ...queue
        .slice(i, i + COUNT_BATCH)
        .filter((c) => !batch.includes(c))
        .map((c) => ({ path: c.path, reason: TOO_LONG, bytes: c.bytes })),
    );
  }
  const n = await counts.get(texts, count);
  texts.forEach((t, k) => known.set(t, n[k]!));

  const mem = new MemoryFileSource(
    Object.fromEntries(counted.map((c) => [c.path, { data: c.text, mtimeMs: c.mtimeMs }])),
  );
  const ws = await buildContext(mem, {
    budgetTokens: r.budgetTokens,
    activeFile: active?.path,
    selection,
    signal: r.signal,
    // The counts made above (the worker tokenizes the blocks for the prompt); a text never counted cannot fit.
    count: (t) => known.get(t) ?? r.budgetTokens + 1,
  });
  ws.excluded.unshift(...excluded);
  for (const p of notCounted) ws.excluded.push({ path: p, reason: NOT_READ });
  return { ws, tokens: ws.blocks.reduce((a, b) => a + b.tokens, 0), notRead: [...notRead, ...notCounted] };
}

/** The blocks as the engine worker gets them (path, role, text, lines). */
export function promptBlocks(built: BuiltContext | undefined): PromptBlock[] {
  return (built?.ws.blocks ?? []).map(({ path, role, text, lines }) => ({
    path,
    role,
    text,
    ...(lines ? { lines } : {}),
  }));
}
