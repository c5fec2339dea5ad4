// Workspace files → one ordered, budgeted long prompt. Order is chosen for KV-cache stability:
// rarely-changed files first (oldest mtime first, then path), the active file and the selection
// last, where an edit invalidates the least cached prefix and where PoD keeps them in the recent
// (proximal) window. Each file is one block with a path header, tokenized on its own, so a
// block's ids never depend on its neighbours: editing a file changes only the ids from its block
// on. Blocks that do not fit the token budget are excluded (the active file and selection are
// reserved first). Returns the manifest: every file included (tokens) or excluded (reason).
// Not here: walking and decoding (walk.ts), the model session (session.ts).
import { Exclusion, walkWorkspace, WalkOptions } from './walk';
import { FileSource } from './source';

export interface Selection {
  path: string;
  text: string;
  /** 1-based, inclusive. */
  startLine: number;
  endLine: number;
}

export interface BuildOptions extends WalkOptions {
  /** Token count of a rendered block (plain text: no BOS, special tokens not parsed). */
  count: (text: string) => number;
  budgetTokens: number;
  /** The file being edited: placed last. */
  activeFile?: string;
  selection?: Selection;
}

/** One block of the workspace context as the engine session gets it: the text is the file's (or the selection's). */
export interface PromptBlock {
  path: string;
  role: 'file' | 'active' | 'selection';
  text: string;
  /** A selection's 1-based, inclusive lines. */
  lines?: { start: number; end: number };
}

export interface ContextBlock extends PromptBlock {
  /** Tokens of the rendered block (renderBlock). */
  tokens: number;
  mtimeMs: number;
}

export interface ManifestEntry {
  path: string;
  tokens: number;
  bytes: number;
  encoding: string;
  role: ContextBlock['role'];
}

export interface WorkspaceContext {
  blocks: ContextBlock[];
  included: ManifestEntry[];
  excluded: Exclusion[];
  budgetTokens: number;
}

// A block ends with one newline and starts with '#': for byte-level BPE tokenizers (Qwen, SmolLM2)
// that boundary is a pre-tokenizer split, so blocks tokenized one by one give exactly the ids of
// the whole text (a blank line between blocks would not: "\n\n" is one pre-token alone, two before '#').
export const fileBlock = (path: string, text: string): string =>
  `### File: ${path}\n\`\`\`\n${text}${text.endsWith('\n') ? '' : '\n'}\`\`\`\n`;
export const selectionBlock = (s: Selection): string =>
  `### Selection: ${s.path} (lines ${s.startLine}–${s.endLine})\n\`\`\`\n${s.text}${s.text.endsWith('\n') ? '' : '\n'}\`\`\`\n`;
/** A block's text in the prompt. */
export const renderBlock = (b: PromptBlock): string =>
  b.role === 'selection' && b.lines
    ? selectionBlock({ path: b.path, text: b.text, startLine: b.lines.start, endLine: b.lines.end })
    : fileBlock(b.path, b.text);

/** Stable order: oldest mtime first, then path (byte order). */
export function orderForCache<T extends { path: string; mtimeMs: number }>(
  files: readonly T[],
  activeFile?: string,
): T[] {
  return [...files].sort((a, b) => {
    const aa = a.path === activeFile ? 1 : 0,
      ba = b.path === activeFile ? 1 : 0;
    if (aa !== ba) return aa - ba;
    if (a.mtimeMs !== b.mtimeMs) return a.mtimeMs - b.mtimeMs;
    return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
  });
}

export async function buildContext(src: FileSource, o: BuildOptions): Promise<WorkspaceContext> {
  const { candidates, excluded } = await walkWorkspace(src, o);
  const ordered = orderForCache(candidates, o.activeFile);
  let remaining = o.budgetTokens;
  const tail: ContextBlock[] = [];
  const active = o.activeFile !== undefined ? ordered.find((c) => c.path === o.activeFile) : undefined;
  const entries = new Map<ContextBlock, ManifestEntry>();
  const reserve = (b: ContextBlock, bytes: number, encoding: string): boolean => {
    if (b.tokens > remaining) {
      excluded.push({ path: b.path, reason: `over the token budget (${b.tokens} tokens, ${remaining} left)` });
      return false;
    }
    remaining -= b.tokens;
    entries.set(b, { path: b.path, tokens: b.tokens, bytes, encoding, role: b.role });
    return true;
  };
  if (o.selection) {
    const { path, text, startLine, endLine } = o.selection;
    const b: ContextBlock = {
      path,
      role: 'selection',
      text,
      lines: { start: startLine, end: endLine },
      tokens: o.count(selectionBlock(o.selection)),
      mtimeMs: Infinity,
    };
    if (reserve(b, text.length, 'utf-8')) tail.push(b);
  }
  if (active) {
    const b: ContextBlock = {
      path: active.path,
      role: 'active',
      text: active.text,
      tokens: o.count(fileBlock(active.path, active.text)),
      mtimeMs: active.mtimeMs,
    };
    if (reserve(b, active.bytes, active.encoding)) tail.unshift(b);
  }
  const head: ContextBlock[] = [];
  for (const c of ordered) {
    if (c === active) continue;
    if (o.signal?.aborted) throw new Error('building the workspace context was cancelled');
    // Text far longer than the budget left cannot fit (a token is rarely over 16 characters): skip tokenizing it.
    if (remaining <= 0 || c.text.length > remaining * 16 + 64) {
      excluded.push({ path: c.path, reason: `over the token budget (${remaining} tokens left)` });
      continue;
    }
    const b: ContextBlock = {
      path: c.path,
      role: 'file',
      text: c.text,
      tokens: o.count(fileBlock(c.path, c.text)),
      mtimeMs: c.mtimeMs,
    };
    if (reserve(b, c.bytes, c.encoding)) head.push(b);
  }
  const blocks = [...head, ...tail];
  return {
    blocks,
    included: blocks.map((b) => entries.get(b)!),
    excluded,
    budgetTokens: o.budgetTokens,
  };
}

/** One line per file: "+ path (N tokens)" / "- path: reason". */
export function formatManifest(ctx: WorkspaceContext): string {
  const used = ctx.included.reduce((a, e) => a + e.tokens, 0);
  return [
    `${ctx.included.length} files included (${used} of ${ctx.budgetTokens} tokens), ${ctx.excluded.length} excluded`,
    ...ctx.included.map((e) => `+ ${e.path} (${e.tokens} tokens${e.role !== 'file' ? `, ${e.role}` : ''})`),
    ...ctx.excluded.map((e) => `- ${e.path}: ${e.reason}`),
  ].join('\n');
}
