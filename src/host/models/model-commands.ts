// Model management commands and the status bar: Select Model… (a GGUF file found on this
// machine, Browse…, or a download; it loads on the next use), Download Recommended Model, and the
// status bar item that shows the model state and opens the visualizer.
import * as vscode from 'vscode';
import { Core } from '../core';
import { downloadRecommendedModel } from './download-command';
import { StatusBar } from '../status-bar';

export function registerModel(context: vscode.ExtensionContext, core: Core): StatusBar {
  const bar = new StatusBar(core.model, core.cache);
  context.subscriptions.push(
    bar,
    vscode.commands.registerCommand('podlens.selectModel', async () => {
      if (await core.model.selectModel()) {
        void vscode.window.showInformationMessage(
          `PodLens: model set to ${core.model.status.model ?? '?'}; it loads on first use.`,
        );
      }
    }),
    vscode.commands.registerCommand('podlens.downloadModel', () => downloadRecommendedModel(core.model, core.log)),
  );
  return bar;
}
