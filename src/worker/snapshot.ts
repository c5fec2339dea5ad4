// Where the engine's `CacheSnapshot` (src/engine/kv/types.ts) meets the visualizer's wire type
// (src/shared/cache-view.ts `SnapshotWire`). Fields are copied one by one so the compiler checks
// the mapping when either side changes. Per-head bytes (`perHead`) go out as `headBytes`. The PoD part (`snapshot.pod`: share mode, anchors per
// layer × KV head, token partition) becomes the wire's optional fields; the full cache has none.
import { CacheSnapshot } from '../engine/kv/types';
import { LOCAL } from '../engine/kv/plan';
import { HeadCell, SnapshotWire } from '../shared/cache-view';

export function toSnapshotWire(s: CacheSnapshot): SnapshotWire {
  const wire: SnapshotWire = {
    kind: s.kind,
    tokens: s.tokens,
    capacityTokens: s.capacityTokens,
    nLayers: s.nLayers,
    nKVHeads: s.nKVHeads,
    headDim: s.headDim,
    bytesPerElement: s.bytesPerElement,
    allocatedBytes: s.allocatedBytes,
    usedBytes: s.usedBytes,
    fullCacheBytes: s.fullCacheBytes,
    perLayer: s.perLayer.map((l) => ({
      layer: l.layer,
      kBytes: l.kBytes,
      vBytes: l.vBytes,
      usedBytes: l.usedBytes,
      fullBytes: l.fullBytes,
    })),
    headBytes: s.perHead.map((h) => ({ layer: h.layer, kvHead: h.kvHead, bytes: h.usedBytes })),
  };
  const pod = s.pod;
  if (pod) {
    wire.shareMode = pod.mode;
    wire.sinkTokens = pod.tokens.sinks;
    wire.recentTokens = pod.tokens.recent;
    wire.distantTokens = pod.tokens.distant;
    // anchors[layer][kvHead] = the anchor layer of that unit's block, or LOCAL (pod.ts, plan.ts).
    const heads: HeadCell[] = [];
    pod.anchors.forEach((row, layer) =>
      row.forEach((anchor, kvHead) =>
        heads.push(
          anchor === LOCAL
            ? { layer, kvHead, block: layer, anchor: false, local: true }
            : { layer, kvHead, block: anchor, anchor: anchor === layer },
        ),
      ),
    );
    wire.heads = heads;
  }
  return wire;
}
