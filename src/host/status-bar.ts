// The PodLens status bar item: model state, last decode speed, how much of the context the cache
// holds, and KV bytes saved versus a full cache (once a compressed cache reports it). Clicking it
// opens the cache visualizer. The tooltip also says which KV cache and context size were chosen
// and why (podlens.kv.cache `auto`, podlens.engine.contextSize 0). The text is built by a pure
// function so tests can check it.
import * as vscode from 'vscode';
import { CacheView } from '../shared/cache-view';
import { ModelStatus } from '../shared/protocol';
import { CacheState } from './visualizer/cache-state';
import { Disposable } from './disposable';
import { ModelManager } from './models/model';

export interface StatusBarText {
  text: string;
  tooltip: string;
}

const MB = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MB`;

export function statusBarText(s: ModelStatus, view: CacheView | null): StatusBarText {
  const icon = {
    none: '$(circle-outline)',
    loading: '$(loading~spin)',
    ready: '$(check)',
    generating: '$(pulse)',
    error: '$(error)',
  }[s.state];
  const parts = [`${icon} PodLens`];
  if (s.state === 'loading') parts.push('loading…');
  if (s.lastTokensPerSecond !== undefined && (s.state === 'ready' || s.state === 'generating'))
    parts.push(`${s.lastTokensPerSecond.toFixed(1)} tok/s`);
  const ctx = s.contextSize ?? 0;
  if (view && ctx > 0) parts.push(`ctx ${Math.round((view.tokens / ctx) * 100)}%`);
  if (view && view.savedPercent > 0) parts.push(`KV −${Math.round(view.savedPercent)}%`);
  const tip = [
    `Model: ${s.model ?? 'none'} (${s.state})`,
    ...(s.message ? [s.message] : []),
    ...(s.choice ? [`Cache choice: ${s.choice.cache}`, `Context size: ${s.choice.context}`] : []),
    ...(ctx > 0 ? [`Context: ${view?.tokens ?? 0} / ${ctx} tokens`] : []),
    ...(view ? [`KV cache (${view.kind}): ${MB(view.usedBytes)} used, ${MB(view.allocatedBytes)} allocated`] : []),
    'Click to open the cache visualizer.',
  ];
  return { text: parts.join(' · '), tooltip: tip.join('\n') };
}

export class StatusBar extends Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor(
    private readonly model: ModelManager,
    private readonly cache: CacheState,
  ) {
    super();
    this.item = this._register(
      vscode.window.createStatusBarItem('podlens.status', vscode.StatusBarAlignment.Right, 100),
    );
    this.item.name = 'PodLens';
    this.item.command = 'podlens.openVisualizer';
    this._register(model.onDidChangeStatus(() => this.render()));
    this._register(cache.onChange(() => this.render()));
    this.render();
    this.item.show();
  }

  get text(): string {
    return this.item.text;
  }

  private render(): void {
    const t = statusBarText(this.model.status, this.cache.current.view);
    this.item.text = t.text;
    this.item.tooltip = t.tooltip;
  }
}
