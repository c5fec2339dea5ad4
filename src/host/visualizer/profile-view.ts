// Reads the PoD profile named by `podlens.kv.profile` for the cache visualizer: parsed and checked
// by the engine's own profile reader (src/engine/eval/profile.ts: schema, shapes, blocks), turned
// into the shared ProfileView (file names only, no paths). A missing or broken file gives no
// heatmap and a one-line note instead. No vscode import.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseProfile } from '../../engine/eval/profile';
import { ProfileEvent } from '../../shared/profile-view';

export function readProfileView(file: string, inUse: boolean): ProfileEvent {
  if (!file) return { profile: null };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return {
      profile: null,
      note: `The PoD profile ${path.basename(file)} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}); run "PodLens: Calibrate Model".`,
    };
  }
  try {
    const p = parseProfile(text, path.basename(file));
    return {
      profile: {
        file: path.basename(file),
        model: p.model.file,
        nLayers: p.model.nLayers,
        nKVHeads: p.model.nKVHeads,
        sinks: p.sinks,
        recent: p.recent,
        contextSize: p.contextSize,
        delta: p.delta,
        maxBlock: p.maxBlock,
        nonAnchorShare: p.nonAnchorShare,
        texts: p.texts.length,
        anchors: p.anchors,
        similarity: p.similarity,
        inUse,
      },
    };
  } catch (e) {
    return { profile: null, note: `${(e as Error).message.split('\n')[0]}` };
  }
}
