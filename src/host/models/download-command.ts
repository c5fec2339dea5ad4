// "PodLens: Download Recommended Model": a quick pick of the catalog (when it has more than one
// entry) with each model's download size and estimated RAM at the configured context, the largest
// that fits in free memory first and marked recommended (model-fit.ts), the ones that do not fit
// marked and explained; then the download into the download folder (default: the extension's
// globalStorage/models) behind a cancellable progress notification (bytes, total, rate), then an
// offer to use it. Cancelling keeps the partial file; running the command again resumes it. The
// download itself (https, resume, size/sha256) is download.ts; this is only the VS Code side.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { downloadFile, DownloadError, partialPath } from './download';
import { CatalogModel, MODEL_CATALOG } from './model-catalog';
import { bytesText, fitText, recommendModel } from './model-fit';
import { ModelManager } from './model';

export const USE_MODEL = 'Use This Model';
const MB = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MB`;
const active = new Set<string>();

async function chooseEntry(
  model: ModelManager,
  catalog: readonly CatalogModel[],
  freeBytes: number,
  log: (line: string) => void,
): Promise<CatalogModel | undefined> {
  if (catalog.length <= 1) return catalog[0];
  const s = model.settings();
  const r = recommendModel(catalog, { contextSize: s.contextSize, kv: s.kv, freeBytes });
  log(
    `download: ${bytesText(freeBytes)} free; ${r.fits.map((f) => `${f.model.id} needs ≈${bytesText(f.estimate.totalBytes)} at ${f.contextSize} tokens${f === r.recommended ? ' (recommended)' : f.fits ? '' : ' (does not fit)'}`).join(', ')}`,
  );
  const ordered = r.recommended ? [r.recommended, ...r.fits.filter((f) => f !== r.recommended)] : r.fits;
  const picked = await vscode.window.showQuickPick(
    ordered.map((f) => ({ ...fitText(f, r), entry: f.model })),
    {
      title: 'PodLens: Download Recommended Model',
      placeHolder: r.recommended
        ? `${r.recommended.model.label} is the largest that fits in ${bytesText(freeBytes)} of free memory`
        : `None fits in ${bytesText(freeBytes)} of free memory at this context; close programs or lower podlens.engine.contextSize`,
      matchOnDescription: true,
    },
  );
  return picked?.entry;
}

/**
 * True when a model was downloaded (or found already downloaded) and the user chose to use it.
 * `freeMemory` is os.freemem() (what Engine.load compares with) unless a test gives it.
 */
export async function downloadRecommendedModel(
  model: ModelManager,
  log: (line: string) => void,
  catalog: readonly CatalogModel[] = MODEL_CATALOG,
  freeMemory: () => number = os.freemem,
): Promise<boolean> {
  const entry = await chooseEntry(model, catalog, freeMemory(), log);
  if (!entry) return false;
  const dest = path.join(model.downloadDir, entry.file);
  if (active.has(dest)) {
    void vscode.window.showInformationMessage(`PodLens: ${entry.label} is already downloading.`);
    return false;
  }
  active.add(dest);
  try {
    const r = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `PodLens: downloading ${entry.label}`,
        cancellable: true,
      },
      (progress, token) => {
        const ac = new AbortController();
        token.onCancellationRequested(() => ac.abort());
        let shown = 0;
        return downloadFile(
          { url: entry.url, dest, size: entry.size, sha256: entry.sha256 },
          {
            signal: ac.signal,
            onProgress: (p) => {
              const pct = (p.bytes / p.total) * 100;
              progress.report({
                increment: pct - shown,
                message: `${MB(p.bytes)} of ${MB(p.total)} · ${MB(p.bytesPerSecond)}/s`,
              });
              shown = pct;
            },
          },
        );
      },
    );
    const checked = r.verified === 'sha256' ? 'sha256' : 'size only: the catalog has no sha256 for it';
    log(
      `download ${entry.url} → ${dest}: ${r.alreadyPresent ? 'already present' : `${r.fetched} bytes fetched (resumed from ${r.resumedFrom})`}, verified (${checked})`,
    );
    const pick = await vscode.window.showInformationMessage(
      `PodLens: ${entry.label} is ${r.alreadyPresent ? 'already downloaded' : 'downloaded'} and verified (${checked}).`,
      USE_MODEL,
    );
    if (pick !== USE_MODEL) return false;
    await model.useModel(dest);
    return true;
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') {
      const have = fs.existsSync(partialPath(dest)) ? fs.statSync(partialPath(dest)).size : 0;
      log(`download of ${entry.file} cancelled at ${have} bytes`);
      void vscode.window.showInformationMessage(
        `PodLens: download cancelled (${MB(have)} of ${MB(entry.size)} kept); run "PodLens: Download Recommended Model" again to resume.`,
      );
      return false;
    }
    const msg = e instanceof Error ? e.message : String(e);
    log(`download of ${entry.url} failed: ${msg}`);
    const hint =
      e instanceof DownloadError && e.code === 'disk-full'
        ? ' Free some space or set podlens.model.downloadDirectory.'
        : '';
    void vscode.window.showErrorMessage(`PodLens: downloading ${entry.label} failed: ${msg}.${hint}`);
    return false;
  } finally {
    active.delete(dest);
  }
}
