// The PoD calibration profile as the cache visualizer draws it (pod-method.md §6): per KV head, the
// layers × layers similarity matrix (mean 1 − JSD₂ of distant-token attention) and the blocks the
// greedy δ rule built from it. The host reads the profile file named by `podlens.kv.profile`
// (src/host/visualizer/profile-view.ts) and sends this in the `cache/profile` event. Types and validators only.
import { array, boolean, Infer, nullable, number, object, optional, string } from './validate';

const int0 = number({ integer: true, min: 0 });
const MAX_LAYERS = 512,
  MAX_HEADS = 128;

export const profileViewSchema = object({
  /** File name of the profile (never a full path). */
  file: string({ maxLength: 512 }),
  /** The model file it was measured on. */
  model: string({ maxLength: 512 }),
  nLayers: number({ integer: true, min: 1, max: MAX_LAYERS }),
  nKVHeads: number({ integer: true, min: 1, max: MAX_HEADS }),
  sinks: int0,
  recent: int0,
  contextSize: int0,
  /** Block rule: a layer joins its anchor's block while similarity ≥ delta (and the block ≤ maxBlock layers). */
  delta: number({ min: 0, max: 1 }),
  maxBlock: int0,
  nonAnchorShare: number({ min: 0, max: 1 }),
  texts: int0,
  /** anchors[layer][kvHead] = the anchor layer of that unit's block, −1 for a local unit (docs/pod-qwen.md §2). */
  anchors: array(array(number({ integer: true, min: -1 }), { maxLength: MAX_HEADS }), { maxLength: MAX_LAYERS }),
  /** similarity[kvHead][l][m] in [0, 1]. */
  similarity: array(array(array(number({ min: -1, max: 2 }), { maxLength: MAX_LAYERS }), { maxLength: MAX_LAYERS }), {
    maxLength: MAX_HEADS,
  }),
  /** The loaded KV cache uses this profile (PoD with podlens.kv.profile); else it is only shown. */
  inUse: boolean,
});
export type ProfileView = Infer<typeof profileViewSchema>;

export const profileEventSchema = object({
  profile: nullable(profileViewSchema),
  /** Why no profile (or a stale one) is shown, in one line. */
  note: optional(string({ maxLength: 1024 })),
});
export type ProfileEvent = Infer<typeof profileEventSchema>;

/** Similarity of a unit to its block's anchor (null when the profile does not cover the unit). */
export function anchorSimilarity(p: ProfileView, layer: number, kvHead: number, anchor: number): number | null {
  return p.similarity[kvHead]?.[anchor]?.[layer] ?? null;
}
