// PodLens: Clear Workspace Cache — deletes the KV states persisted for this workspace's folders
// (every model, plan, checkpoint slot and leftover temp file; src/context/store.ts) from the cache
// folder the settings name, and reports the bytes freed: the states the chat's engine worker saves
// (src/context/store.ts, same folder and file-name key) and the CLI's. Other workspaces'
// states are kept.
import * as vscode from 'vscode';
import { clearWorkspaceStates } from '../../context/store';
import { Core } from '../core';
import { SECTION } from '../settings';
import { readWorkspaceSettings, resolveCacheDir } from './workspace-settings';

const mb = (b: number): string => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MB` : `${(b / 1024).toFixed(1)} KB`);

export function registerCacheCommands(context: vscode.ExtensionContext, core: Core): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('podlens.clearWorkspaceCache', () => {
      const folders = vscode.workspace.workspaceFolders ?? [];
      if (folders.length === 0) {
        void vscode.window.showInformationMessage(
          'PodLens: no folder is open, so there is no workspace cache to clear.',
        );
        return;
      }
      const ws = readWorkspaceSettings(vscode.workspace.getConfiguration(SECTION));
      let files = 0,
        bytes = 0;
      const dirs = new Set<string>();
      for (const f of folders) {
        const dir = resolveCacheDir(ws, f.uri.fsPath);
        dirs.add(dir);
        const r = clearWorkspaceStates(dir, f.uri.fsPath);
        files += r.files;
        bytes += r.bytes;
      }
      const where = [...dirs].join(', ');
      core.log(`cleared ${files} KV state files (${bytes} bytes) of this workspace in ${where}`);
      void vscode.window.showInformationMessage(
        files > 0
          ? `PodLens: cleared this workspace's cache — ${files} file${files === 1 ? '' : 's'}, ${mb(bytes)} freed (${where}).`
          : `PodLens: this workspace has nothing cached (${where}).`,
      );
    }),
  );
}
