// The on-disk PrefixStore the session uses: one state file per (workspace, model, plan) in a cache
// folder (default ~/.cache/podlens/kv, or $PODLENS_CACHE/kv), capped in total size with LRU
// eviction. A rejected file (mismatch, truncation, corruption) is deleted so the rebuilt state
// replaces it. File names start with a hash of the workspace folder, so one workspace's states
// (every model and plan, checkpoints, temp files) can be found and cleared. A state larger than
// the cap is not kept (the cap holds even for a single file). The identity a state is checked
// against: the model file's sha256, the KV plan with the context size (name and header), then
// persist.ts checks the checksum and the token ids' hash, and the session uses a state only for
// exactly its ids. Used by the session (session.ts) in the CLI and in the engine worker. Not here:
// the file format (persist.ts), when to save or restore (session.ts).
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { Engine } from '../engine/engine';
import { KVState, stateBytes } from '../engine/kv/state';
import { planDtype } from '../engine/kv/plan';
import {
  enforceCap,
  fileSha256,
  loadState,
  LoadResult,
  planHash,
  saveState,
  STATE_EXT,
  StateIdentity,
} from './persist';

/** 'prefix': the end of the workspace prefix; 'stable': the last block's start (a checkpoint for caches that cannot rewind). */
export type StoreSlot = 'prefix' | 'stable';

/** Where the workspace prefix state is kept between runs. */
export interface PrefixStore {
  load(slot?: StoreSlot): Promise<LoadResult | undefined>;
  save(ids: readonly number[], state: KVState, slot?: StoreSlot): Promise<void>;
  /** The file a slot is kept in (for log lines). */
  slotFile(slot?: StoreSlot): string;
}

export const DEFAULT_CAP_BYTES = 2 * 2 ** 30;
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MB`;

export function defaultCacheDir(): string {
  return path.join(process.env.PODLENS_CACHE ?? path.join(os.homedir(), '.cache', 'podlens'), 'kv');
}

/** The file-name prefix of a workspace folder's states (hex, so the names stay hex + extension). */
export const workspaceKey = (workspace: string): string =>
  createHash('sha256').update(path.resolve(workspace)).digest('hex').slice(0, 16);

/** Delete every state file of a workspace folder in `dir` (all models, plans, slots, temp files); returns files and bytes freed. */
export function clearWorkspaceStates(dir: string, workspace: string): { files: number; bytes: number } {
  const key = workspaceKey(workspace);
  let files = 0,
    bytes = 0;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return { files, bytes };
  }
  for (const n of names) {
    if (!n.startsWith(key) || !n.includes(STATE_EXT)) continue;
    const p = path.join(dir, n);
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    fs.rmSync(p, { force: true });
    files++;
    bytes += st.size;
  }
  return { files, bytes };
}

export class FilePrefixStore implements PrefixStore {
  private constructor(
    readonly file: string,
    readonly id: StateIdentity,
    private readonly expect: { kind: string; dtype: string },
    readonly capBytes: number,
    private readonly log?: (s: string) => void,
  ) {}

  /**
   * The store for a workspace folder and a loaded engine (hashes the model file once per process,
   * unless `modelSha256` — the hash taken when the engine loaded it — is given).
   */
  static async open(
    engine: Engine,
    workspace: string,
    o: { dir?: string; capBytes?: number; log?: (s: string) => void; modelSha256?: string } = {},
  ): Promise<FilePrefixStore> {
    const plan = engine.decoder.plan;
    const id: StateIdentity = {
      modelSha256: o.modelSha256 ?? (await fileSha256(engine.path)),
      planHash: planHash({ plan, contextSize: engine.contextSize }),
    };
    const key =
      workspaceKey(workspace) +
      createHash('sha256').update(`${id.modelSha256}\n${id.planHash}`).digest('hex').slice(0, 16);
    const dir = o.dir ?? defaultCacheDir();
    return new FilePrefixStore(
      path.join(dir, key + STATE_EXT),
      id,
      { kind: plan.kind, dtype: planDtype(plan) },
      o.capBytes ?? DEFAULT_CAP_BYTES,
      o.log,
    );
  }

  /** The file of a slot: the prefix state is `file`, the checkpoint sits beside it. */
  slotFile(slot: StoreSlot = 'prefix'): string {
    return slot === 'prefix' ? this.file : `${this.file.slice(0, -STATE_EXT.length)}.${slot}${STATE_EXT}`;
  }

  async load(slot: StoreSlot = 'prefix'): Promise<LoadResult | undefined> {
    const file = this.slotFile(slot);
    if (!fs.existsSync(file)) return undefined;
    const r = loadState(file, { ...this.id, ...this.expect });
    if (!r.ok) fs.rmSync(file, { force: true });
    return r.ok ? r : { ok: false, reason: `${path.basename(file)}: ${r.reason}` };
  }

  /** Save atomically, then evict the least recently used states over the cap; throws (nothing kept) when this state alone exceeds the cap. */
  async save(ids: readonly number[], state: KVState, slot: StoreSlot = 'prefix'): Promise<void> {
    const file = this.slotFile(slot);
    const evict = (keep?: string): void => {
      for (const f of enforceCap(path.dirname(file), this.capBytes, keep))
        this.log?.(`workspace KV state: evicted ${path.basename(f)} (KV state cache over ${this.capBytes} bytes)`);
    };
    const over = (bytes: number): Error => {
      evict(); // the cap may have been lowered: the folder still keeps to it
      return new Error(
        `the KV state (${mib(bytes)}) is larger than the cache size cap (${mib(this.capBytes)}); not saved`,
      );
    };
    const payload = 4 * ids.length + stateBytes(state);
    if (payload > this.capBytes) throw over(payload);
    const size = saveState(file, this.id, ids, state);
    if (size > this.capBytes) {
      fs.rmSync(file, { force: true });
      throw over(size);
    }
    evict(file);
  }
}
