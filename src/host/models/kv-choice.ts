// Which KV cache a model file is loaded with, and why, in the words the status bar and the cache
// visualizer show. podlens.kv.cache `auto` (the default) means PoD with the model's calibrated
// profile when there is one — the file podlens.kv.profile names, else a profile next to the model
// as `<model name>.pod-profile.json` (the suffix Calibrate Model writes), else one the extension
// ships in its models/ folder for this model under any name (engine/eval/profile.ts
// bundledProfileFor) — and the full cache otherwise; `full`, `pod` and `streaming` are taken as
// set. Also the words for how the context size was chosen (podlens.engine.contextSize, 0 =
// automatic). Pure functions, no vscode import; loading (and falling back to the full cache when
// an auto-chosen profile is refused) is model.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LoadChoice } from '../../shared/protocol';
import { KVSettings, ModelInfo } from '../../worker/protocol';
import { bytesText } from './model-fit';
import { CacheSettings } from '../settings';
import { defaultProfileFor, shippedProfilePath } from '../../engine/eval/profile';

export interface KVChoice {
  /** What the worker loads. */
  kv: KVSettings;
  /** Which cache and why, one line. */
  reason: string;
  /** Chosen by `auto` (then a refused profile falls back to the full cache instead of failing the load). */
  auto: boolean;
}

const setTo = (kind: string): string => `podlens.kv.cache is "${kind}"`;

/**
 * The cache for `modelFile` under the settings; `bundledDir` holds the profiles the extension ships
 * (its models/ folder); `exists` is how files are looked up (tests pass their own).
 */
export function chooseKV(
  s: CacheSettings,
  modelFile: string,
  bundledDir?: string,
  exists: (p: string) => boolean = fs.existsSync,
): KVChoice {
  switch (s.kind) {
    case 'full':
      return { kv: s, reason: `full cache — ${setTo('full')}`, auto: false };
    case 'streaming':
      return { kv: s, reason: `streaming cache (distant tokens dropped) — ${setTo('streaming')}`, auto: false };
    case 'pod':
      return {
        kv: s,
        auto: false,
        reason: s.profile
          ? `PoD with the profile ${path.basename(s.profile)} — ${setTo('pod')}`
          : `PoD with uniform blocks of ${s.groupSize ?? 5} layers (no profile) — ${setTo('pod')}`,
      };
    case 'auto': {
      const { kind: _auto, profile: configured, ...pod } = s;
      const shipped = shippedProfilePath(modelFile);
      const missing =
        configured && !exists(configured) ? `; podlens.kv.profile (${path.basename(configured)}) does not exist` : '';
      if (configured && !missing) {
        return {
          kv: { kind: 'pod', ...pod, profile: configured },
          auto: true,
          reason: `PoD — auto: podlens.kv.profile names a calibrated profile (${path.basename(configured)})`,
        };
      }
      const found = defaultProfileFor(modelFile, bundledDir === undefined ? [] : [bundledDir], exists);
      if (found) {
        const where =
          found.where === 'beside' ? 'a profile ships next to the model' : 'PodLens ships a profile for this model';
        return {
          kv: { kind: 'pod', ...pod, profile: found.file },
          auto: true,
          reason: `PoD — auto: ${where} (${path.basename(found.file)})${missing}`,
        };
      }
      return {
        kv: { kind: 'full' },
        auto: true,
        reason: missing
          ? `full cache — auto${missing} and no profile ships next to the model`
          : `full cache — auto: no PoD profile for this model ("PodLens: Calibrate Model", podlens.kv.profile, or ${path.basename(shipped)} next to the model)`,
      };
    }
  }
}

/** `auto` chose a profile the engine refused (another model's, unreadable): the full cache, saying why. */
export function profileRefused(c: KVChoice, error: string): KVChoice {
  const file = c.kv.profile ? path.basename(c.kv.profile) : 'the profile';
  return {
    kv: { kind: 'full' },
    auto: true,
    reason: `full cache — auto: ${file} could not be used (${error.split('\n')[0]})`,
  };
}

/** How the loaded context size was chosen, one line. */
export function contextReason(info: ModelInfo): string {
  const a = info.autoContext;
  if (!a) return `${info.contextSize} tokens — set by podlens.engine.contextSize`;
  const budget = `the ${bytesText(a.budgetBytes)} memory budget (${Math.round((a.budgetBytes / Math.max(1, a.freeBytes)) * 100)}% of ${bytesText(a.freeBytes)} free)`;
  return a.limit === 'training'
    ? `${info.contextSize} tokens — auto: the model's training context, within ${budget}`
    : `${info.contextSize} tokens — auto: the largest that fits ${budget}; the model was trained for ${info.trainContext ?? '?'}`;
}

/** What the status bar and the visualizer show about a loaded model's cache and context. */
export function loadChoice(info: ModelInfo, c: KVChoice): LoadChoice {
  return {
    cache: c.reason,
    context: contextReason(info),
    ...(info.autoContext ? { budgetBytes: info.autoContext.budgetBytes } : {}),
    ...(info.estimateBytes !== undefined ? { estimateBytes: info.estimateBytes } : {}),
  };
}
