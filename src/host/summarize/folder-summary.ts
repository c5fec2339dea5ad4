// Summarize Folder (palette, and the explorer's context menu on folders) and Summarize Workspace:
// walk the folder (src/context/walk.ts with the include/exclude settings, bounded, with progress
// and cancel, in the reader worker: off the extension host's thread), then summarize the files with the one map-reduce summarizer in the engine worker
// (src/host/summarize/summarize.ts), all behind one cancellable progress notification. The result goes to a
// new markdown document (default) or the chat (`podlens.summarize.output`). Cancelling while
// summarizing keeps the partial summary and says what it covered; while scanning, stops cleanly.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { progressLabel } from '../../context/read';
import { folderSubject } from '../../context/summary-prompts';
import { Candidate, WalkResult } from '../../context/walk';
import { ChatFeature } from '../chat/chat-panel';
import { Core } from '../core';
import { describeError } from '../errors';
import { ReaderClient, readWith } from '../workspace/reader-client';
import { readLog } from '../workspace/workspace-reads';
import { runSummary, summarizeDocs } from './summarize';
import { exclusionLine, summaryMarkdown } from './summary-markdown';
import { readWorkspaceSettings, walkFilter } from '../workspace/workspace-settings';
import { SECTION } from '../settings';

type Progress = vscode.Progress<{ message?: string; increment?: number }>;

/**
 * Walk a folder with the settings' globs in the reader worker (every text file's content comes
 * back; nothing is tokenized); progress at most every 200 ms; null when cancelled. The read's
 * summary (exclusions per reason, largest excluded) goes to `log`.
 */
export async function scanFolder(
  reader: Pick<ReaderClient, 'read'>,
  root: string,
  signal: AbortSignal,
  progress: Progress,
  log?: (line: string) => void,
): Promise<WalkResult | null> {
  const ws = readWorkspaceSettings(vscode.workspace.getConfiguration(SECTION));
  const f = walkFilter(ws);
  try {
    const out = await readWith(
      reader,
      {
        root,
        keepTexts: 'all',
        progressEveryMs: 200,
        ...(f.include ? { include: [...f.include] } : {}),
        ...(f.ignore !== undefined ? { ignore: f.ignore } : {}),
      },
      signal,
      (p) => progress.report({ message: progressLabel(p, 'reading files') }),
    );
    log?.(readLog(root, out));
    const r = out.result;
    const candidates: Candidate[] = r.files
      .filter((c) => c.text !== undefined)
      .map((c) => ({ path: c.path, text: c.text!, encoding: c.encoding, bytes: c.bytes, mtimeMs: c.mtimeMs }));
    return {
      candidates,
      excluded: r.excluded,
      unlisted: r.unlisted,
      skipped: r.skipped,
      ...(r.stopped ? { stopped: r.stopped } : {}),
    };
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') return null;
    throw e;
  }
}

/** `label`: "src/engine" or "the workspace (ws)"; `subject`: the same for the model ("the folder src/engine"). */
async function summarizeFolder(
  core: Core,
  chat: ChatFeature,
  folder: vscode.Uri,
  label: string,
  subject: string,
): Promise<void> {
  const output = readWorkspaceSettings(vscode.workspace.getConfiguration(SECTION)).summaryOutput;
  if (output === 'chat' && chat.session.busy) {
    void vscode.window.showWarningMessage('PodLens is already generating: stop it first ("PodLens: Stop Generation").');
    return;
  }
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `PodLens: summarizing ${label}`, cancellable: true },
    async (progress, token) => {
      const ac = new AbortController();
      const sub = token.onCancellationRequested(() => ac.abort());
      try {
        const w = await scanFolder(core.reader, folder.fsPath, ac.signal, progress, core.log);
        if (!w) {
          void vscode.window.showInformationMessage(
            `PodLens: summarizing ${label} was cancelled while reading its files.`,
          );
          return;
        }
        if (w.candidates.length === 0) {
          void vscode.window.showInformationMessage(
            `PodLens: ${label} has no text files to summarize. ${exclusionLine({ files: 0, ...w })}`.trim(),
          );
          return;
        }
        const docs = w.candidates.map((c) => ({ path: c.path, text: c.text }));
        const walk = { files: docs.length, excluded: w.excluded, unlisted: w.unlisted, stopped: w.stopped };
        progress.report({ message: `${docs.length} files read; loading the model…` });
        if (output === 'chat') {
          chat.show();
          const r = await summarizeDocs(chat.session, `Summarize ${label}`, docs, core.settings, {
            signal: ac.signal,
            note: exclusionLine(walk),
            subject,
            onProgress: (message) => progress.report({ message }),
          });
          if (r.status === 'stopped')
            void vscode.window.showInformationMessage(
              `PodLens: stopped — the summary of ${label} in the chat covers only part of it (see its note).`,
            );
          if (r.status === 'error')
            void vscode.window.showErrorMessage(
              `PodLens: ${chat.session.turns.find((t) => t.id === r.turnId)?.error ?? 'summarizing failed'}`,
            );
          return;
        }
        const client = await core.model.ensureLoaded();
        core.model.setGenerating(true);
        let r;
        try {
          r = await runSummary(
            client,
            docs,
            core.settings(),
            ac.signal,
            (message) => progress.report({ message }),
            subject,
          );
        } finally {
          core.model.setGenerating(false);
        }
        const doc = await vscode.workspace.openTextDocument({
          language: 'markdown',
          content: summaryMarkdown(label, r, walk),
        });
        await vscode.window.showTextDocument(doc, { preview: false });
        if (r.partsDone < r.parts)
          void vscode.window.showInformationMessage(
            `PodLens: stopped — the summary of ${label} covers only part of it. ${r.note}`,
          );
      } catch (e) {
        void vscode.window.showErrorMessage(`PodLens: summarizing ${label} failed: ${describeError(e)}`);
      } finally {
        sub.dispose();
      }
    },
  );
}

async function pickWorkspaceFolder(): Promise<vscode.WorkspaceFolder | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length <= 1) return folders[0];
  const pick = await vscode.window.showQuickPick(
    folders.map((f) => ({ label: f.name, description: f.uri.fsPath, folder: f })),
    { title: 'PodLens: summarize which workspace folder?' },
  );
  return pick?.folder;
}

export function registerFolderSummary(context: vscode.ExtensionContext, core: Core, chat: ChatFeature): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('podlens.summarizeFolder', async (arg?: unknown) => {
      let uri = arg instanceof vscode.Uri ? arg : undefined;
      if (!uri) {
        const picked = await vscode.window.showOpenDialog({
          canSelectFiles: false,
          canSelectFolders: true,
          canSelectMany: false,
          defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
          openLabel: 'Summarize',
          title: 'PodLens: Summarize Folder',
        });
        uri = picked?.[0];
      }
      if (!uri) return;
      const rel = vscode.workspace.asRelativePath(uri, false) || path.basename(uri.fsPath);
      const label = rel === uri.fsPath ? path.basename(uri.fsPath) : rel;
      await summarizeFolder(core, chat, uri, label, folderSubject(label));
    }),
    vscode.commands.registerCommand('podlens.summarizeWorkspace', async () => {
      const f = await pickWorkspaceFolder();
      if (!f) {
        if (!vscode.workspace.workspaceFolders?.length)
          void vscode.window.showInformationMessage('PodLens: open a folder first (File → Open Folder…).');
        return;
      }
      await summarizeFolder(core, chat, f.uri, `the workspace (${f.name})`, folderSubject(f.name));
    }),
  );
}
