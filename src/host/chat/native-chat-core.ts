// What the @podlens chat participant and the language-model provider share, without vscode: the
// engine session they both use, turning VS Code's chat history / LM messages into the engine's
// chat messages, the workspace context as the chat panel builds it — one block per file
// (src/host/chat/chat-context.ts over src/context/build.ts), budgeted in the model's real tokens
// (read and counted in the reader worker when one is given) — so the worker's PromptSession
// tokenizes each block once, checkpoints at block boundaries and reuses what did not change, and
// one streamed generation that a cancellation token stops within one model step.
// No vscode import (the thin adapters are chat-participant.ts and lm-provider.ts).
import { PromptBlock, renderBlock } from '../../context/build';
import { readWorkspace, ReadResult } from '../../context/read';
import { NodeFileSource } from '../../context/source';
import { PersistTarget, SamplerSettings } from '../../worker/protocol';
import { EngineClient, GenerateDone } from '../engine-client';
import { buildChatContext, promptBlocks, TokenCounts } from './chat-context';

/** The worker session (KV cache) of VS Code's own chat: follow-ups reuse its prefix. */
export const NATIVE_SESSION = 'native';

export interface EngineMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The part of vscode.CancellationToken used here. */
export interface Cancellation {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => unknown): { dispose(): unknown };
}

/** A turn of VS Code's chat history, reduced to its text (see chat-participant.ts). */
export type HistoryTurn = { kind: 'request'; text: string } | { kind: 'response'; text: string };

/** The engine's structured prompt (src/context/prompt.ts `SessionPrompt`): system text, workspace blocks, the conversation. */
export interface NativePrompt {
  system: string;
  blocks: PromptBlock[];
  messages: EngineMessage[];
}

/** The system text and blocks (the worker renders them into the system message), the history, then the new prompt. */
export function participantPrompt(
  system: string,
  blocks: readonly PromptBlock[],
  history: readonly HistoryTurn[],
  prompt: string,
): NativePrompt {
  return {
    system,
    blocks: [...blocks],
    messages: [
      ...history
        .filter((t) => t.text.length > 0)
        .map((t) => ({ role: t.kind === 'request' ? ('user' as const) : ('assistant' as const), content: t.text })),
      { role: 'user', content: prompt },
    ],
  };
}

/**
 * Workspace blocks, then the #file / #selection reference blocks (last, where an edit costs the
 * least cached prefix): a workspace block of a file a reference holds whole is dropped.
 */
export function withReferences(ws: readonly PromptBlock[], refs: readonly PromptBlock[]): PromptBlock[] {
  const whole = new Set(refs.filter((r) => r.role !== 'selection').map((r) => r.path));
  return [...ws.filter((b) => !whole.has(b.path)), ...refs];
}

/** The text of LM message content: text parts ({ value: string }) joined; tool and data parts ignored. */
export function partsText(content: readonly unknown[]): string {
  return content
    .map((p) =>
      typeof p === 'string'
        ? p
        : p && typeof (p as { value?: unknown }).value === 'string'
          ? (p as { value: string }).value
          : '',
    )
    .join('');
}

/** LM API messages (role 1 user, 2 assistant, 3 system) → engine messages; empty ones dropped. */
export function lmMessages(messages: readonly { role: number; content: readonly unknown[] }[]): EngineMessage[] {
  const out: EngineMessage[] = [];
  for (const m of messages) {
    const content = partsText(m.content);
    if (!content) continue;
    out.push({ role: m.role === 2 ? 'assistant' : m.role === 3 ? 'system' : 'user', content });
  }
  return out;
}

/** Sampling overrides a language-model request may carry in modelOptions. */
export function withModelOptions(
  sampler: SamplerSettings,
  maxTokens: number,
  o: { readonly [k: string]: unknown } | undefined,
): { sampler: SamplerSettings; maxTokens: number } {
  const n = (k: string): number | undefined => (typeof o?.[k] === 'number' && Number.isFinite(o[k]) ? o[k] : undefined);
  const t = n('temperature');
  const max = n('maxTokens') ?? n('max_tokens');
  return {
    sampler: t !== undefined && t >= 0 ? { ...sampler, temperature: t } : sampler,
    maxTokens: max !== undefined && max >= 1 ? Math.floor(max) : maxTokens,
  };
}

export interface WorkspaceBlocks {
  /** One per file, in cache order (oldest first), as the chat panel builds them. */
  blocks: PromptBlock[];
  /** Each block's tokens (the model's tokenizer; the same ids the session computes). */
  counts: number[];
  tokens: number;
  /** Workspace-relative paths of the files included, in prompt order. */
  paths: string[];
  excluded: number;
}

/**
 * The workspace folder as prompt blocks of at most `budget` tokens in all, chosen as the chat
 * panel chooses them (chat-context.ts `buildChatContext`: files oldest first, the budget filled
 * in order, real token counts). With `read` (the reader worker: walked and counted off the
 * host's thread) the counts come from there; without it the folder is read here and counted
 * with `count` (the engine). `counts` remembers counts by block text across requests.
 */
export async function workspaceBlocks(
  root: string,
  budget: number,
  count: (texts: string[]) => Promise<number[]>,
  counts: TokenCounts,
  signal?: AbortSignal,
  read?: (budget: number, signal?: AbortSignal) => Promise<ReadResult>,
): Promise<WorkspaceBlocks> {
  const built = await buildChatContext(
    {
      root,
      enabled: { workspace: true, file: false, selection: false },
      budgetTokens: budget,
      count,
      signal,
      readWorkspace: (sig) =>
        read
          ? read(budget, sig)
          : readWorkspace(new NodeFileSource(root), {
              count: (t) => counts.get(t, count),
              countBatch: 64,
              budgetTokens: budget,
              signal: sig,
            }),
    },
    counts,
  );
  const blocks = promptBlocks(built);
  return {
    blocks,
    counts: built.ws.blocks.map((b) => b.tokens),
    tokens: built.tokens,
    paths: blocks.map((b) => b.path),
    excluded: built.ws.excluded.length,
  };
}

/** Tokens of blocks as the session renders them (renderBlock), counted by the engine. */
export async function blockCounts(
  blocks: readonly PromptBlock[],
  count: (texts: string[]) => Promise<number[]>,
): Promise<number[]> {
  return blocks.length > 0 ? count(blocks.map(renderBlock)) : [];
}

/** One generation in the native session (a structured prompt: the worker tokenizes and caches it per block); deltas stream to `onDelta`; the token aborts it. */
export async function streamAnswer(
  client: EngineClient,
  p: {
    system?: string;
    blocks?: PromptBlock[];
    messages: EngineMessage[];
    maxTokens: number;
    sampler: SamplerSettings;
    persist?: PersistTarget;
  },
  onDelta: (text: string) => void,
  token: Cancellation,
): Promise<GenerateDone> {
  const run = client.generate(
    {
      session: NATIVE_SESSION,
      ...(p.system ? { system: p.system } : {}),
      ...(p.blocks?.length ? { blocks: p.blocks } : {}),
      messages: p.messages,
      maxTokens: p.maxTokens,
      sampler: p.sampler,
      trimToFit: true,
      ...(p.persist ? { persist: p.persist } : {}),
    },
    { onDelta },
  );
  const sub = token.onCancellationRequested(() => run.abort());
  if (token.isCancellationRequested) run.abort();
  try {
    return await run.done;
  } finally {
    sub.dispose();
  }
}
