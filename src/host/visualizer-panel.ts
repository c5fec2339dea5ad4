// The cache visualizer feature: a singleton panel drawing the host's CacheState (the latest KV
// snapshot from the worker, throttled while generating) and the model status, plus the Open
// Cache Visualizer command. Hidden webviews get no messages; on `ready` (first open or after
// being hidden) the panel gets the current state replayed. The webview sends no requests.
import * as vscode from 'vscode';
import { Core } from './core';
import { WebviewPanelHost } from './panel';

export interface VisualizerFeature {
  show(): WebviewPanelHost;
  readonly panel: WebviewPanelHost | null;
}

export const VISUALIZER_VIEW_TYPE = 'podlens.visualizer';

export function registerVisualizer(context: vscode.ExtensionContext, core: Core): VisualizerFeature {
  let panel: WebviewPanelHost | null = null;

  const show = (): WebviewPanelHost => {
    if (panel) { panel.reveal(); return panel; }
    const p = new WebviewPanelHost(core.extensionUri, {
      viewType: VISUALIZER_VIEW_TYPE, title: 'PodLens Cache', view: 'visualizer', script: 'visualizer.js', styles: ['webview.css', 'visualizer.css'],
    }, {}, (line) => core.log(line), () => {
      p.channel.post('model/status', core.model.status);
      const c = core.cache.current;
      p.channel.post('cache/view', { view: c.view, updatedAt: c.updatedAt });
    });
    const subs = [
      core.model.onDidChangeStatus((s) => p.channel.post('model/status', s)),
      core.cache.onChange((c) => p.channel.post('cache/view', { view: c.view, updatedAt: c.updatedAt })),
    ];
    p.onDidDispose(() => { for (const s of subs) s.dispose(); if (panel === p) panel = null; });
    panel = p;
    return p;
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('podlens.openVisualizer', () => { show(); }),
    { dispose: () => panel?.dispose() },
  );
  return { show, get panel() { return panel; } };
}
