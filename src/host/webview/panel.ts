// One PodLens webview panel: creates it with scripts enabled and resource roots limited to the
// bundled webview code and media, writes the CSP'd HTML shell, binds the protocol channel, and
// tracks visibility — a hidden panel's webview is torn down by VS Code, so the channel stops
// posting until the rebuilt page says `ready` again, and `onReady` replays the state.
// The chat and visualizer panels own one of these each (singletons, see chat-panel.ts).
import * as vscode from 'vscode';
import { ViewName } from '../../shared/protocol';
import { Disposable } from '../disposable';
import { RequestHandlers, WebviewChannel } from './webview-channel';
import { buildWebviewHtml, makeNonce } from './webview-html';

export interface PanelSpec {
  viewType: string;
  title: string;
  view: ViewName;
  /** Bundle in dist/webview/. */
  script: string;
  /** Stylesheets in media/. */
  styles: string[];
}

export class WebviewPanelHost extends Disposable {
  readonly panel: vscode.WebviewPanel;
  readonly channel: WebviewChannel;
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;

  constructor(
    extensionUri: vscode.Uri,
    spec: PanelSpec,
    handlers: RequestHandlers,
    log: (line: string) => void,
    onReady: () => void,
  ) {
    super();
    const webviewRoot = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    const media = vscode.Uri.joinPath(extensionUri, 'media');
    this.panel = vscode.window.createWebviewPanel(
      spec.viewType,
      spec.title,
      { viewColumn: besideOrHere(), preserveFocus: false },
      {
        enableScripts: true,
        enableCommandUris: false,
        localResourceRoots: [webviewRoot, media],
      },
    );
    this._register(this.panel);
    const w = this.panel.webview;
    w.html = buildWebviewHtml({
      title: spec.title,
      view: spec.view,
      cspSource: w.cspSource,
      nonce: makeNonce(),
      scriptUri: w.asWebviewUri(vscode.Uri.joinPath(webviewRoot, spec.script)).toString(),
      styleUris: spec.styles.map((s) => w.asWebviewUri(vscode.Uri.joinPath(media, s)).toString()),
    });
    this.channel = this._register(new WebviewChannel(w, spec.view, handlers, log, onReady));
    this._register(
      this.panel.onDidChangeViewState(() => {
        if (!this.panel.visible) this.channel.markNotReady();
      }),
    );
    this._register(
      this.panel.onDidDispose(() => {
        this.disposeEmitter.fire();
        this.dispose();
      }),
    );
    this._register(this.disposeEmitter);
  }

  /**
   * Show the panel where it is — or beside the editor the user works in when that editor hides it
   * in the same group (Summarize Selection from a file opened over the chat), so both stay visible.
   */
  reveal(): void {
    const editor = vscode.window.activeTextEditor;
    const covered = !this.panel.visible && editor !== undefined && editor.viewColumn === this.panel.viewColumn;
    this.panel.reveal(covered ? vscode.ViewColumn.Beside : undefined, false);
  }
}

/**
 * Beside what the user is looking at; in the active group itself when it is empty (no editor open
 * yet), so a panel never leaves an empty editor group next to it.
 */
function besideOrHere(): vscode.ViewColumn {
  return vscode.window.tabGroups.activeTabGroup.tabs.length > 0 ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
}
