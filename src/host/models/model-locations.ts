// Where GGUF files already live on this machine: the folders LM Studio, llama.cpp, the Hugging
// Face hub cache and Ollama keep their models in (their documented defaults and environment
// overrides), plus PodLens' own download folder. Only paths are computed here; walking them is
// model-discovery.ts. No vscode import, no file access: everything comes in as arguments.
import * as path from 'node:path';

export type ModelSource = 'podlens' | 'lmstudio' | 'llama.cpp' | 'huggingface' | 'ollama';

/** Display order and group titles of the sources in the model picker. */
export const SOURCE_LABELS: Readonly<Record<ModelSource, string>> = {
  podlens: 'PodLens downloads',
  lmstudio: 'LM Studio',
  'llama.cpp': 'llama.cpp cache',
  huggingface: 'Hugging Face cache',
  ollama: 'Ollama',
};

export interface ModelRoot {
  source: ModelSource;
  dir: string;
}

export interface LocationOptions {
  home: string;
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  /** PodLens' own models folder (globalStorage/models or the configured download folder). */
  podlensDir?: string;
}

/** The user's cache folder: XDG on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows. */
function cacheHome(o: LocationOptions): string {
  const set = (v: string | undefined): v is string => v !== undefined && v.trim() !== '';
  if (o.platform === 'darwin') return path.join(o.home, 'Library', 'Caches');
  if (o.platform === 'win32')
    return set(o.env.LOCALAPPDATA) ? o.env.LOCALAPPDATA : path.join(o.home, 'AppData', 'Local');
  return set(o.env.XDG_CACHE_HOME) ? o.env.XDG_CACHE_HOME : path.join(o.home, '.cache');
}

/** Every folder to look in, in picker order, without duplicates. */
export function modelRoots(o: LocationOptions): ModelRoot[] {
  const env = (k: string): string | undefined => (o.env[k]?.trim() ? o.env[k] : undefined);
  const cache = cacheHome(o);
  const xdgCache = path.join(o.home, '.cache'); // huggingface_hub and llama.cpp use ~/.cache on every OS unless told otherwise
  const hfHome = env('HF_HOME');
  const roots: ModelRoot[] = [
    ...(o.podlensDir ? [{ source: 'podlens' as const, dir: o.podlensDir }] : []),
    { source: 'lmstudio', dir: path.join(o.home, '.lmstudio', 'models') },
    { source: 'lmstudio', dir: path.join(o.home, '.cache', 'lm-studio', 'models') },
    { source: 'llama.cpp', dir: env('LLAMA_CACHE') ?? path.join(cache, 'llama.cpp') },
    {
      source: 'huggingface',
      dir:
        env('HF_HUB_CACHE') ??
        env('HUGGINGFACE_HUB_CACHE') ??
        (hfHome
          ? path.join(hfHome, 'hub')
          : path.join(o.platform === 'linux' ? cache : xdgCache, 'huggingface', 'hub')),
    },
    { source: 'ollama', dir: env('OLLAMA_MODELS') ?? path.join(o.home, '.ollama', 'models') },
  ];
  if (o.platform === 'linux' && !env('OLLAMA_MODELS'))
    roots.push({ source: 'ollama', dir: '/usr/share/ollama/.ollama/models' });
  const seen = new Set<string>();
  return roots.filter((r) => {
    const key = path.resolve(r.dir);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
