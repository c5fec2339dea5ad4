// The host's copy of what the cache visualizer shows: the latest KV-cache snapshot (already
// throttled by the worker while generating) turned into a `CacheView`, plus which session it came
// from. Panels read `current` when their webview says ready (replay) and subscribe for updates;
// hidden panels simply miss updates and get the latest state on their next `ready`.
// No vscode import.
import { buildCacheView, CacheView, SnapshotWire } from '../../shared/cache-view';

export interface CacheStateValue {
  view: CacheView | null;
  session: string | null;
  updatedAt: number;
}

export class CacheState {
  private value: CacheStateValue = { view: null, session: null, updatedAt: 0 };
  private readonly listeners = new Set<(v: CacheStateValue) => void>();

  get current(): CacheStateValue {
    return this.value;
  }

  update(session: string, snapshot: SnapshotWire, now = Date.now()): void {
    this.value = { view: buildCacheView(snapshot), session, updatedAt: now };
    for (const l of this.listeners) l(this.value);
  }

  /** The model went away (crash, reload): nothing is cached any more. */
  clear(now = Date.now()): void {
    this.value = { view: null, session: null, updatedAt: now };
    for (const l of this.listeners) l(this.value);
  }

  onChange(l: (v: CacheStateValue) => void): { dispose(): void } {
    this.listeners.add(l);
    return { dispose: () => this.listeners.delete(l) };
  }
}
