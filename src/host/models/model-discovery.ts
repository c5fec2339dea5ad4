// GGUF discovery: the model files already on this machine (LM Studio, llama.cpp cache, Hugging
// Face hub cache, Ollama's manifests and blobs, PodLens' own downloads), each with a display name,
// its source, its size and whether PodLens can load it — decided by reading only the GGUF header
// and metadata with the engine's reader, never the weights. Bounded in depth, entries and time
// (bounded-walk.ts); `*.partial` downloads never match (only names ending in .gguf do). The header
// checks (src/worker/gguf-probe.ts: ~0.5 s of synchronous parsing for a Qwen file) run in the
// reader worker (reader-client.ts), not on the extension host's thread; the walks here are
// asynchronous I/O. No vscode import: the Select Model… picker calls it, tests run it on fake trees.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GGUFCheck } from '../../worker/gguf-probe';
import { boundedWalk, walkBudget, WalkBudget } from './bounded-walk';
import { ModelRoot, modelRoots, ModelSource } from './model-locations';
import { sharedReader } from '../workspace/reader-client';

export { checkGGUF } from '../../worker/gguf-probe';

export interface DiscoveredModel {
  /** The file as found (an HF snapshot link, an Ollama blob, …). */
  path: string;
  /** What the user recognises: publisher/repo/file, org/name/file, library/model:tag, file name. */
  name: string;
  source: ModelSource;
  size: number;
  /** true: the header parses and the architecture is supported; undefined: not checked (time limit). */
  supported: boolean | undefined;
  /** "llama, 30 layers" or why it cannot be loaded. */
  note: string;
}

export interface DiscoveryOptions {
  home?: string;
  env?: Readonly<Record<string, string | undefined>>;
  platform?: NodeJS.Platform;
  podlensDir?: string;
  /** Folders to search instead of modelRoots() (tests). */
  roots?: readonly ModelRoot[];
  maxDepth?: number;
  maxEntries?: number;
  timeoutMs?: number;
  /** Header checks at most (each reads ~1 MB); later files are listed unchecked. */
  maxChecks?: number;
  /** The header check (default: checkGGUF in the shared reader worker, sharedReader()). */
  probe?: (file: string) => Promise<GGUFCheck>;
}

export interface Discovery {
  models: DiscoveredModel[];
  /** A limit (depth, entries, time) cut the search short. */
  truncated: boolean;
}

const isGGUF = (name: string): boolean => name.toLowerCase().endsWith('.gguf');
const OLLAMA_MODEL_LAYER = 'application/vnd.ollama.image.model';
const OLLAMA_REGISTRY = 'registry.ollama.ai';

/** The name users know a file by, from its place under the source's root. */
function displayName(source: ModelSource, root: string, file: string): string {
  const rel = path.relative(root, file).split(path.sep);
  if (source === 'huggingface') {
    // models--org--name/snapshots/<revision>/<path in repo>
    const repo = rel[0]?.startsWith('models--') ? rel[0].slice('models--'.length).split('--').join('/') : undefined;
    if (repo !== undefined && rel[1] === 'snapshots' && rel.length >= 4) return `${repo}/${rel.slice(3).join('/')}`;
  }
  if (source === 'lmstudio') return rel.join('/'); // publisher/repo/file.gguf
  return path.basename(file);
}

/** Ollama: manifests/<host>/<namespace>/<model>/<tag> (JSON) → the model layer's blob, a GGUF file. */
async function ollamaModels(
  root: string,
  budget: WalkBudget,
): Promise<{ path: string; name: string; expected?: number }[]> {
  const manifests = path.join(root, 'manifests');
  const files = await boundedWalk(manifests, { file: () => true }, budget);
  const out: { path: string; name: string; expected?: number }[] = [];
  for (const m of files) {
    try {
      if ((await fs.promises.stat(m)).size > 1 << 20) continue; // not a manifest
      const json = JSON.parse(await fs.promises.readFile(m, 'utf8')) as {
        layers?: { mediaType?: unknown; digest?: unknown; size?: unknown }[];
      };
      const layer = json.layers?.find((l) => l.mediaType === OLLAMA_MODEL_LAYER);
      const hex = typeof layer?.digest === 'string' ? /^sha256[:-]([0-9a-f]{64})$/.exec(layer.digest)?.[1] : undefined;
      if (hex === undefined) continue;
      const [host, ...rest] = path.relative(manifests, m).split(path.sep);
      const tag = rest.pop();
      if (host === undefined || tag === undefined || rest.length === 0) continue;
      const name = `${host === OLLAMA_REGISTRY ? '' : `${host}/`}${rest.join('/')}:${tag}`;
      out.push({
        path: path.join(root, 'blobs', `sha256-${hex}`),
        name,
        ...(typeof layer?.size === 'number' ? { expected: layer.size } : {}),
      });
    } catch {
      continue; // unreadable or not JSON
    }
  }
  return out;
}

/** Every GGUF file in the known places, deduplicated by real path, in picker order. */
export async function discoverModels(o: DiscoveryOptions = {}): Promise<Discovery> {
  const roots =
    o.roots ??
    modelRoots({
      home: o.home ?? os.homedir(),
      env: o.env ?? process.env,
      platform: o.platform ?? process.platform,
      podlensDir: o.podlensDir,
    });
  const budget = walkBudget(o);
  let checks = o.maxChecks ?? 200;
  const probe = o.probe ?? ((file: string) => sharedReader().probe(file));
  const seen = new Set<string>();
  const models: DiscoveredModel[] = [];
  for (const root of roots) {
    const found =
      root.source === 'ollama'
        ? await ollamaModels(root.dir, budget)
        : (
            await boundedWalk(
              root.dir,
              { file: isGGUF, skipDir: (n) => n === 'blobs' || n === '.locks' || n === '.git' },
              budget,
            )
          ).map((p) => ({
            path: p,
            name: displayName(root.source, root.dir, p),
            expected: undefined as number | undefined,
          }));
    for (const f of found) {
      let real: string, size: number;
      try {
        real = await fs.promises.realpath(f.path);
        const st = await fs.promises.stat(real);
        if (!st.isFile()) continue;
        size = st.size;
      } catch {
        continue; // an Ollama manifest whose blob is gone, a link that broke meanwhile
      }
      if (seen.has(real)) continue;
      seen.add(real);
      let check: { supported: boolean | undefined; note: string };
      if (f.expected !== undefined && f.expected !== size) {
        check = { supported: false, note: `incomplete: ${size} of ${f.expected} bytes` };
      } else if (checks > 0 && Date.now() <= budget.deadline) {
        checks--;
        try {
          check = await probe(real);
        } catch (e) {
          // The reader thread itself failed (it crashed on this file, or could not start): not a verdict on the file.
          check = { supported: undefined, note: `not checked (${e instanceof Error ? e.message : String(e)})` };
        }
      } else {
        check = { supported: undefined, note: 'not checked (search limit reached)' };
      }
      models.push({ path: f.path, name: f.name, source: root.source, size, ...check });
    }
  }
  return { models, truncated: budget.truncated };
}
