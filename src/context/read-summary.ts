// What a workspace read left out, for people: exclusions grouped by kind (binary, too large,
// ignored, over the token budget, other: lock, minified, generated, empty, encoding, limits),
// the paths the ignore lists skipped without a manifest line, and the largest excluded files.
// The host writes these lines to the PodLens output channel after a read; the measurement in
// docs/workspace-reading.md prints them too. Pure string building; no I/O, no vscode.
import { Exclusion, Skipped } from './walk';

export type ExclusionKind = 'binary' | 'too large' | 'ignored' | 'over budget' | 'other';
export const EXCLUSION_KINDS: readonly ExclusionKind[] = ['binary', 'too large', 'ignored', 'over budget', 'other'];

export function exclusionKind(reason: string): ExclusionKind {
  if (reason.startsWith('binary')) return 'binary';
  if (reason.startsWith('larger than') || reason.startsWith('total size limit')) return 'too large';
  if (reason.startsWith('ignored')) return 'ignored';
  if (reason.startsWith('over the token budget')) return 'over budget';
  return 'other';
}

/** The reason without its numbers ("larger than 262144 bytes (900000)" → "larger than 262144 bytes"). */
export const reasonKey = (reason: string): string =>
  reason
    .replace(/ \(\d+\)$/, '')
    .replace(/ \(\d+ tokens(, \d+ left)?\)$/, '')
    .replace(/ \(\d+ tokens left\)$/, '');

export interface ExclusionCounts {
  total: number;
  /** Per kind, with the reasons inside it (most frequent first). */
  kinds: { kind: ExclusionKind; count: number; reasons: [string, number][] }[];
  /** Excluded files with a known size, largest first. */
  largest: Exclusion[];
}

export function countExclusions(excluded: readonly Exclusion[], unlisted = 0, largest = 5): ExclusionCounts {
  const byKind = new Map<ExclusionKind, Map<string, number>>();
  for (const e of excluded) {
    const k = exclusionKind(e.reason);
    const m = byKind.get(k) ?? new Map<string, number>();
    byKind.set(k, m);
    const r = reasonKey(e.reason);
    m.set(r, (m.get(r) ?? 0) + 1);
  }
  const kinds = EXCLUSION_KINDS.filter((k) => byKind.has(k)).map((kind) => {
    const reasons = [...byKind.get(kind)!].sort((a, b) => b[1] - a[1]);
    return { kind, count: reasons.reduce((a, [, n]) => a + n, 0), reasons };
  });
  const sized = excluded.filter((e) => e.bytes !== undefined).sort((a, b) => b.bytes! - a.bytes!);
  return { total: excluded.length + unlisted, kinds, largest: sized.slice(0, largest) };
}

/** 1234567 → "1,234,567" (not toLocaleString: its first call loads ICU data, ~80 ms on the caller's thread). */
export const thousands = (n: number): string => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

export const formatBytes = (b: number): string =>
  b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MB` : b >= 1024 ? `${Math.round(b / 1024)} KB` : `${b} B`;

export interface SummaryInput {
  excluded: readonly Exclusion[];
  unlisted: number;
  skipped: readonly Skipped[];
  stopped?: string;
}

/**
 * Lines for the output channel: "excluded N: …", the reasons inside each kind, what the ignore
 * lists skipped, the largest excluded files, and the limit that stopped the walk (if one did).
 */
export function exclusionLines(r: SummaryInput): string[] {
  const c = countExclusions(r.excluded, r.unlisted);
  const lines: string[] = [];
  if (c.total === 0) lines.push('excluded: none');
  else {
    const kinds = c.kinds.map((k) => `${k.count} ${k.kind}`).join(', ');
    lines.push(`excluded ${c.total}: ${kinds}${r.unlisted ? ` (+ ${r.unlisted} not listed)` : ''}`);
    for (const k of c.kinds)
      lines.push(
        `  ${k.kind}: ${k.reasons
          .slice(0, 6)
          .map(([why, n]) => `${n} ${why}`)
          .join('; ')}`,
      );
  }
  if (r.skipped.length) {
    lines.push(
      `skipped by the ignore lists (not listed): ${r.skipped.map((s) => `${s.count} by ${s.rule} (${s.examples.join(', ')}${s.count > s.examples.length ? ', …' : ''})`).join('; ')}`,
    );
  }
  if (c.largest.length)
    lines.push(
      `largest excluded: ${c.largest.map((e) => `${e.path} ${formatBytes(e.bytes!)} (${reasonKey(e.reason)})`).join('; ')}`,
    );
  if (r.stopped) lines.push(`the walk ${r.stopped}`);
  return lines;
}
