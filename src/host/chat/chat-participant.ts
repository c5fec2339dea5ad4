// The @podlens participant in VS Code's own chat view (chat API of VS Code 1.90): answers with the
// local model through the engine worker, streams markdown as tokens arrive, stops within one
// model step when the request is cancelled, keeps the conversation (history of this
// participant) and its KV cache across turns, and adds context on request: `/workspace` puts
// the workspace files in front, one block per file as the chat panel builds them (read and
// counted in the model's tokens by the reader worker, off the host's thread, with its progress
// shown in the response; the prefix's KV state persisted like the panel's), #file references add
// those files as blocks after them. The worker's session tokenizes the blocks once and keeps
// checkpoints at their boundaries. Feature-detected: a VS Code without `vscode.chat` just gets no participant.
import * as vscode from 'vscode';
import { PromptBlock } from '../../context/build';
import { progressLabel } from '../../context/read';
import { answerStats } from './chat-session';
import { TokenCounts } from './chat-context';
import { workspaceBudget } from './chat-prompt';
import { Core } from '../core';
import { describeError } from '../errors';
import { SECTION } from '../settings';
import {
  blockCounts,
  HistoryTurn,
  participantPrompt,
  streamAnswer,
  withReferences,
  workspaceBlocks,
} from './native-chat-core';
import { readWith } from '../workspace/reader-client';
import { readWorkspaceSettings, storeOptions, walkFilter } from '../workspace/workspace-settings';

/** contributes.chatParticipants[0].id; its name "podlens" is what users type after @. */
export const PARTICIPANT_ID = 'podlens.chat';

/** A history turn's text: the prompt of a request, the markdown of a response. */
export function historyTurn(t: unknown): HistoryTurn | null {
  const x = t as { prompt?: unknown; response?: unknown };
  if (typeof x.prompt === 'string') return { kind: 'request', text: x.prompt };
  if (Array.isArray(x.response)) {
    const text = x.response
      .map((p: { value?: { value?: unknown } }) => (typeof p?.value?.value === 'string' ? p.value.value : ''))
      .join('');
    return { kind: 'response', text };
  }
  return null;
}

/** #file / #selection references as prompt blocks (Uri, Location, or plain string values). */
async function referenceBlocks(refs: readonly vscode.ChatPromptReference[]): Promise<PromptBlock[]> {
  const out: PromptBlock[] = [];
  for (const r of refs) {
    const v = r.value as { fsPath?: unknown; uri?: vscode.Uri; range?: vscode.Range } | string;
    if (typeof v === 'string') {
      out.push({ path: r.id, role: 'file', text: v });
      continue;
    }
    const uri = v && typeof v.fsPath === 'string' ? (v as unknown as vscode.Uri) : v?.uri;
    if (!uri) continue;
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    const path = vscode.workspace.asRelativePath(uri);
    if (!v.range) {
      out.push({ path, role: 'file', text });
      continue;
    }
    const lines = text
      .split('\n')
      .slice(v.range.start.line, v.range.end.line + 1)
      .join('\n');
    out.push({
      path,
      role: 'selection',
      text: lines,
      lines: { start: v.range.start.line + 1, end: v.range.end.line + 1 },
    });
  }
  return out;
}

export function registerChatParticipant(context: vscode.ExtensionContext, core: Core): vscode.ChatParticipant | null {
  const chat = (vscode as { chat?: Partial<typeof vscode.chat> }).chat;
  if (typeof chat?.createChatParticipant !== 'function') {
    core.log('this VS Code has no chat participant API: @podlens is not available');
    return null;
  }
  /** Block counts by text, across requests (a block's count changes only when its text does). */
  const counts = new TokenCounts();
  const handler: vscode.ChatRequestHandler = async (request, chatContext, stream, token) => {
    const s = core.settings();
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    try {
      if (!core.client.info) stream.progress('Loading the model…');
      const client = await core.model.ensureLoaded();
      const contextSize = client.info?.contextSize ?? 0;
      const count = (t: string[]): Promise<number[]> => client.count(t);
      const refs = await referenceBlocks(request.references);
      let blocks = refs;
      let persist;
      if (request.command === 'workspace') {
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        if (!folder) {
          stream.markdown('_No folder is open, so there is no workspace to read; answering without it._\n\n');
        } else {
          stream.progress('Reading the workspace…');
          // The panel's budget (chat-prompt.ts): the window minus the answer, room for the conversation, the system text and the references.
          const fixed = await counts.get([s.systemPrompt, request.prompt], count);
          const refTokens = (await blockCounts(refs, (t) => counts.get(t, count))).reduce((a, n) => a + n, 0);
          const budget = workspaceBudget(contextSize, s.maxTokens, fixed.reduce((a, n) => a + n, 0) + refTokens + 16);
          const model = client.modelPath;
          const wsSettings = readWorkspaceSettings(vscode.workspace.getConfiguration(SECTION));
          const filter = walkFilter(wsSettings);
          // Read and counted in the reader thread (progress every 2 s: each report is a line in the response).
          const read = model
            ? async (budgetTokens: number, signal?: AbortSignal) =>
                (
                  await readWith(
                    core.reader,
                    {
                      root: folder.fsPath,
                      model,
                      budgetTokens,
                      progressEveryMs: 2000,
                      ...(filter.include ? { include: [...filter.include] } : {}),
                      ...(filter.ignore !== undefined ? { ignore: filter.ignore } : {}),
                    },
                    signal,
                    (p) => stream.progress(progressLabel(p, 'Reading the workspace')),
                  )
                ).result
            : undefined;
          const ws = await workspaceBlocks(folder.fsPath, budget, count, counts, ac.signal, read);
          for (const p of ws.paths.slice(0, 20)) stream.reference(vscode.Uri.joinPath(folder, p));
          stream.progress(
            `${ws.blocks.length} files in the context (${ws.tokens} tokens)${ws.excluded > 0 ? `; ${ws.excluded} left out` : ''}`,
          );
          blocks = withReferences(ws.blocks, refs);
          persist = { workspace: folder.fsPath, ...storeOptions(wsSettings, folder.fsPath) };
        }
      }
      const history = chatContext.history.map(historyTurn).filter((t): t is HistoryTurn => t !== null);
      const prompt = participantPrompt(s.systemPrompt, blocks, history, request.prompt);
      const done = await streamAnswer(
        client,
        { ...prompt, maxTokens: s.maxTokens, sampler: s.sampler, ...(persist ? { persist } : {}) },
        (t) => stream.markdown(t),
        token,
      );
      if (done.droppedMessages > 0)
        stream.markdown(
          `\n\n_${done.droppedMessages} earlier message(s) left out to fit the ${done.contextSize}-token context._`,
        );
      return { metadata: { stats: answerStats(done), ...(done.blockTokens ? { blockTokens: done.blockTokens } : {}) } };
    } catch (e) {
      if (token.isCancellationRequested) return { metadata: { cancelled: true } };
      core.log(`@podlens: ${describeError(e)}`);
      return { errorDetails: { message: describeError(e) } };
    } finally {
      sub.dispose();
    }
  };
  const participant = chat.createChatParticipant(PARTICIPANT_ID, handler);
  participant.iconPath = new vscode.ThemeIcon('comment-discussion');
  context.subscriptions.push(participant);
  return participant;
}
