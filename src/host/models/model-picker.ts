// The "Select Model…" quick pick: Browse… and Download Recommended Model… first, then the GGUF
// files found on this machine (model-discovery.ts) grouped by where they came from, each with
// size and what the header says ("llama, 30 layers", or why it cannot be loaded). The list fills
// in while discovery runs (the quick pick shows busy meanwhile). Returns what the user chose;
// storing it is ModelManager's job.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { DiscoveredModel, Discovery } from './model-discovery';
import { ModelSource, SOURCE_LABELS } from './model-locations';

export const BROWSE = '$(folder-opened) Browse…';
export const DOWNLOAD = '$(cloud-download) Download Recommended Model…';

export type ModelChoice = { kind: 'file'; path: string } | { kind: 'browse' } | { kind: 'download' };

interface Item extends vscode.QuickPickItem {
  choice?: ModelChoice;
  model?: DiscoveredModel;
}

const size = (b: number): string =>
  b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GB` : `${(b / 2 ** 20).toFixed(1)} MB`;

export function pickerItems(d: Discovery, current: string | null): Item[] {
  const items: Item[] = [
    { label: BROWSE, description: 'pick a .gguf file', choice: { kind: 'browse' }, alwaysShow: true },
    {
      label: DOWNLOAD,
      description: 'from Hugging Face, sha256-checked',
      choice: { kind: 'download' },
      alwaysShow: true,
    },
  ];
  for (const source of Object.keys(SOURCE_LABELS) as ModelSource[]) {
    const group = d.models.filter((m) => m.source === source);
    if (group.length === 0) continue;
    items.push({ label: SOURCE_LABELS[source], kind: vscode.QuickPickItemKind.Separator });
    for (const m of group) {
      const now = current !== null && path.resolve(m.path) === path.resolve(current);
      items.push({
        label: `${m.supported === false ? '$(warning) ' : ''}${m.name}`,
        description: `${size(m.size)} · ${m.note}${now ? ' · current' : ''}`,
        detail: m.path,
        model: m,
        choice: { kind: 'file', path: m.path },
      });
    }
  }
  if (d.truncated)
    items.push({
      label: 'search stopped at its limit: use Browse… for other files',
      kind: vscode.QuickPickItemKind.Separator,
    });
  return items;
}

/** Show the picker; undefined when dismissed or when the chosen file cannot be loaded (a warning says why). */
export async function pickModel(
  discover: () => Promise<Discovery>,
  current: string | null,
): Promise<ModelChoice | undefined> {
  const items = discover().then(
    (d) => pickerItems(d, current),
    () => pickerItems({ models: [], truncated: true }, current),
  );
  const picked = await vscode.window.showQuickPick(items, {
    title: 'PodLens: Select Model',
    placeHolder: 'GGUF models on this machine (loading the list…)',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!picked?.choice) return undefined;
  if (picked.model?.supported === false) {
    void vscode.window.showWarningMessage(`PodLens cannot load ${picked.model.name}: ${picked.model.note}.`);
    return undefined;
  }
  return picked.choice;
}
