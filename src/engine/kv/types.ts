// The KV cache contract between the engine's step loop and a cache implementation. The engine
// owns the cache object; the ONNX graph only sees the tensors a cache hands out for one step
// (`inputs`) and returns the new tokens' keys/values, which the cache stores (`append`).
// The full cache (full.ts) is the oracle; the PoD cache implements the same interface.
import { HostTensor } from '../onnx/runtime';
import { KVPlan } from './plan';
import { KVArray } from './dtype';
import { KVState } from './state';

export interface LayerBytes {
  readonly layer: number;
  readonly kBytes: number;
  readonly vBytes: number;
  readonly usedBytes: number;
  readonly fullBytes: number;
}

/** K + V bytes one (layer, KV head) unit holds for the live tokens. */
export interface HeadBytes {
  readonly layer: number;
  readonly kvHead: number;
  readonly usedBytes: number;
}

/** Per-head bytes of a cache whose KV heads in a layer all hold the same (full, streaming): each gets layerUsed / nKVHeads. */
export function evenHeads(nLayers: number, nKVHeads: number, layerUsed: number): HeadBytes[] {
  return Array.from({ length: nLayers * nKVHeads }, (_, i) => ({
    layer: Math.floor(i / nKVHeads),
    kvHead: i % nKVHeads,
    usedBytes: layerUsed / nKVHeads,
  }));
}

/** What a cache says about itself; the visualizer and stats draw this and nothing else. */
export interface CacheSnapshot {
  readonly kind: string;
  readonly tokens: number;
  readonly capacityTokens: number;
  readonly nLayers: number;
  readonly nKVHeads: number;
  readonly headDim: number;
  readonly bytesPerElement: number;
  /** Bytes actually allocated for K and V (all layers). */
  readonly allocatedBytes: number;
  /** Bytes holding live tokens (tokens × per-token size). */
  readonly usedBytes: number;
  /** Bytes a full cache of the same dtype would use for the same tokens. */
  readonly fullCacheBytes: number;
  /**
   * Per layer: K and V bytes allocated, K+V bytes holding live tokens, and K+V bytes a full cache
   * of the same dtype would hold for them. The totals above are these summed; the visualizer's
   * per-layer bars draw them as they are (no formula outside the cache).
   */
  readonly perLayer: readonly LayerBytes[];
  /**
   * Per (layer, KV head), row-major: K + V bytes the unit holds for the live tokens (PoD: its
   * proximal tokens, distant keys if it is an anchor, distant values unless it is local; distant
   * rows as distant.ts `distantRowBytes` counts them). Each layer's usedBytes is the sum of its heads.
   */
  readonly perHead: readonly HeadBytes[];
  /** PoD structure (absent for the full cache): blocks, token partition, saving. */
  readonly pod?: {
    readonly sinks: number;
    readonly recent: number;
    readonly mode: string;
    /** anchors[layer][kvHead] = anchor layer of that unit's block. */
    readonly anchors: readonly (readonly number[])[];
    readonly tokens: { readonly sinks: number; readonly recent: number; readonly distant: number };
    /** 1 − used bytes / full-cache bytes for the same tokens. */
    readonly savedFraction: number;
  };
}

export interface KVCache {
  readonly kind: string;
  /** The plan the decoder's graph must have been built for. */
  readonly plan: KVPlan;
  /** Graph inputs shared by all layers for a step that adds `newTokens` tokens (masks, split sizes). */
  stepInputs(newTokens: number): Record<string, HostTensor>;
  /** Tokens currently stored (the next token's position). */
  readonly length: number;
  /** Graph inputs holding the past for `layer`, for a step that adds `newTokens` tokens. */
  layerInputs(layer: number, newTokens: number): Record<string, HostTensor>;
  /** Store the step's new keys/values for `layer` ([T, Hkv, D] each). Call for every layer, then `commit`. */
  append(layer: number, k: KVArray, v: KVArray, newTokens: number): void;
  /** Finish a step: the stored length grows by `newTokens`. */
  commit(newTokens: number): void;
  /** Drop everything from token `n` on (prefix reuse; cancelled steps). */
  truncate(n: number): void;
  byteSize(): number;
  snapshot(): CacheSnapshot;
  /** A copy of the whole state (persistence, checkpoints); restorable into a cache of the same plan. */
  exportState(): KVState;
  /** Replace the state with an exported one; throws a RangeError (and changes nothing) if it does not fit. */
  importState(s: KVState): void;
}
