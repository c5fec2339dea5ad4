// What the @podlens chat participant and the language-model provider share, without vscode: the
// engine session they both use, turning VS Code's chat history / LM messages into the engine's
// chat messages, an optional workspace-context block (src/context, budgeted in real tokens: read
// and tokenized in the reader worker when one is given), and one streamed generation that a
// cancellation token stops within one model step.
// No vscode import (the thin adapters are chat-participant.ts and lm-provider.ts).
import { buildContext, fileBlock, renderBlock } from '../../context/build';
import { ReadResult } from '../../context/read';
import { FileSource, MemoryFileSource, NodeFileSource } from '../../context/source';
import { SamplerSettings } from '../../worker/protocol';
import { EngineClient, GenerateDone } from '../engine-client';

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

/** System message (with the context block after it), the history, then the new prompt. */
export function participantMessages(
  system: string,
  context: string | undefined,
  history: readonly HistoryTurn[],
  prompt: string,
): EngineMessage[] {
  const sys = [system, context].filter((s): s is string => !!s && s.length > 0).join('\n\n');
  return [
    ...(sys ? [{ role: 'system' as const, content: sys }] : []),
    ...history
      .filter((t) => t.text.length > 0)
      .map((t) => ({ role: t.kind === 'request' ? ('user' as const) : ('assistant' as const), content: t.text })),
    { role: 'user', content: prompt },
  ];
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

export interface WorkspaceBlock {
  text: string;
  tokens: number;
  files: number;
  /** Workspace-relative paths of the files included, in prompt order. */
  paths: string[];
  excluded: number;
}

/**
 * The workspace folder as one text block of at most `budget` tokens (files oldest first, as
 * src/context orders them for cache reuse). With `read` (the reader worker: walked and counted
 * off the host's thread) the files come with their real block counts; without it the folder is
 * walked here with a 3-characters-per-token estimate. Either way the block is then counted with
 * the model's tokenizer and rebuilt smaller while it does not fit.
 */
export async function workspaceBlock(
  root: string,
  budget: number,
  count: (texts: string[]) => Promise<number[]>,
  signal?: AbortSignal,
  read?: (budget: number, signal?: AbortSignal) => Promise<ReadResult>,
): Promise<WorkspaceBlock> {
  let src: FileSource = new NodeFileSource(root);
  const known = new Map<string, number>();
  if (read) {
    const r = await read(budget, signal);
    const counted = r.files.filter((f) => f.text !== undefined && f.tokens !== undefined);
    for (const f of counted) known.set(fileBlock(f.path, f.text!), f.tokens!);
    src = new MemoryFileSource(Object.fromEntries(counted.map((f) => [f.path, { data: f.text!, mtimeMs: f.mtimeMs }])));
  }
  let estimateBudget = budget;
  for (let attempt = 0; attempt < 4; attempt++) {
    const ctx = await buildContext(src, {
      count: (t) => known.get(t) ?? Math.ceil(t.length / 3),
      budgetTokens: estimateBudget,
      signal,
    });
    const text = ctx.blocks.map(renderBlock).join('');
    const [tokens = 0] = text ? await count([text]) : [0];
    if (tokens <= budget)
      return {
        text,
        tokens,
        files: ctx.blocks.length,
        paths: ctx.blocks.map((b) => b.path),
        excluded: ctx.excluded.length,
      };
    estimateBudget = Math.floor(estimateBudget * (budget / tokens) * 0.9);
  }
  return { text: '', tokens: 0, files: 0, paths: [], excluded: 0 };
}

/** One generation in the native session; deltas stream to `onDelta`; the token aborts it. */
export async function streamAnswer(
  client: EngineClient,
  p: { messages: EngineMessage[]; maxTokens: number; sampler: SamplerSettings },
  onDelta: (text: string) => void,
  token: Cancellation,
): Promise<GenerateDone> {
  const run = client.generate(
    { session: NATIVE_SESSION, messages: p.messages, maxTokens: p.maxTokens, sampler: p.sampler, trimToFit: true },
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
