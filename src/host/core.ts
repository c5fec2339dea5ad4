// The few long-lived objects the features share, created cheaply at activation (no worker, no
// model: the worker thread starts on the first engine call): the log, the typed settings reader,
// the engine client, the reader client (GGUF header checks and workspace reads off the host's
// thread, src/host/workspace/reader-client.ts), the model manager and the cache state fed by the worker's snapshots.
// Each register*() function takes only this; nothing else is global.
import * as vscode from 'vscode';
import { CacheState } from './visualizer/cache-state';
import { EngineClient } from './engine-client';
import { ModelManager } from './models/model';
import { ReaderClient } from './workspace/reader-client';
import { readSettings, SECTION, Settings } from './settings';

export interface Core {
  readonly extensionUri: vscode.Uri;
  log(line: string): void;
  settings(): Settings;
  readonly client: EngineClient;
  /** Workspace reads and GGUF header checks, in their own thread. */
  readonly reader: ReaderClient;
  readonly model: ModelManager;
  readonly cache: CacheState;
}

/** JS heap cap of the engine worker; the weights live in ONNX Runtime's native memory, not here. */
const WORKER_HEAP_MB = 2048;

export function createCore(context: vscode.ExtensionContext): Core {
  const out = vscode.window.createOutputChannel('PodLens', { log: true });
  context.subscriptions.push(out);
  const log = (line: string): void => out.info(line);
  const settings = (): Settings => readSettings(vscode.workspace.getConfiguration(SECTION));
  const client = new EngineClient({
    workerPath: vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath,
    maxHeapMb: WORKER_HEAP_MB,
    log,
  });
  context.subscriptions.push({ dispose: () => void client.dispose() });
  const reader = new ReaderClient({
    workerPath: vscode.Uri.joinPath(context.extensionUri, 'dist', 'reader.js').fsPath,
    log,
  });
  context.subscriptions.push({ dispose: () => void reader.dispose() });
  const model = new ModelManager(
    context.extensionUri.fsPath,
    client,
    settings,
    log,
    () => context.globalStorageUri.fsPath,
    reader,
  );
  context.subscriptions.push(model);
  const cache = new CacheState();
  context.subscriptions.push({ dispose: client.onSnapshot((session, s) => cache.update(session, s)) });
  context.subscriptions.push({ dispose: client.onCrash(() => cache.clear()) });
  // A (re)load starts with empty caches in the worker.
  context.subscriptions.push(
    model.onDidChangeStatus((s) => {
      if (s.state === 'loading') cache.clear();
    }),
  );
  return { extensionUri: context.extensionUri, log, settings, client, reader, model, cache };
}
