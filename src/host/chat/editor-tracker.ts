// The text editor the chat works with. While the chat panel has focus VS Code reports no active
// text editor, so this remembers the last one the user was in (file or untitled documents only:
// not the output panel or other views): its file, buffer text and selection feed the current-file
// and selection chips, and Insert at Cursor writes into it. Fires `onDidChange` (debounced) when
// the editor, its selection or its text changes, so the chips can be recounted.
import * as vscode from 'vscode';
import { EditorInfo } from './chat-context';
import { Disposable } from '../disposable';

const SCHEMES = new Set(['file', 'untitled', 'vscode-remote']);
const DEBOUNCE_MS = 400;

export function workspaceRoot(): string | undefined {
  const f = vscode.workspace.workspaceFolders?.[0];
  return f && f.uri.scheme === 'file' ? f.uri.fsPath : undefined;
}

export class EditorTracker extends Disposable {
  private last: vscode.TextEditor | undefined;
  private readonly emitter = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.emitter.event;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    super();
    const w = vscode.window;
    this.remember(w.activeTextEditor ?? w.visibleTextEditors[0]);
    this._register(
      w.onDidChangeActiveTextEditor((e) => {
        if (this.remember(e)) this.changed();
      }),
    );
    this._register(
      w.onDidChangeTextEditorSelection((e) => {
        if (e.textEditor === this.last) this.changed();
      }),
    );
    this._register(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document === this.last?.document) this.changed();
      }),
    );
    this._register({ dispose: () => clearTimeout(this.timer) });
  }

  private remember(e: vscode.TextEditor | undefined): boolean {
    if (!e || !SCHEMES.has(e.document.uri.scheme)) return false;
    this.last = e;
    return true;
  }

  private changed(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.emitter.fire(), DEBOUNCE_MS);
  }

  /** The editor to insert into: the active one, else the last one used (if still visible). */
  get editor(): vscode.TextEditor | undefined {
    const active = vscode.window.activeTextEditor;
    if (active && SCHEMES.has(active.document.uri.scheme)) return (this.last = active);
    if (this.last && vscode.window.visibleTextEditors.includes(this.last) && !this.last.document.isClosed)
      return this.last;
    return undefined;
  }

  info(): EditorInfo | undefined {
    const e = this.editor;
    if (!e) return undefined;
    const d = e.document;
    const rel = vscode.workspace.asRelativePath(d.uri, false).replace(/\\/g, '/');
    const path = rel.startsWith('/') || /^[a-z]+:/i.test(rel) ? rel.slice(rel.lastIndexOf('/') + 1) : rel;
    const s = e.selection;
    if (!s || s.isEmpty) return { path, text: d.getText() };
    // A selection that ends at column 0 of a line does not include that line.
    const endLine = s.end.character === 0 && s.end.line > s.start.line ? s.end.line : s.end.line + 1;
    return { path, text: d.getText(), selection: { text: d.getText(s), startLine: s.start.line + 1, endLine } };
  }
}
