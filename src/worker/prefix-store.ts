// The engine worker's persisted workspace prefix (issue 15): the KV state at the end of a chat's
// system message — the system prompt and the workspace context the host put there — is saved in
// the store the host names (podlens.cache.directory with its size cap; src/context/store.ts over
// persist.ts: one file format, atomic writes, LRU eviction), and a later worker (after a window
// reload) restores it into a new session instead of reading the workspace again. A state is used
// only when the model file (sha256, taken once when the engine loads), the KV plan and context
// size (the file's name and header), the file's checksum and the prefix's token ids (so every
// file's contents) are all the same; otherwise — no file, another model or plan, changed
// contents, a truncated or corrupt file, a state the cache refuses — the prefix is computed again
// and saved over it, and one log line says why. Nothing here throws into the answer: a failed
// save or restore is a log line. Not here: when the session reads, rewinds or checkpoints
// (sessions.ts).
import { Engine } from '../engine/engine';
import { KVState } from '../engine/kv/state';
import { KVCache } from '../engine/kv/types';
import { fileSha256 } from '../context/persist';
import { FilePrefixStore } from '../context/store';
import { PersistTarget } from './protocol';

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
const mb = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MB`;
const stateBytes = (s: KVState): number => s.buffers.reduce((a, b) => a + b.byteLength, s.ints.byteLength);

export interface Restored {
  /** Tokens restored (the whole prefix). */
  tokens: number;
  /** The state that was imported (PoD / streaming keep it as their in-memory checkpoint). */
  state: KVState;
}

export class PrefixStores {
  /** The model file's sha256 as it was when the engine loaded it (started at once, in the background). */
  private readonly modelSha: Promise<string>;
  private readonly stores = new Map<string, FilePrefixStore>();

  constructor(private readonly engine: Engine, private readonly log: (line: string) => void) {
    this.modelSha = fileSha256(engine.path);
    this.modelSha.catch(() => undefined); // reported by the first restore or save that needs it
  }

  private async open(t: PersistTarget): Promise<FilePrefixStore> {
    const key = JSON.stringify([t.workspace, t.dir, t.capBytes]);
    let s = this.stores.get(key);
    if (!s) {
      s = await FilePrefixStore.open(this.engine, t.workspace, { dir: t.dir, capBytes: t.capBytes, log: (l) => this.log(`workspace KV state: ${l}`), modelSha256: await this.modelSha });
      this.stores.set(key, s);
    }
    return s;
  }

  /**
   * Import the saved state into `cache` (empty) when it holds exactly `prefix`; null (cache
   * empty, the reason logged) otherwise.
   */
  async restore(t: PersistTarget, cache: KVCache, prefix: readonly number[]): Promise<Restored | null> {
    const t0 = performance.now();
    const not = (why: string): null => {
      this.log(`workspace KV state on disk not used: ${why}; reading the workspace again`);
      return null;
    };
    let store: FilePrefixStore;
    let r: Awaited<ReturnType<FilePrefixStore['load']>>;
    try {
      store = await this.open(t);
      r = await store.load();
    } catch (e) {
      return not(firstLine(e));
    }
    if (!r) {
      this.log(`no workspace KV state on disk for this workspace, model and cache settings (${store.file}); reading the workspace`);
      return null;
    }
    if (!r.ok) return not(r.reason);
    if (r.ids.length !== prefix.length || r.ids.some((id, i) => id !== prefix[i])) {
      let d = 0;
      while (d < prefix.length && r.ids[d] === prefix[d]) d++;
      return not(`the workspace context changed (saved ${r.ids.length} tokens, now ${prefix.length}, first difference at token ${d})`);
    }
    try {
      cache.importState(r.state);
    } catch (e) {
      cache.truncate(0);
      return not(firstLine(e));
    }
    this.log(`workspace KV state restored from disk: ${r.ids.length} tokens, ${mb(stateBytes(r.state))} (${store.file}), ${Math.round(performance.now() - t0)} ms`);
    return { tokens: r.ids.length, state: r.state };
  }

  /** Save the state of `ids` (the prefix) for the workspace; a failure is logged, never thrown. */
  async save(t: PersistTarget, ids: readonly number[], state: KVState): Promise<void> {
    const t0 = performance.now();
    try {
      const store = await this.open(t);
      await store.save(ids, state);
      this.log(`workspace KV state saved: ${ids.length} tokens, ${mb(stateBytes(state))} (${store.file}), ${Math.round(performance.now() - t0)} ms`);
    } catch (e) {
      this.log(`workspace KV state not saved: ${firstLine(e)}`);
    }
  }
}
