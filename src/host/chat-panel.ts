// The chat feature: the singleton chat panel, the host-owned ChatSession it draws, and the Open
// Chat / Stop Generation commands. On `ready` the panel gets the model status and the whole
// transcript (so a panel that was hidden, closed or reloaded shows the same conversation);
// afterwards it gets the session's events live. Requests from the webview: chat/send (with
// abort), chat/stop, chat/clear.
import * as vscode from 'vscode';
import { EventMap, Topic } from '../shared/protocol';
import { ChatSession } from './chat-session';
import { Core } from './core';
import { WebviewPanelHost } from './panel';

export interface ChatFeature {
  readonly session: ChatSession;
  /** Open the chat panel, or bring it to the front. */
  show(): WebviewPanelHost;
  /** The open panel, if any (tests and the summarize commands). */
  readonly panel: WebviewPanelHost | null;
}

export const CHAT_VIEW_TYPE = 'podlens.chat';

export function registerChat(context: vscode.ExtensionContext, core: Core): ChatFeature {
  let panel: WebviewPanelHost | null = null;
  const emit = <T extends Topic>(topic: T, data: EventMap[T]): void => { panel?.channel.post(topic, data); };

  const session = new ChatSession({
    engine: () => core.model.ensureLoaded(),
    loadedEngine: () => (core.client.info ? core.client : null),
    settings: core.settings,
    emit,
    onActivity: (active, stats) => {
      core.model.setGenerating(active, stats);
      void vscode.commands.executeCommand('setContext', 'podlens.generating', active);
    },
  });

  const show = (): WebviewPanelHost => {
    if (panel) { panel.reveal(); return panel; }
    const p = new WebviewPanelHost(core.extensionUri, {
      viewType: CHAT_VIEW_TYPE, title: 'PodLens Chat', view: 'chat', script: 'chat.js', styles: ['webview.css', 'chat.css'],
    }, {
      'chat/send': (params, signal) => session.ask(params.text, signal),
      'chat/stop': async () => ({ stopped: session.stop() }),
      'chat/clear': async () => { await session.clear(); return {}; },
    }, (line) => core.log(line), () => {
      p.channel.post('model/status', core.model.status);
      p.channel.post('chat/transcript', { turns: [...session.turns] });
    });
    const statusSub = core.model.onDidChangeStatus((s) => p.channel.post('model/status', s));
    p.onDidDispose(() => { statusSub.dispose(); if (panel === p) panel = null; });
    panel = p;
    return p;
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('podlens.openChat', () => { show(); }),
    vscode.commands.registerCommand('podlens.stopGeneration', () => {
      if (!session.stop()) void vscode.window.showInformationMessage('PodLens: nothing is generating.');
    }),
    { dispose: () => panel?.dispose() },
  );
  return { session, show, get panel() { return panel; } };
}
