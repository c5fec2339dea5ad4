// The Summarize Selection and Summarize File commands: take the text from the editor (or the file
// an explorer context menu passed), open the chat so the summary streams where the user can see
// and stop it, and run src/host/summarize/summarize.ts. Refuses clearly when there is nothing to summarize
// or when a generation is already running.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ChatFeature } from '../chat/chat-panel';
import { Core } from '../core';
import { summarize, SummarizeRequest } from './summarize';

function relativeLabel(uri: vscode.Uri): string {
  return vscode.workspace.asRelativePath(uri, false) || path.basename(uri.fsPath);
}

async function run(core: Core, chat: ChatFeature, r: SummarizeRequest): Promise<void> {
  if (chat.session.busy) {
    void vscode.window.showWarningMessage('PodLens is already generating: stop it first ("PodLens: Stop Generation").');
    return;
  }
  chat.show();
  const result = await summarize(chat.session, r, core.settings);
  if (result.status === 'error') {
    const turn = chat.session.turns.find((t) => t.id === result.turnId);
    void vscode.window.showErrorMessage(`PodLens: ${turn?.error ?? 'summarizing failed'}`);
  }
}

export function registerSummarize(context: vscode.ExtensionContext, core: Core, chat: ChatFeature): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('podlens.summarizeSelection', async () => {
      const ed = vscode.window.activeTextEditor;
      const sel = ed?.selection;
      const text = ed && sel && !sel.isEmpty ? ed.document.getText(sel) : '';
      if (!ed || !sel || text.trim().length === 0) {
        void vscode.window.showInformationMessage('PodLens: select some text in an editor first.');
        return;
      }
      const label = relativeLabel(ed.document.uri);
      const a = sel.start.line + 1;
      const b = a + text.split(/(?<=\n)/).length - 1;
      await run(core, chat, { title: `Summarize selection (lines ${a}–${b} of ${label})`, label, text, firstLine: a });
    }),
    vscode.commands.registerCommand('podlens.summarizeFile', async (arg?: unknown) => {
      const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
      if (!uri) {
        void vscode.window.showInformationMessage('PodLens: open a file (or right-click one in the explorer) first.');
        return;
      }
      const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
      const text = open ? open.getText() : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      if (text.trim().length === 0) {
        void vscode.window.showInformationMessage(`PodLens: ${relativeLabel(uri)} is empty.`);
        return;
      }
      const label = relativeLabel(uri);
      await run(core, chat, { title: `Summarize ${label}`, label, text, firstLine: 1 });
    }),
  );
}
