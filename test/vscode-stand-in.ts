// A small, typed stand-in for the `vscode` module, for unit tests of src/host in plain Node
// (docs "Fallback plan" 1). `installVscodeStandIn()` hooks Module._resolveFilename so that
// `require('vscode')` anywhere resolves to this file. Only what PodLens uses is here, typed
// against @types/vscode where the shape matters (Webview, WebviewPanel, StatusBarItem); the
// `standIn` object lets a test see what the extension did (commands, messages, panels, posted
// webview messages) and answer dialogs. Not a VS Code emulator: no layout, no real webviews.
import Module from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as vscode from 'vscode';

// ---- basic types -------------------------------------------------------------------------------

export class Disposable implements vscode.Disposable {
  constructor(private readonly f: () => void) {}
  static from(...ds: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => {
      for (const d of ds) d.dispose();
    });
  }
  dispose(): void {
    this.f();
  }
}

export class EventEmitter<T> implements vscode.EventEmitter<T> {
  private readonly listeners = new Set<(e: T) => unknown>();
  readonly event: vscode.Event<T> = (listener, thisArgs?, disposables?) => {
    const l = (e: T): unknown => listener.call(thisArgs, e);
    this.listeners.add(l);
    const d = new Disposable(() => this.listeners.delete(l));
    disposables?.push(d);
    return d;
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
    private readonly text?: string,
  ) {}
  static file(p: string): Uri {
    return new Uri('file', path.resolve(p));
  }
  static untitled(name: string): Uri {
    return new Uri('untitled', name);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, path.posix.join(base.path, ...parts));
  }
  /** Scheme and the rest, as given (like VS Code's, strict: a string without a scheme throws). */
  static parse(value: string, strict = false): Uri {
    const m = /^([a-zA-Z][\w+.-]*):(.*)$/s.exec(value);
    if (!m) {
      if (strict) throw new Error(`[UriError]: Scheme is missing: {scheme: "", path: "${value}"}`);
      return new Uri('file', value, value);
    }
    return new Uri(m[1]!.toLowerCase(), m[2]!, value);
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return this.text ?? `${this.scheme}://${this.path}`;
  }
}

export enum ViewColumn {
  Active = -1,
  Beside = -2,
  One = 1,
  Two = 2,
}
export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}
export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}
export enum ConfigurationTarget {
  Global = 1,
  Workspace = 2,
  WorkspaceFolder = 3,
}
export enum QuickPickItemKind {
  Separator = -1,
  Default = 0,
}

// ---- webviews ----------------------------------------------------------------------------------

export const CSP_SOURCE = 'https://stand-in.vscode-resource.test';

export class StandInWebview implements vscode.Webview {
  options: vscode.WebviewOptions;
  html = '';
  readonly cspSource = CSP_SOURCE;
  /** Everything the host posted, JSON round-tripped like the real channel. */
  readonly posted: unknown[] = [];
  private readonly received = new EventEmitter<unknown>();
  readonly onDidReceiveMessage = this.received.event;
  constructor(options: vscode.WebviewOptions) {
    this.options = options;
  }
  postMessage(message: unknown): Thenable<boolean> {
    this.posted.push(JSON.parse(JSON.stringify(message)));
    return Promise.resolve(true);
  }
  asWebviewUri(uri: vscode.Uri): vscode.Uri {
    return Uri.joinPath(Uri.file('/'), 'webview-resource', uri.path) as unknown as vscode.Uri;
  }
  /** Simulate the webview posting to the host. */
  send(message: unknown): void {
    this.received.fire(message);
  }
}

function resolveColumn(c: vscode.ViewColumn | undefined, from: vscode.ViewColumn): vscode.ViewColumn {
  if (c === ViewColumn.Beside) return from === ViewColumn.One ? ViewColumn.Two : ViewColumn.One;
  if (c === ViewColumn.Active || c === undefined) return ViewColumn.One;
  return c;
}

export class StandInPanel implements vscode.WebviewPanel {
  readonly webview: StandInWebview;
  iconPath = undefined;
  active = true;
  visible = true;
  disposed = false;
  revealed = 0;
  /** The column of each reveal() (undefined: where it is). */
  readonly revealedTo: (vscode.ViewColumn | undefined)[] = [];
  /** Where it is: Active (an empty window) and Beside resolve to the first and second group. */
  viewColumn: vscode.ViewColumn | undefined;
  private readonly viewState = new EventEmitter<vscode.WebviewPanelOnDidChangeViewStateEvent>();
  private readonly disposeEmitter = new EventEmitter<void>();
  readonly onDidChangeViewState = this.viewState.event;
  readonly onDidDispose = this.disposeEmitter.event;
  constructor(
    readonly viewType: string,
    public title: string,
    /** The column createWebviewPanel was given. */
    readonly requestedColumn: vscode.ViewColumn | undefined,
    readonly options: vscode.WebviewPanelOptions & vscode.WebviewOptions,
  ) {
    this.webview = new StandInWebview(options);
    this.viewColumn = resolveColumn(requestedColumn, ViewColumn.One);
  }
  reveal(column?: vscode.ViewColumn): void {
    this.revealed++;
    this.revealedTo.push(column);
    if (column !== undefined) this.viewColumn = resolveColumn(column, this.viewColumn ?? ViewColumn.One);
    this.setVisible(true);
  }
  setVisible(v: boolean): void {
    this.visible = v;
    this.active = v;
    this.viewState.fire({ webviewPanel: this });
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeEmitter.fire();
  }
}

// ---- status bar, output ------------------------------------------------------------------------

export class StandInStatusBarItem implements vscode.StatusBarItem {
  name: string | undefined;
  text = '';
  tooltip: string | vscode.MarkdownString | undefined;
  color = undefined;
  backgroundColor = undefined;
  command: string | vscode.Command | undefined;
  accessibilityInformation = undefined;
  shown = false;
  constructor(
    readonly id: string,
    readonly alignment: vscode.StatusBarAlignment,
    readonly priority: number | undefined,
  ) {}
  show(): void {
    this.shown = true;
  }
  hide(): void {
    this.shown = false;
  }
  dispose(): void {
    this.shown = false;
  }
}

// ---- editors, documents, memento -------------------------------------------------------------

export interface Pos {
  line: number;
  character: number;
}
const offsetOf = (text: string, p: Pos): number => {
  const lines = text.split('\n');
  let o = 0;
  for (let i = 0; i < p.line && i < lines.length; i++) o += lines[i]!.length + 1;
  return o + p.character;
};

/** A text document: its text, a URI, getText(range). */
export class StandInDocument {
  isClosed = false;
  constructor(
    readonly uri: Uri,
    public text: string,
    readonly languageId = 'plaintext',
  ) {}
  getText(r?: { start: Pos; end: Pos }): string {
    return r ? this.text.slice(offsetOf(this.text, r.start), offsetOf(this.text, r.end)) : this.text;
  }
}

/** A selection from (line, character) to (line, character); 0-based like VS Code's. */
export class StandInSelection {
  constructor(
    readonly start: Pos,
    readonly end: Pos,
  ) {}
  get isEmpty(): boolean {
    return this.start.line === this.end.line && this.start.character === this.end.character;
  }
}

/** A text editor whose edit() replaces ranges in its document's text. */
export class StandInEditor {
  viewColumn = ViewColumn.One;
  constructor(
    readonly document: StandInDocument,
    public selection = new StandInSelection({ line: 0, character: 0 }, { line: 0, character: 0 }),
  ) {}
  get selections(): StandInSelection[] {
    return [this.selection];
  }
  edit(cb: (b: { replace(r: StandInSelection, text: string): void }) => void): Thenable<boolean> {
    const edits: [number, number, string][] = [];
    cb({
      replace: (r, text) =>
        edits.push([offsetOf(this.document.text, r.start), offsetOf(this.document.text, r.end), text]),
    });
    for (const [a, b, t] of edits.sort((x, y) => y[0] - x[0]))
      this.document.text = this.document.text.slice(0, a) + t + this.document.text.slice(b);
    return Promise.resolve(true);
  }
}

/** vscode.Memento over a Map (workspaceState). */
export class StandInMemento {
  readonly map = new Map<string, unknown>();
  keys(): readonly string[] {
    return [...this.map.keys()];
  }
  get<T>(key: string, def?: T): T | undefined {
    return this.map.has(key) ? (JSON.parse(JSON.stringify(this.map.get(key))) as T) : def;
  }
  update(key: string, value: unknown): Thenable<void> {
    if (value === undefined) this.map.delete(key);
    else this.map.set(key, value);
    return Promise.resolve();
  }
}

// ---- what the test sees and controls -----------------------------------------------------------

interface ShownMessage {
  level: 'info' | 'warning' | 'error';
  text: string;
  items: string[];
}
type Handler = (...args: unknown[]) => unknown;

export const standIn = {
  commands: new Map<string, Handler>(),
  contextKeys: new Map<string, unknown>(),
  messages: [] as ShownMessage[],
  /** Answer the next message with these items (FIFO); unanswered messages resolve undefined. */
  messageAnswers: [] as (string | undefined)[],
  openDialogAnswer: undefined as Uri[] | undefined,
  /** Quick picks shown (items once resolved) and how to answer them (undefined: dismissed). */
  quickPicks: [] as { title?: string; placeHolder?: string; items: vscode.QuickPickItem[] }[],
  quickPickAnswer: undefined as ((items: vscode.QuickPickItem[]) => vscode.QuickPickItem | undefined) | undefined,
  /** Progress reports of every withProgress task; fire progressCancel to press its Cancel button. */
  progressReports: [] as { message?: string; increment?: number }[],
  progressCancel: new EventEmitter<void>(),
  progress: [] as string[],
  panels: [] as StandInPanel[],
  statusBarItems: [] as StandInStatusBarItem[],
  log: [] as string[],
  config: new Map<string, unknown>(),
  configChanged: new EventEmitter<vscode.ConfigurationChangeEvent>(),
  activeTextEditor: undefined as unknown,
  workspaceFolder: undefined as Uri | undefined,
  visibleTextEditors: [] as unknown[],
  clipboard: '',
  /** URIs handed to env.openExternal, and what it answers (false: the user declined the trusted-domain prompt). */
  opened: [] as string[],
  openExternalAnswer: true,
  /** Documents shown with showTextDocument (untitled ones from openTextDocument included). */
  shown: [] as { document: unknown; options?: unknown }[],
  languages: [
    'plaintext',
    'javascript',
    'typescript',
    'python',
    'shellscript',
    'json',
    'markdown',
    'cpp',
    'rust',
    'go',
  ],
  activeEditorChanged: new EventEmitter<unknown>(),
  selectionChanged: new EventEmitter<{ textEditor: unknown }>(),
  documentChanged: new EventEmitter<{ document: unknown }>(),
  /** Fire to simulate a file created, changed or deleted on disk (every file system watcher hears it). */
  fileChanged: new EventEmitter<Uri>(),
  reset(): void {
    this.commands.clear();
    this.contextKeys.clear();
    this.messages.length = 0;
    this.messageAnswers.length = 0;
    this.openDialogAnswer = undefined;
    this.progress.length = 0;
    this.panels.length = 0;
    this.statusBarItems.length = 0;
    this.log.length = 0;
    this.config.clear();
    this.activeTextEditor = undefined;
    this.workspaceFolder = undefined;
    this.visibleTextEditors.length = 0;
    this.clipboard = '';
    this.shown.length = 0;
    this.opened.length = 0;
    this.openExternalAnswer = true;
  },
  setConfig(key: string, value: unknown): void {
    if (value === undefined) this.config.delete(key);
    else this.config.set(key, value);
    this.configChanged.fire({ affectsConfiguration: (s: string) => key === s || key.startsWith(`${s}.`) });
  },
};

function show(level: ShownMessage['level']) {
  return (text: string, ...items: unknown[]): Thenable<string | undefined> => {
    const labels = items.filter((i): i is string => typeof i === 'string');
    standIn.messages.push({ level, text, items: labels });
    return Promise.resolve(standIn.messageAnswers.shift());
  };
}

// ---- namespaces ----------------------------------------------------------------------------

export const window = {
  get activeTextEditor(): unknown {
    return standIn.activeTextEditor;
  },
  get visibleTextEditors(): unknown[] {
    return standIn.visibleTextEditors;
  },
  /** The active editor group holds the visible editors and the open panels. */
  tabGroups: {
    get activeTabGroup(): { tabs: unknown[] } {
      return { tabs: [...standIn.visibleTextEditors, ...standIn.panels.filter((p) => !p.disposed)] };
    },
  },
  onDidChangeActiveTextEditor: standIn.activeEditorChanged.event,
  onDidChangeTextEditorSelection: standIn.selectionChanged.event,
  showTextDocument(document: unknown, options?: unknown): Thenable<unknown> {
    standIn.shown.push({ document, options });
    return Promise.resolve(
      standIn.visibleTextEditors.find((e) => (e as StandInEditor).document === document) ??
        new StandInEditor(document as StandInDocument),
    );
  },
  createOutputChannel(name: string) {
    const line =
      (level: string) =>
      (m: string): void => {
        standIn.log.push(`[${level}] ${m}`);
      };
    return {
      name,
      logLevel: 2,
      info: line('info'),
      warn: line('warn'),
      error: line('error'),
      debug: line('debug'),
      trace: line('trace'),
      append: line('append'),
      appendLine: line('line'),
      replace: line('replace'),
      clear: () => undefined,
      show: () => undefined,
      hide: () => undefined,
      dispose: () => undefined,
      onDidChangeLogLevel: new EventEmitter<number>().event,
    };
  },
  createWebviewPanel(
    viewType: string,
    title: string,
    column: { viewColumn: vscode.ViewColumn } | vscode.ViewColumn,
    options: vscode.WebviewPanelOptions & vscode.WebviewOptions,
  ): StandInPanel {
    const p = new StandInPanel(viewType, title, typeof column === 'number' ? column : column.viewColumn, options);
    standIn.panels.push(p);
    return p;
  },
  createStatusBarItem(id: string, alignment: vscode.StatusBarAlignment, priority?: number): StandInStatusBarItem {
    const item = new StandInStatusBarItem(id, alignment, priority);
    standIn.statusBarItems.push(item);
    return item;
  },
  showInformationMessage: show('info'),
  showWarningMessage: show('warning'),
  showErrorMessage: show('error'),
  showOpenDialog: (): Thenable<Uri[] | undefined> => Promise.resolve(standIn.openDialogAnswer),
  async showQuickPick<T extends vscode.QuickPickItem>(
    items: readonly T[] | Thenable<readonly T[]>,
    o?: vscode.QuickPickOptions,
  ): Promise<T | undefined> {
    const all = [...(await items)];
    standIn.quickPicks.push({ title: o?.title, placeHolder: o?.placeHolder, items: all });
    return standIn.quickPickAnswer?.(all) as T | undefined;
  },
  withProgress<R>(
    o: { title?: string },
    task: (
      p: { report(v: { message?: string; increment?: number }): void },
      t: vscode.CancellationToken,
    ) => Thenable<R>,
  ): Thenable<R> {
    standIn.progress.push(o.title ?? '');
    let cancelled = false;
    const token = {
      get isCancellationRequested() {
        return cancelled;
      },
      onCancellationRequested: (l: () => void) =>
        standIn.progressCancel.event(() => {
          cancelled = true;
          l();
        }),
    };
    return task(
      {
        report: (v) => {
          standIn.progressReports.push(v);
        },
      },
      token as unknown as vscode.CancellationToken,
    );
  },
};

export const workspace = {
  getConfiguration(section: string) {
    return {
      get: <T>(key: string): T | undefined => standIn.config.get(`${section}.${key}`) as T | undefined,
      update: (key: string, value: unknown): Thenable<void> => {
        standIn.setConfig(`${section}.${key}`, value);
        return Promise.resolve();
      },
    };
  },
  onDidChangeConfiguration: standIn.configChanged.event,
  get workspaceFolders(): { uri: Uri; name: string; index: number }[] | undefined {
    return standIn.workspaceFolder ? [{ uri: standIn.workspaceFolder, name: 'ws', index: 0 }] : undefined;
  },
  asRelativePath(p: Uri | string): string {
    const f = typeof p === 'string' ? p : p.fsPath;
    const root = standIn.workspaceFolder?.fsPath;
    return root && f.startsWith(`${root}/`) ? f.slice(root.length + 1) : f;
  },
  textDocuments: [] as unknown[],
  onDidChangeTextDocument: standIn.documentChanged.event,
  createFileSystemWatcher: () => ({
    onDidCreate: standIn.fileChanged.event,
    onDidChange: standIn.fileChanged.event,
    onDidDelete: standIn.fileChanged.event,
    dispose: () => undefined,
  }),
  openTextDocument(o: { content?: string; language?: string }): Thenable<StandInDocument> {
    return Promise.resolve(
      new StandInDocument(Uri.untitled(`Untitled-${standIn.shown.length + 1}`), o.content ?? '', o.language),
    );
  },
  fs: { readFile: (u: Uri): Thenable<Uint8Array> => fs.promises.readFile(u.fsPath) },
};

export const env = {
  clipboard: {
    writeText: (t: string): Thenable<void> => {
      standIn.clipboard = t;
      return Promise.resolve();
    },
    readText: (): Thenable<string> => Promise.resolve(standIn.clipboard),
  },
  openExternal: (target: Uri): Thenable<boolean> => {
    standIn.opened.push(target.toString());
    return Promise.resolve(standIn.openExternalAnswer);
  },
};

export const languages = { getLanguages: (): Thenable<string[]> => Promise.resolve([...standIn.languages]) };

export const commands = {
  registerCommand(id: string, f: Handler): Disposable {
    if (standIn.commands.has(id)) throw new Error(`command '${id}' already exists`);
    standIn.commands.set(id, f);
    return new Disposable(() => standIn.commands.delete(id));
  },
  executeCommand(id: string, ...args: unknown[]): Thenable<unknown> {
    if (id === 'setContext') {
      standIn.contextKeys.set(String(args[0]), args[1]);
      return Promise.resolve(undefined);
    }
    const f = standIn.commands.get(id);
    if (!f) return Promise.reject(new Error(`command '${id}' not found`));
    return Promise.resolve(f(...args));
  },
};

/** Make `require('vscode')` resolve to this module (idempotent). */
export function installVscodeStandIn(): void {
  const M = Module as unknown as {
    _resolveFilename(request: string, ...rest: unknown[]): string;
    __podlensHooked?: boolean;
  };
  if (M.__podlensHooked) return;
  // The chat persists KV states in the default cache folder unless podlens.cache.directory says
  // otherwise: host tests keep theirs in a temp folder, never in ~/.cache/podlens.
  process.env.PODLENS_CACHE ??= fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-cache-'));
  const original = M._resolveFilename.bind(M);
  M._resolveFilename = (request: string, ...rest: unknown[]) =>
    request === 'vscode' ? __filename : original(request, ...rest);
  M.__podlensHooked = true;
}

// Chat participants and language-model providers (test/vscode-stand-in-chat.ts).
export {
  CancellationTokenSource,
  chat,
  LanguageModelChatMessageRole,
  LanguageModelTextPart,
  lm,
  ThemeIcon,
} from './vscode-stand-in-chat';
