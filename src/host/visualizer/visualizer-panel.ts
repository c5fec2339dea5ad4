// The cache visualizer feature: a singleton panel drawing the host's CacheState (the latest KV
// snapshot from the worker, throttled while generating) and the model status, plus the Open
// Cache Visualizer command. Hidden webviews get no messages; on `ready` (first open or after
// being hidden) the panel gets the current state replayed. The calibration profile (its similarity
// heatmap) — the one the KV cache uses (podlens.kv.profile, or with `auto` a profile shipped next
// to the model), else the one podlens.kv.profile names — is read when the panel is ready and
// whenever the kv settings change (Calibrate Model sets it). The webview sends no requests.
import * as vscode from 'vscode';
import { Core } from '../core';
import { WebviewPanelHost } from '../webview/panel';
import { readProfileView } from './profile-view';
import { expandHome, SECTION } from '../settings';

export interface VisualizerFeature {
  show(): WebviewPanelHost;
  readonly panel: WebviewPanelHost | null;
}

export const VISUALIZER_VIEW_TYPE = 'podlens.visualizer';

export function registerVisualizer(context: vscode.ExtensionContext, core: Core): VisualizerFeature {
  let panel: WebviewPanelHost | null = null;
  const profile = (): ReturnType<typeof readProfileView> => {
    const used = core.model.cacheChoice()?.kv;
    const inUse = used?.kind === 'pod' ? used.profile : undefined;
    const file = vscode.workspace.getConfiguration(SECTION).get<string>('kv.profile')?.trim() ?? '';
    const shown = inUse ?? expandHome(file);
    return readProfileView(shown, inUse !== undefined);
  };

  const show = (): WebviewPanelHost => {
    if (panel) {
      panel.reveal();
      return panel;
    }
    const p = new WebviewPanelHost(
      core.extensionUri,
      {
        viewType: VISUALIZER_VIEW_TYPE,
        title: 'PodLens Cache',
        view: 'visualizer',
        script: 'visualizer.js',
        styles: ['webview.css', 'visualizer.css'],
      },
      {},
      (line) => core.log(line),
      () => {
        p.channel.post('model/status', core.model.status);
        const c = core.cache.current;
        p.channel.post('cache/view', { view: c.view, updatedAt: c.updatedAt });
        p.channel.post('cache/profile', profile());
      },
    );
    const subs = [
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(`${SECTION}.kv`)) p.channel.post('cache/profile', profile());
      }),
      core.model.onDidChangeStatus((s) => p.channel.post('model/status', s)),
      core.cache.onChange((c) => p.channel.post('cache/view', { view: c.view, updatedAt: c.updatedAt })),
    ];
    p.onDidDispose(() => {
      for (const s of subs) s.dispose();
      if (panel === p) panel = null;
    });
    panel = p;
    return p;
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('podlens.openVisualizer', () => {
      show();
    }),
    { dispose: () => panel?.dispose() },
  );
  return {
    show,
    get panel() {
      return panel;
    },
  };
}
