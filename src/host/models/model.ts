// Model lifecycle in VS Code terms: which GGUF file (settings → the development model next to the
// extension → ask with Select Model…: files found on this machine, Browse…, or Download Recommended
// Model), loading it on first use behind a progress notification,
// reporting failures and worker crashes with what to do, and the model status every view shows
// (none / loading / ready / generating / error, last tok/s, how the KV cache and the context size
// were chosen: kv-choice.ts). The engine itself runs in the worker behind EngineClient; nothing
// here loads anything at activation.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { AnswerStats, ModelStatus } from '../../shared/protocol';
import { ModelInfo } from '../../worker/protocol';
import { Disposable } from '../disposable';
import { EngineClient } from '../engine-client';
import { describeError } from '../errors';
import { chooseKV, KVChoice, loadChoice, profileRefused } from './kv-choice';
import { discoverModels } from './model-discovery';
import { pickModel } from './model-picker';
import { ReaderClient } from '../workspace/reader-client';
import { engineOptions, RELOAD_KEYS, resolveDownloadDir, resolveModelPath, SECTION, Settings } from '../settings';

export const SELECT_MODEL = 'Select Model…';

export class ModelManager extends Disposable {
  private state: ModelStatus = { state: 'none' };
  private readonly emitter = this._register(new vscode.EventEmitter<ModelStatus>());
  readonly onDidChangeStatus = this.emitter.event;
  private loading: Promise<EngineClient> | null = null;
  private loadedKey: string | null = null;
  /** The cache the loaded model really has (differs from chooseKV's when an auto-chosen profile was refused). */
  private loadedChoice: KVChoice | null = null;

  constructor(
    private readonly extensionPath: string,
    readonly client: EngineClient,
    /** The current settings (read on every use). */
    readonly settings: () => Settings,
    private readonly log: (line: string) => void,
    /** The extension's globalStorage folder (downloads go to its models/ unless configured). */
    private readonly storagePath: () => string,
    /** Where discovery checks GGUF headers (off the host's thread); default: the shared reader. */
    private readonly reader?: ReaderClient,
  ) {
    super();
    this._register({
      dispose: client.onCrash((e) => {
        this.loadedKey = null;
        this.set({ state: 'error', message: describeError(e) });
        void vscode.window.showErrorMessage(`PodLens: ${describeError(e)}`);
      }),
    });
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (this.loadedKey !== null && RELOAD_KEYS.some((k) => e.affectsConfiguration(`${SECTION}.${k}`))) {
          this.set({ ...this.state, message: 'Settings changed: the model reloads on next use.' });
          this.loadedKey = null;
        }
      }),
    );
  }

  get status(): ModelStatus {
    return this.state;
  }

  private set(s: ModelStatus): void {
    this.state = s;
    this.emitter.fire(s);
  }

  /** Generation started/finished: the status shows it, with the answer's decode speed. */
  setGenerating(active: boolean, stats?: AnswerStats): void {
    if (this.state.state !== 'ready' && this.state.state !== 'generating') return;
    const speed =
      stats && stats.decodeTokensPerSecond > 0 ? stats.decodeTokensPerSecond : this.state.lastTokensPerSecond;
    this.set({
      ...this.state,
      state: active ? 'generating' : 'ready',
      ...(speed !== undefined ? { lastTokensPerSecond: speed } : {}),
    });
  }

  /** The engine with the configured model loaded; loads it (once) with a progress notification. */
  async ensureLoaded(): Promise<EngineClient> {
    const s = this.settings();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    let file = resolveModelPath(s, this.extensionPath, folder);
    if (file === null) {
      const pick = await vscode.window.showInformationMessage('PodLens needs a GGUF model file to run.', SELECT_MODEL);
      if (pick !== SELECT_MODEL || !(await this.selectModel())) {
        throw Object.assign(new Error('no model selected'), { name: 'NoModelError' });
      }
      file = resolveModelPath(this.settings(), this.extensionPath, folder);
      if (file === null) throw Object.assign(new Error('no model selected'), { name: 'NoModelError' });
    }
    const choice = chooseKV(s.kv, file, this.profilesDir);
    const key = JSON.stringify([file, engineOptions(s, choice.kv)]);
    if (this.loadedKey === key && this.client.info) return this.client;
    if (this.loading) return this.loading;
    const name = path.basename(file);
    this.set({ state: 'loading', model: name });
    this.loading = Promise.resolve(
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `PodLens: loading ${name}…` },
        () => this.load(file, s, choice),
      ),
    )
      .then(
        ({ info, used }) => {
          this.loadedKey = key;
          this.loadedChoice = used;
          const c = loadChoice(info, used);
          const MB = (b: number): string => `${Math.round(b / 2 ** 20)} MB`;
          this.log(
            `loaded ${file}: ${info.name} (${info.arch}), ${info.nLayers} layers, context ${c.context}, KV ${info.kv}: ${c.cache}` +
              `${c.estimateBytes !== undefined ? `, estimated memory ${MB(c.estimateBytes)}${c.budgetBytes !== undefined ? ` of a ${MB(c.budgetBytes)} budget` : ''}` : ''}, ${Math.round(info.loadMs)} ms`,
          );
          this.set({
            state: 'ready',
            model: name,
            contextSize: info.contextSize,
            message: `KV cache: ${info.kv}`,
            choice: c,
          });
          return this.client;
        },
        (e: unknown) => {
          const msg = describeError(e);
          this.log(`loading ${file} failed: ${msg}`);
          this.set({ state: 'error', model: name, message: msg });
          void vscode.window.showErrorMessage(`PodLens: ${msg}`, SELECT_MODEL).then((p) => {
            if (p === SELECT_MODEL) void vscode.commands.executeCommand('podlens.selectModel');
          });
          throw e;
        },
      )
      .finally(() => {
        this.loading = null;
      });
    return this.loading;
  }

  /** Load with the chosen cache; a profile `auto` chose that the engine refuses (ProfileError) gives the full cache instead. */
  private async load(file: string, s: Settings, choice: KVChoice): Promise<{ info: ModelInfo; used: KVChoice }> {
    try {
      return { info: await this.client.load(file, engineOptions(s, choice.kv)), used: choice };
    } catch (e) {
      if (!choice.auto || choice.kv.kind !== 'pod' || !(e instanceof Error) || e.name !== 'ProfileError') throw e;
      const used = profileRefused(choice, e.message);
      this.log(`${file}: ${used.reason}`);
      return { info: await this.client.load(file, engineOptions(s, used.kv)), used };
    }
  }

  /**
   * The KV cache the configured model loads with (or was loaded with) and why; null when no model
   * file is configured or found. Reads settings and looks for a profile file; loads nothing.
   */
  cacheChoice(): KVChoice | null {
    const s = this.settings();
    const file = resolveModelPath(s, this.extensionPath, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
    if (file === null) return null;
    const c = chooseKV(s.kv, file, this.profilesDir);
    return this.loadedChoice && this.loadedKey === JSON.stringify([file, engineOptions(s, c.kv)])
      ? this.loadedChoice
      : c;
  }

  /** The PoD profiles the extension ships (models/*.pod-profile.json, packaged in the VSIX). */
  private get profilesDir(): string {
    return path.join(this.extensionPath, 'models');
  }

  /** Where "Download Recommended Model" puts files (and where discovery looks first). */
  get downloadDir(): string {
    return resolveDownloadDir(this.settings(), this.storagePath());
  }

  /** Store `file` as the model in the user settings; it loads on next use. */
  async useModel(file: string): Promise<void> {
    await vscode.workspace.getConfiguration(SECTION).update('model.path', file, vscode.ConfigurationTarget.Global);
    this.loadedKey = null;
    this.set({ state: 'none', model: path.basename(file), message: 'Loads on first use.' });
  }

  /**
   * Select Model…: the files discovery finds, Browse…, or Download Recommended Model (the
   * command); the choice is stored in the user settings. True when a model was chosen.
   */
  async selectModel(): Promise<boolean> {
    const s = this.settings();
    const current = resolveModelPath(s, this.extensionPath, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
    const choice = await pickModel(async () => {
      const reader = this.reader;
      const d = await discoverModels({
        podlensDir: this.downloadDir,
        ...(reader ? { probe: (f: string) => reader.probe(f) } : {}),
      });
      this.log(`model discovery: ${d.models.length} GGUF files${d.truncated ? ' (search stopped at a limit)' : ''}`);
      return d;
    }, current);
    if (choice?.kind === 'download')
      return (await vscode.commands.executeCommand<boolean>('podlens.downloadModel')) === true;
    if (choice?.kind === 'file') {
      await this.useModel(choice.path);
      return true;
    }
    return choice?.kind === 'browse' ? this.browse() : false;
  }

  private async browse(): Promise<boolean> {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      canSelectFiles: true,
      canSelectFolders: false,
      filters: { 'GGUF models': ['gguf'] },
      openLabel: 'Use this model',
      title: 'PodLens: Select Model',
    });
    const uri = picked?.[0];
    if (!uri) return false;
    await this.useModel(uri.fsPath);
    return true;
  }
}
