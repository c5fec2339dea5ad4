// The chat feature: the singleton chat panel, the host-owned ChatSession it draws, and the Open
// Chat / Stop Generation commands. On `ready` the panel gets the model status, the whole
// transcript (so a panel that was hidden, closed or reloaded — or a window that was reloaded:
// the transcript is kept in workspace state — shows the same conversation) and the context chips
// with the token meter; afterwards it gets the session's events live. Requests from the webview:
// chat/send (with abort), chat/stop, chat/clear (New chat), chat/regenerate, chat/chip, and the
// code-block buttons code/copy, code/insert, code/open (code-actions.ts), and link/open for a link
// clicked in an answer (links.ts: https, http and mailto only, through vscode.env.openExternal).
// The chat's workspace prefix is persisted in the cache folder of the workspace settings
// (src/context/session.ts over store.ts), the store Clear Workspace Cache empties (cache-commands.ts).
import * as vscode from 'vscode';
import { EventMap, Topic } from '../../shared/protocol';
import { ChatHistoryStore } from './chat-history';
import { ChatPrompt } from './chat-prompt';
import { ChatSession } from './chat-session';
import { copyCode, insertCode, openCode } from './code-actions';
import { Core } from '../core';
import { EditorTracker, workspaceRoot } from './editor-tracker';
import { openLink } from './links';
import { WebviewPanelHost } from '../webview/panel';
import { SECTION } from '../settings';
import { readWorkspaceSettings, storeOptions, walkFilter } from '../workspace/workspace-settings';

export interface ChatFeature {
  readonly session: ChatSession;
  /** The context chips and token meter. */
  readonly prompt: ChatPrompt;
  /** Open the chat panel, or bring it to the front. */
  show(): WebviewPanelHost;
  /** The open panel, if any (tests and the summarize commands). */
  readonly panel: WebviewPanelHost | null;
}

export const CHAT_VIEW_TYPE = 'podlens.chat';

export function registerChat(context: vscode.ExtensionContext, core: Core): ChatFeature {
  let panel: WebviewPanelHost | null = null;
  const emit = <T extends Topic>(topic: T, data: EventMap[T]): void => {
    panel?.channel.post(topic, data);
  };
  const editors = new EditorTracker();
  const prompt = new ChatPrompt({
    root: workspaceRoot,
    editor: () => editors.info(),
    settings: core.settings,
    emit: (v) => emit('chat/context', v),
    filter: () => walkFilter(readWorkspaceSettings(vscode.workspace.getConfiguration(SECTION))),
    // The workspace is read and tokenized in the reader thread; each read's summary goes to the output channel.
    reader: core.reader,
    log: core.log,
  });
  // Recount the chips between answers (never while generating: the worker runs one job at a time).
  let refreshing = false,
    again = false;
  const refresh = (): void => {
    if (!panel?.channel.isReady || session.busy) return;
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    void prompt
      .refresh(core.client.info ? core.client : null, session.history())
      .catch((e: unknown) => core.log(`chat context: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        refreshing = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  };

  const session: ChatSession = new ChatSession({
    engine: () => core.model.ensureLoaded(),
    loadedEngine: () => (core.client.info ? core.client : null),
    settings: core.settings,
    emit,
    onActivity: (active, stats) => {
      core.model.setGenerating(active, stats);
      void vscode.commands.executeCommand('setContext', 'podlens.generating', active);
      if (!active) setTimeout(refresh, 0);
    },
    prompt,
    store: new ChatHistoryStore(context.workspaceState, core.log),
    // The workspace prefix's KV state goes to podlens.cache.directory (Clear Workspace Cache
    // empties it): only when the workspace chip puts the workspace in the prompt.
    persist: () => {
      const root = workspaceRoot();
      if (root === undefined || !prompt.enabled.workspace) return undefined;
      return {
        workspace: root,
        ...storeOptions(readWorkspaceSettings(vscode.workspace.getConfiguration(SECTION)), root),
      };
    },
  });

  let watching = false;
  const show = (): WebviewPanelHost => {
    if (panel) {
      panel.reveal();
      return panel;
    }
    if (!watching) {
      // Files created, changed or deleted on disk (saves, git checkouts): read the workspace again.
      watching = true;
      const w = vscode.workspace.createFileSystemWatcher('**/*');
      const stale = (): void => {
        prompt.invalidate();
      };
      context.subscriptions.push(w, w.onDidCreate(stale), w.onDidChange(stale), w.onDidDelete(stale));
    }
    const p = new WebviewPanelHost(
      core.extensionUri,
      {
        viewType: CHAT_VIEW_TYPE,
        title: 'PodLens Chat',
        view: 'chat',
        script: 'chat.js',
        styles: ['webview.css', 'chat.css'],
      },
      {
        'chat/send': (params, signal) => session.ask(params.text, signal),
        'chat/stop': async () => ({ stopped: session.stop() }),
        'chat/clear': async () => {
          await session.clear();
          refresh();
          return {};
        },
        'chat/regenerate': (_params, signal) => session.regenerate(signal),
        'chat/chip': async ({ kind, enabled }) => {
          prompt.enabled[kind] = enabled;
          // While an answer runs the worker is busy: show the change now, counted after the answer.
          if (session.busy)
            emit('chat/context', {
              ...prompt.view,
              chips: prompt.view.chips.map((c) => (c.kind === kind ? { ...c, enabled, tokens: undefined } : c)),
            });
          else refresh();
          return {};
        },
        'code/copy': copyCode,
        'code/insert': (params) => insertCode(params, editors),
        'code/open': openCode,
        'link/open': ({ href }) => openLink(href, (line) => core.log(`chat: ${line}`)),
      },
      (line) => core.log(line),
      () => {
        p.channel.post('model/status', core.model.status);
        p.channel.post('chat/transcript', { turns: [...session.turns] });
        p.channel.post('chat/context', prompt.view);
        if (core.client.info) refresh(); // recount with the loaded model (files may have changed)
      },
    );
    const statusSub = core.model.onDidChangeStatus((s) => p.channel.post('model/status', s));
    p.onDidDispose(() => {
      statusSub.dispose();
      if (panel === p) panel = null;
    });
    panel = p;
    return p;
  };

  context.subscriptions.push(
    editors,
    editors.onDidChange(refresh),
    vscode.commands.registerCommand('podlens.openChat', () => {
      show();
    }),
    vscode.commands.registerCommand('podlens.stopGeneration', () => {
      if (!session.stop()) void vscode.window.showInformationMessage('PodLens: nothing is generating.');
    }),
    { dispose: () => panel?.dispose() },
  );
  return {
    session,
    prompt,
    show,
    get panel() {
      return panel;
    },
  };
}
