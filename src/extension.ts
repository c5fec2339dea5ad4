// Composition root of the VS Code extension: create the shared core (cheap — no worker, no model)
// and register each feature. Everything heavy happens on first use: the engine worker starts and
// the model loads when a command or the chat first needs it.
import * as vscode from 'vscode';
import { registerChat } from './host/chat/chat-panel';
import { createCore } from './host/core';
import { registerModel } from './host/models/model-commands';
import { registerNativeChat } from './host/chat/native-chat';
import { registerSummarize } from './host/summarize/summarize-commands';
import { registerVisualizer } from './host/visualizer/visualizer-panel';
import { registerFolderSummary } from './host/summarize/folder-summary';
import { registerCalibrate } from './host/models/calibrate-command';
import { registerCacheCommands } from './host/workspace/cache-commands';

/** What activate() returns (the extension's exports): handles for integration tests. */
export interface PodLensApi {
  readonly core: ReturnType<typeof createCore>;
  readonly chat: ReturnType<typeof registerChat>;
  readonly visualizer: ReturnType<typeof registerVisualizer>;
  readonly statusBar: ReturnType<typeof registerModel>;
  /** VS Code's own chat: the @podlens participant and the language-model provider (null where unsupported). */
  readonly native: ReturnType<typeof registerNativeChat>;
}

export function activate(context: vscode.ExtensionContext): PodLensApi {
  const core = createCore(context);
  const statusBar = registerModel(context, core);
  const chat = registerChat(context, core);
  const visualizer = registerVisualizer(context, core);
  registerSummarize(context, core, chat);
  registerFolderSummary(context, core, chat);
  registerCalibrate(context, core);
  registerCacheCommands(context, core);
  const native = registerNativeChat(context, core);
  return { core, chat, visualizer, statusBar, native };
}

export function deactivate(): void {
  // Everything is in context.subscriptions (the engine worker is terminated there).
}
