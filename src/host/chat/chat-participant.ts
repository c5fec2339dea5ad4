// The @podlens participant in VS Code's own chat view (chat API of VS Code 1.90): answers with the
// local model through the engine worker, streams markdown as tokens arrive, stops within one
// model step when the request is cancelled, keeps the conversation (history of this
// participant) and its KV cache across turns, and adds context on request: `/workspace` puts
// the workspace files in front (read and counted in the model's tokens by the reader worker, off
// the host's thread, with its progress shown in the response), #file references add those
// files. Feature-detected: a VS Code without `vscode.chat` just gets no participant.
import * as vscode from 'vscode';
import { fileBlock } from '../../context/build';
import { progressLabel } from '../../context/read';
import { answerStats } from './chat-session';
import { Core } from '../core';
import { describeError } from '../errors';
import { HistoryTurn, participantMessages, streamAnswer, workspaceBlock } from './native-chat-core';
import { readWith } from '../workspace/reader-client';

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

/** The text of #file / #selection references (Uri, Location, or plain string values). */
async function referenceBlocks(refs: readonly vscode.ChatPromptReference[]): Promise<string> {
  const out: string[] = [];
  for (const r of refs) {
    const v = r.value as { fsPath?: unknown; uri?: vscode.Uri; range?: vscode.Range } | string;
    if (typeof v === 'string') {
      out.push(`### ${r.id}\n${v}\n\n`);
      continue;
    }
    const uri = v && typeof v.fsPath === 'string' ? (v as unknown as vscode.Uri) : v?.uri;
    if (!uri) continue;
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    const lines = v.range
      ? text
          .split('\n')
          .slice(v.range.start.line, v.range.end.line + 1)
          .join('\n')
      : text;
    out.push(fileBlock(vscode.workspace.asRelativePath(uri), lines));
  }
  return out.join('');
}

export function registerChatParticipant(context: vscode.ExtensionContext, core: Core): vscode.ChatParticipant | null {
  const chat = (vscode as { chat?: Partial<typeof vscode.chat> }).chat;
  if (typeof chat?.createChatParticipant !== 'function') {
    core.log('this VS Code has no chat participant API: @podlens is not available');
    return null;
  }
  const handler: vscode.ChatRequestHandler = async (request, chatContext, stream, token) => {
    const s = core.settings();
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    try {
      if (!core.client.info) stream.progress('Loading the model…');
      const client = await core.model.ensureLoaded();
      const contextSize = client.info?.contextSize ?? 0;
      let extra = await referenceBlocks(request.references);
      if (request.command === 'workspace') {
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        if (!folder) {
          stream.markdown('_No folder is open, so there is no workspace to read; answering without it._\n\n');
        } else {
          stream.progress('Reading the workspace…');
          const room = contextSize - s.maxTokens - Math.ceil((request.prompt.length + extra.length) / 3) - 128;
          const model = client.modelPath;
          // Read and counted in the reader thread (progress every 2 s: each report is a line in the response).
          const read = model
            ? async (budgetTokens: number, signal?: AbortSignal) =>
                (
                  await readWith(
                    core.reader,
                    { root: folder.fsPath, model, budgetTokens, progressEveryMs: 2000 },
                    signal,
                    (p) => stream.progress(progressLabel(p, 'Reading the workspace')),
                  )
                ).result
            : undefined;
          const ws = await workspaceBlock(
            folder.fsPath,
            Math.max(0, Math.floor(room * 0.8)),
            (t) => client.count(t),
            ac.signal,
            read,
          );
          for (const p of ws.paths.slice(0, 20)) stream.reference(vscode.Uri.joinPath(folder, p));
          if (ws.excluded > 0)
            stream.progress(`${ws.files} files fit the context (${ws.tokens} tokens); ${ws.excluded} left out`);
          extra = ws.text + extra;
        }
      }
      const history = chatContext.history.map(historyTurn).filter((t): t is HistoryTurn => t !== null);
      const messages = participantMessages(s.systemPrompt, extra, history, request.prompt);
      const done = await streamAnswer(
        client,
        { messages, maxTokens: s.maxTokens, sampler: s.sampler },
        (t) => stream.markdown(t),
        token,
      );
      if (done.droppedMessages > 0)
        stream.markdown(
          `\n\n_${done.droppedMessages} earlier message(s) left out to fit the ${done.contextSize}-token context._`,
        );
      return { metadata: { stats: answerStats(done) } };
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
