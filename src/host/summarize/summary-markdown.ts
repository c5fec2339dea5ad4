// The markdown document Summarize Folder / Workspace opens: the summary, the one-line coverage
// note (what was covered; whether it was stopped), the files summarized with their line ranges
// and each file's own summary, and the files left out, counted by reason. Pure string building; no vscode import.
import { Exclusion } from '../../context/walk';
import { SummaryDone } from '../engine-client';

/** Files listed with their summaries (each was summarized, so each is worth showing). */
const MAX_LISTED = 1000;

export interface WalkSummary {
  files: number;
  excluded: readonly Exclusion[];
  unlisted: number;
  stopped?: string;
}

/** "12 files left out (5 ignored (.gitignore), 4 binary …)" or ''. */
export function exclusionLine(w: WalkSummary): string {
  const n = w.excluded.length + w.unlisted;
  const byReason = new Map<string, number>();
  for (const e of w.excluded) {
    const r = e.reason.replace(/ \(\d+\)$/, '').replace(/\(\d+ bytes?\)/, '');
    byReason.set(r, (byReason.get(r) ?? 0) + 1);
  }
  const reasons = [...byReason]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([r, k]) => `${k} ${r}`)
    .join(', ');
  const parts = [
    n > 0
      ? `${n} file${n === 1 ? '' : 's'} left out (${reasons}${w.unlisted ? `, ${w.unlisted} more not listed` : ''}).`
      : '',
    w.stopped ? `The folder scan ${w.stopped}.` : '',
  ];
  return parts.filter(Boolean).join(' ');
}

export function summaryMarkdown(label: string, r: SummaryDone, w: WalkSummary): string {
  const stopped = r.partsDone < r.parts;
  const lines = [
    `# Summary of ${label}`,
    '',
    stopped ? `> **Stopped before the end** — this summary covers only part of ${label}: ${r.note}` : '',
    r.summary.trim() ||
      (r.covered.some((c) => c.summary) ? '*(No overview: it is written once every file is summarized.)*' : '(empty)'),
    '',
    '---',
    '',
    `*${r.note}${exclusionLine(w) ? ` ${exclusionLine(w)}` : ''}*`,
    '',
    `## Files summarized (${r.covered.length} of ${w.files} read)`,
    '',
    ...r.covered
      .slice(0, MAX_LISTED)
      .map(
        (c) =>
          `- \`${c.path}\` lines ${c.startLine}–${c.endLine}${c.endLine < c.totalLines ? ` of ${c.totalLines} (partly)` : ''}${c.summary ? ` — ${c.summary.replace(/\s+/g, ' ').trim()}` : ''}`,
      ),
    r.covered.length > MAX_LISTED ? `- … and ${r.covered.length - MAX_LISTED} more` : '',
  ];
  return (
    lines
      .filter((l, i, a) => l !== '' || a[i - 1] !== '')
      .join('\n')
      .trimEnd() + '\n'
  );
}
