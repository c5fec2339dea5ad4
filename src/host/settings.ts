// The one typed reader of PodLens settings (the `podlens.*` keys contributed in package.json).
// It takes anything with `get(key)` — vscode's WorkspaceConfiguration in the extension, a map in
// tests — and clamps every value to its valid range, so the rest of the host never sees a raw
// or out-of-range setting. Also resolves which model file to load. `auto` cache settings are
// resolved per model file by kv-choice.ts. No vscode import.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KVSettings, SamplerSettings } from '../worker/protocol';
import { DEFAULT_MODEL } from '../shared/default-model';

export const SECTION = 'podlens';
/**
 * The development model next to the extension (Qwen2.5-Coder-0.5B-Instruct, fetched by
 * scripts/fetch-models.sh; never inside the VSIX). Tests pin their own model with model.path.
 */
export const DEFAULT_MODEL_FILE = path.join(...DEFAULT_MODEL.relPath.split('/'));

/**
 * podlens.kv.* as configured: the worker's KVSettings, or `auto` (the default), which kv-choice.ts
 * turns into PoD with the model's profile or the full cache. With `auto` only the PoD settings a
 * profile does not replace are kept (share mode, int8 distant storage) and the profile setting.
 */
export type CacheSettings =
  KVSettings | { kind: 'auto'; mode: 'scores' | 'keys'; profile?: string; distantQuant?: KVSettings['distantQuant'] };

export interface ConfigLike {
  get<T>(key: string): T | undefined;
}

export interface Settings {
  /** As configured ('' = not set). */
  modelPath: string;
  /** Where downloaded models go ('' = the extension's globalStorage/models). */
  modelDownloadDir: string;
  /** 0 = engine default (min(2, cores)). */
  threads: number;
  /** 0 = automatic: the largest context up to the training context that fits the memory budget (Engine.load). */
  contextSize: number;
  /** The KV cache the model is loaded for (`auto`: resolved per model file, kv-choice.ts). */
  kv: CacheSettings;
  maxTokens: number;
  sampler: SamplerSettings;
  systemPrompt: string;
  summaryMaxTokens: number;
}

/** Keys whose change means the loaded model must be reloaded. */
export const RELOAD_KEYS = ['model.path', 'engine.threads', 'engine.contextSize', 'kv'] as const;

function num(c: ConfigLike, key: string, def: number, min: number, max: number, integer = false): number {
  const v = c.get<unknown>(key);
  if (typeof v !== 'number' || !Number.isFinite(v)) return def;
  const x = Math.min(max, Math.max(min, v));
  return integer ? Math.round(x) : x;
}

function str(c: ConfigLike, key: string, def: string): string {
  const v = c.get<unknown>(key);
  return typeof v === 'string' ? v : def;
}

function pick<const T extends readonly string[]>(c: ConfigLike, key: string, values: T, def: T[number]): T[number] {
  const v = c.get<unknown>(key);
  return typeof v === 'string' && values.includes(v) ? v : def;
}

/** `~` and `~/…` → the home folder. */
export const expandHome = (p: string): string =>
  p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;

/** 0 in a setting means "engine default": the key is left out. */
function kvSettings(c: ConfigLike): CacheSettings {
  const kind = pick(c, 'kv.cache', ['auto', 'full', 'pod', 'streaming'] as const, 'auto');
  if (kind === 'full') return { kind };
  const profile = expandHome(str(c, 'kv.profile', '').trim());
  // int4 is CLI-only while its quality on Qwen is not there (docs/pod-qwen.md §4).
  const q = pick(c, 'kv.distantQuant', ['none', 'int8'] as const, 'none');
  const quant = q === 'none' ? {} : { distantQuant: q };
  if (kind === 'auto') {
    return {
      kind,
      mode: pick(c, 'kv.shareMode', ['scores', 'keys'] as const, 'scores'),
      ...(profile ? { profile } : {}),
      ...quant,
    };
  }
  const sinks = num(c, 'kv.sinks', 16, 0, 1 << 16, true);
  const recent = num(c, 'kv.recent', 0, 0, 1 << 20, true);
  const groupSize = num(c, 'kv.groupSize', 5, 1, 1024, true);
  return {
    kind,
    sinks,
    ...(recent > 0 ? { recent } : {}),
    ...(kind === 'pod' ? { groupSize, mode: pick(c, 'kv.shareMode', ['scores', 'keys'] as const, 'scores') } : {}),
    ...(kind === 'pod' && profile ? { profile } : {}),
    ...(kind === 'pod' ? quant : {}),
  };
}

export function readSettings(c: ConfigLike): Settings {
  const contextSize = num(c, 'engine.contextSize', 0, 0, 1 << 20, true);
  return {
    modelPath: str(c, 'model.path', '').trim(),
    modelDownloadDir: str(c, 'model.downloadDirectory', '').trim(),
    threads: num(c, 'engine.threads', 0, 0, 256, true),
    contextSize: contextSize > 0 && contextSize < 16 ? 16 : contextSize,
    kv: kvSettings(c),
    maxTokens: num(c, 'generation.maxTokens', 512, 1, 1 << 20, true),
    sampler: {
      temperature: num(c, 'generation.temperature', 0.7, 0, 10),
      topK: num(c, 'generation.topK', 40, 0, 1 << 20, true),
      topP: num(c, 'generation.topP', 0.95, 0, 1),
      minP: num(c, 'generation.minP', 0.05, 0, 1),
      repeatPenalty: num(c, 'generation.repeatPenalty', 1.1, 0.5, 10),
      seed: num(c, 'generation.seed', 0, -(2 ** 31), 2 ** 32 - 1, true),
    },
    systemPrompt: str(c, 'chat.systemPrompt', 'You are a helpful assistant. Answer concisely.'),
    summaryMaxTokens: num(c, 'summarize.maxTokens', 256, 16, 1 << 16, true),
  };
}

/**
 * Engine threads when the setting is 0: one core fewer than the machine has (1…4), so the editor
 * keeps a core. Measured in the real extension host on 2 vCPUs under load 10–12: event-loop lag
 * p99 29–50 ms with 1 engine thread, 60–71 ms with 2 (issue 5's bound is 50 ms).
 */
export const defaultEngineThreads = (cores = os.availableParallelism()): number => Math.max(1, Math.min(4, cores - 1));

/**
 * Engine options from settings and the KV cache chosen for the model file (kv-choice.ts): threads
 * 0 → defaultEngineThreads; contextSize 0 is passed on, the engine's automatic size.
 */
export function engineOptions(s: Settings, kv: KVSettings): { threads?: number; contextSize: number; kv: KVSettings } {
  return { threads: s.threads > 0 ? s.threads : defaultEngineThreads(), contextSize: s.contextSize, kv };
}

/** The download folder: the setting (`~` expanded; must be absolute), else `<globalStorage>/models`. */
export function resolveDownloadDir(s: Settings, globalStoragePath: string): string {
  let p = s.modelDownloadDir;
  if (p === '~' || p.startsWith('~/')) p = path.join(os.homedir(), p.slice(1));
  return p && path.isAbsolute(p) ? p : path.join(globalStoragePath, 'models');
}

/**
 * Which model file to load: the setting (`~` expanded; relative paths are relative to the first
 * workspace folder, else the extension folder), else the development model next to the
 * extension, else null (the caller asks the user with Select Model…).
 */
export function resolveModelPath(
  s: Settings,
  extensionPath: string,
  workspaceFolder?: string,
  exists: (p: string) => boolean = fs.existsSync,
): string | null {
  if (s.modelPath) {
    let p = s.modelPath;
    if (p === '~' || p.startsWith('~/')) p = path.join(os.homedir(), p.slice(1));
    return path.isAbsolute(p) ? p : path.resolve(workspaceFolder ?? extensionPath, p);
  }
  const dev = path.join(extensionPath, DEFAULT_MODEL_FILE);
  return exists(dev) ? dev : null;
}
