// What the cache visualizer draws, derived from the engine's `KVCache.snapshot()` and nothing
// else. Two layers of types:
//   - `SnapshotWire`: the snapshot as it crosses the worker → host → webview boundaries. It mirrors
//     src/engine/kv/types.ts `CacheSnapshot` (this folder may not import the engine; the worker's
//     `toSnapshotWire` is where the two meet and the compiler checks the mapping). The PoD fields
//     (share mode, token ranges, per layer × KV-head blocks and anchors, calibration similarity,
//     are optional: the full cache has none of them. Bytes per layer and per (layer, KV head)
//     are the cache's own count (kv/*.ts snapshot(): no formula here).
//   - `CacheView`: the pure, precomputed picture (grid cells, bars, totals) the webview renders.
// Not here: drawing (webview/visualizer), throttling and replay (src/host/visualizer/cache-state.ts).
import { array, boolean, Infer, nullable, number, object, optional, Schema, string } from './validate';

const int0 = number({ integer: true, min: 0 });
const bytes = number({ min: 0 });

const headCell = object({
  layer: int0,
  kvHead: int0,
  /** The anchor layer of the cell's block: in one KV-head column, cells with the same block share
   *  that anchor's distant-token attention (PoD). */
  block: int0,
  /** The cell is its block's anchor (layer === block). */
  anchor: boolean,
  /** A local unit (docs/pod-qwen.md §2): keeps sink and recent tokens only, no distant keys or values. */
  local: optional(boolean),
  /** Calibration similarity to the block's anchor, 0–1 (absent for anchors and the full cache). */
  similarity: optional(number({ min: -1, max: 1 })),
});

export const snapshotWireSchema = object({
  kind: string({ maxLength: 64 }),
  tokens: int0,
  capacityTokens: int0,
  nLayers: number({ integer: true, min: 0, max: 4096 }),
  nKVHeads: number({ integer: true, min: 0, max: 4096 }),
  headDim: int0,
  bytesPerElement: bytes,
  allocatedBytes: bytes,
  usedBytes: bytes,
  fullCacheBytes: bytes,
  perLayer: array(object({ layer: int0, kBytes: bytes, vBytes: bytes, usedBytes: bytes, fullBytes: bytes }), {
    maxLength: 4096,
  }),
  /** K + V bytes each (layer, KV head) unit holds for the live tokens (the cache's own count; they sum to usedBytes). */
  headBytes: optional(array(object({ layer: int0, kvHead: int0, bytes }), { maxLength: 4096 * 64 })),
  // ---- PoD (absent for the full cache) ----
  /** What non-anchor layers share with their anchor: 'scores' or 'keys'. */
  shareMode: optional(string({ maxLength: 32 })),
  sinkTokens: optional(int0),
  recentTokens: optional(int0),
  distantTokens: optional(int0),
  heads: optional(array(headCell, { maxLength: 4096 * 64 })),
});
export type SnapshotWire = Infer<typeof snapshotWireSchema>;
export type HeadCell = Infer<typeof headCell>;

export interface GridCell {
  layer: number;
  kvHead: number;
  /** Anchor layer of the cell's block; null for a cache without blocks (every cell is its own). */
  block: number | null;
  anchor: boolean;
  /** Keeps no distant keys or values (docs/pod-qwen.md §2); its block is its own layer. */
  local: boolean;
  similarity: number | null;
  /** K + V bytes the unit holds (null when the snapshot has no per-head counts). */
  bytes: number | null;
}

export interface LayerBar {
  layer: number;
  /** K + V bytes this cache holds for the layer. */
  bytes: number;
  /** K + V bytes a full cache would hold for the same tokens. */
  fullBytes: number;
  /** K + V bytes allocated for the layer (capacity, including room not yet used). */
  allocatedBytes: number;
}

export interface CacheView {
  kind: string;
  tokens: number;
  capacityTokens: number;
  nLayers: number;
  nKVHeads: number;
  headDim: number;
  /** Row-major layers × KV heads. */
  grid: GridCell[];
  /** Distinct (anchor layer, KV head) blocks, local cells aside; 0 without blocks. */
  blocks: number;
  /** Local cells (no distant keys or values). */
  localCells: number;
  shareMode: string | null;
  layers: LayerBar[];
  allocatedBytes: number;
  usedBytes: number;
  fullCacheBytes: number;
  /** 0–100: how much smaller than a full cache (0 for the full cache itself). */
  savedPercent: number;
  /** Token ranges; null where the cache does not split them (the full cache keeps everything). */
  sinkTokens: number | null;
  recentTokens: number | null;
  distantTokens: number | null;
}

const cellSchema: Schema<GridCell> = object({
  layer: int0,
  kvHead: int0,
  block: nullable(int0),
  anchor: boolean,
  local: boolean,
  similarity: nullable(number({ min: -1, max: 1 })),
  bytes: nullable(bytes),
});

export const cacheViewSchema: Schema<CacheView> = object({
  kind: string({ maxLength: 64 }),
  tokens: int0,
  capacityTokens: int0,
  nLayers: int0,
  nKVHeads: int0,
  headDim: int0,
  grid: array(cellSchema, { maxLength: 4096 * 64 }),
  blocks: int0,
  localCells: int0,
  shareMode: nullable(string({ maxLength: 32 })),
  layers: array(object({ layer: int0, bytes, fullBytes: bytes, allocatedBytes: bytes }), { maxLength: 4096 }),
  allocatedBytes: bytes,
  usedBytes: bytes,
  fullCacheBytes: bytes,
  savedPercent: number({ min: 0, max: 100 }),
  sinkTokens: nullable(int0),
  recentTokens: nullable(int0),
  distantTokens: nullable(int0),
});

/** The picture of one snapshot. */
export function buildCacheView(s: SnapshotWire): CacheView {
  const byCell = new Map<string, HeadCell>();
  for (const h of s.heads ?? []) byCell.set(`${h.layer}:${h.kvHead}`, h);
  const headBytes = new Map<string, number>();
  for (const h of s.headBytes ?? []) headBytes.set(`${h.layer}:${h.kvHead}`, h.bytes);
  const grid: GridCell[] = [];
  for (let layer = 0; layer < s.nLayers; layer++) {
    for (let kvHead = 0; kvHead < s.nKVHeads; kvHead++) {
      const h = byCell.get(`${layer}:${kvHead}`);
      grid.push({
        layer,
        kvHead,
        block: h?.block ?? null,
        anchor: h?.anchor ?? false,
        local: h?.local ?? false,
        similarity: h?.similarity ?? null,
        bytes: headBytes.get(`${layer}:${kvHead}`) ?? null,
      });
    }
  }
  const blocks = new Set(grid.filter((c) => c.block !== null && !c.local).map((c) => `${c.block}:${c.kvHead}`)).size;
  const localCells = grid.filter((c) => c.local).length;
  // Per-layer bytes are the cache's own account (kv/*.ts snapshot()), drawn as they are.
  const layers = s.perLayer.map((l) => ({
    layer: l.layer,
    bytes: l.usedBytes,
    fullBytes: l.fullBytes,
    allocatedBytes: l.kBytes + l.vBytes,
  }));
  const saved = s.fullCacheBytes > 0 ? Math.max(0, Math.min(100, (1 - s.usedBytes / s.fullCacheBytes) * 100)) : 0;
  return {
    kind: s.kind,
    tokens: s.tokens,
    capacityTokens: s.capacityTokens,
    nLayers: s.nLayers,
    nKVHeads: s.nKVHeads,
    headDim: s.headDim,
    grid,
    blocks,
    localCells,
    shareMode: s.shareMode ?? null,
    layers,
    allocatedBytes: s.allocatedBytes,
    usedBytes: s.usedBytes,
    fullCacheBytes: s.fullCacheBytes,
    savedPercent: saved,
    sinkTokens: s.sinkTokens ?? null,
    recentTokens: s.recentTokens ?? null,
    distantTokens: s.distantTokens ?? null,
  };
}
