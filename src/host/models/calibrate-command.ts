// PodLens: Calibrate Model — measures the model's inter-layer attention similarity (pod-method.md
// §6, src/engine/calibrate.ts) in the engine worker on texts the user picks (default: a sample of
// the workspace's largest files, src/context/calibration-sample.ts), behind a cancellable progress
// notification; writes the PoD profile JSON to the extension's global storage (a new file each
// time, replacing the previous one there) and sets `podlens.kv.profile` to it (the `auto` cache
// then uses it; `full` or `streaming` are offered a switch to PoD). Cancel writes nothing.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { sampleCalibrationTexts } from '../../context/calibration-sample';
import { decodeText } from '../../context/text';
import { Core } from '../core';
import { describeError } from '../errors';
import { scanFolder } from '../summarize/folder-summary';
import { resolveModelPath, SECTION } from '../settings';
import { PROFILE_SUFFIX } from '../../engine/eval/profile';

/** Texts per calibration (each ≈ one context of tokens: a few seconds of prefill each). */
export const CALIBRATION_TEXTS = 4;
const USE_POD = 'Use PoD Cache';

type Progress = vscode.Progress<{ message?: string; increment?: number }>;

/** Files under the chosen URIs (folders walked with the settings' globs), or null when cancelled. */
async function readSources(
  core: Core,
  uris: readonly vscode.Uri[],
  signal: AbortSignal,
  progress: Progress,
): Promise<{ path: string; text: string }[] | null> {
  const files: { path: string; text: string }[] = [];
  for (const u of uris) {
    if (fs.statSync(u.fsPath, { throwIfNoEntry: false })?.isDirectory()) {
      const w = await scanFolder(core.reader, u.fsPath, signal, progress, core.log);
      if (!w) return null;
      files.push(...w.candidates.map((c) => ({ path: `${path.basename(u.fsPath)}/${c.path}`, text: c.text })));
    } else {
      const d = decodeText(fs.readFileSync(u.fsPath));
      if (d.ok) files.push({ path: path.basename(u.fsPath), text: d.text });
    }
  }
  return files;
}

async function chooseSources(): Promise<vscode.Uri[] | undefined> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const items = [
    {
      label: 'Sample of workspace files',
      description: folder ? '(default) the largest text files' : 'no folder is open',
      id: 'sample' as const,
    },
    { label: 'Choose files or folders…', id: 'choose' as const },
  ];
  const pick = await vscode.window.showQuickPick(items, { title: 'PodLens: calibrate on which texts?' });
  if (!pick) return undefined;
  if (pick.id === 'sample') {
    if (!folder)
      void vscode.window.showInformationMessage('PodLens: open a folder, or choose files or folders to calibrate on.');
    return folder ? [folder] : undefined;
  }
  return vscode.window.showOpenDialog({
    canSelectFiles: true,
    canSelectFolders: true,
    canSelectMany: true,
    defaultUri: folder,
    openLabel: 'Calibrate on these',
    title: 'PodLens: calibration texts',
  });
}

async function calibrateModel(core: Core, storage: vscode.Uri): Promise<void> {
  const s = core.settings();
  const model = resolveModelPath(s, core.extensionUri.fsPath, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
  if (!model || !fs.existsSync(model)) {
    const pick = await vscode.window.showErrorMessage(
      `PodLens: ${model ? `the model file ${model} does not exist` : 'no model is selected'}; calibrate needs one.`,
      'Select Model…',
    );
    if (pick) void vscode.commands.executeCommand('podlens.selectModel');
    return;
  }
  const sources = await chooseSources();
  if (!sources?.length) return;
  const name = path.basename(model);
  const ctx = s.contextSize > 0 ? s.contextSize : undefined;
  // A new name each time, so that setting it always changes podlens.kv.profile (and reloads the model).
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const profiles = path.join(storage.fsPath, 'profiles');
  const out = path.join(profiles, `${name.replace(/\.gguf$/i, '')}-ctx${ctx ?? 'default'}-${stamp}${PROFILE_SUFFIX}`);
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `PodLens: calibrating ${name}`, cancellable: true },
    async (progress, token) => {
      const ac = new AbortController();
      const sub = token.onCancellationRequested(() => ac.abort());
      try {
        const files = await readSources(core, sources, ac.signal, progress);
        if (!files) {
          void vscode.window.showInformationMessage('PodLens: calibration cancelled; no profile was written.');
          return;
        }
        const texts = sampleCalibrationTexts(files, { targetChars: (ctx ?? 4096) * 4, maxTexts: CALIBRATION_TEXTS });
        if (texts.length === 0) {
          void vscode.window.showErrorMessage('PodLens: no text files to calibrate on.');
          return;
        }
        progress.report({
          message: `${texts.length} texts from ${files.length} files; loading the model with a full f32 cache…`,
        });
        const job = core.client.calibrate(
          { model, texts, out, contextSize: ctx, threads: s.threads > 0 ? s.threads : undefined },
          (message) => progress.report({ message }),
        );
        const stop = (): void => job.abort();
        ac.signal.addEventListener('abort', stop);
        let r;
        try {
          r = await job.done;
        } catch (e) {
          if (ac.signal.aborted) {
            void vscode.window.showInformationMessage('PodLens: calibration cancelled; no profile was written.');
            return;
          }
          throw e;
        } finally {
          ac.signal.removeEventListener('abort', stop);
        }
        const config = vscode.workspace.getConfiguration(SECTION);
        const previous = config.get<string>('kv.profile') ?? '';
        await config.update('kv.profile', r.out, vscode.ConfigurationTarget.Global);
        // The profile this one replaces goes, if it was ours (never a file the user pointed to elsewhere).
        if (previous && previous !== r.out && path.dirname(previous) === profiles) fs.rmSync(previous, { force: true });
        core.log(`calibrated ${model} on ${r.texts.length} texts in ${r.seconds.toFixed(0)} s: ${r.out}`);
        const msg = `PodLens: calibrated ${name} on ${r.texts.length} texts in ${r.seconds.toFixed(0)} s — ${(r.nonAnchorShare * 100).toFixed(0)}% of (layer, KV head) units share an anchor. Profile saved and set as podlens.kv.profile.`;
        const pod = s.kv.kind === 'pod' || s.kv.kind === 'auto';
        const text =
          s.kv.kind === 'pod'
            ? msg
            : s.kv.kind === 'auto'
              ? `${msg} The KV cache is "auto": the model loads with PoD and this profile on next use.`
              : `${msg} The KV cache is "${s.kv.kind}": the profile applies to the PoD cache.`;
        const pick = await vscode.window.showInformationMessage(text, ...(pod ? [] : [USE_POD]));
        if (pick === USE_POD) await config.update('kv.cache', 'pod', vscode.ConfigurationTarget.Global);
      } catch (e) {
        void vscode.window.showErrorMessage(`PodLens: calibration failed: ${describeError(e)}`);
      } finally {
        sub.dispose();
      }
    },
  );
}

export function registerCalibrate(context: vscode.ExtensionContext, core: Core): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('podlens.calibrateModel', () => calibrateModel(core, context.globalStorageUri)),
  );
}
