// The map step's plan for a summary (src/context/summarize.ts): each text is cut at line
// boundaries into chunks of about equal size that fit the token budget (chunks.ts), each chunk is
// framed by its file name only (summary-prompts.ts), and consecutive small chunks are packed into
// one part. A part remembers the lines it holds, for the coverage note. Not here: the prompts'
// words, running the model.
import { Chunk, planChunks, splitPieces, TextPiece } from './chunks';
import type { SourceText } from './summarize';
import { FramedText, framingOf, titleOf } from './summary-prompts';

export interface LineRange {
  path: string;
  startLine: number;
  endLine: number;
}

/** What one map step summarizes. */
export interface Part {
  texts: FramedText[];
  /** Tokens of the texts with their framing (not the instruction). */
  tokens: number;
  ranges: LineRange[];
}

/**
 * Parts whose framed texts fit `budget` tokens each; `inputTokens` counts the texts alone.
 * Chunks of one file are of about equal size: each part's summary gets the same share of the
 * output, so one long and one short chunk would leave the long one summarized thinly.
 */
export function planParts(
  docs: readonly SourceText[],
  budget: number,
  count: (text: string) => number,
): { parts: Part[]; inputTokens: number } {
  const parts: Part[] = [];
  let inputTokens = 0;
  for (const d of docs) {
    const firstLine = d.firstLine ?? 1;
    const pieces = splitPieces(d.text, firstLine, budget);
    const title = firstLine === 1 ? titleOf(d.text) : undefined;
    const frame = count(framingOf({ path: d.path, text: '', excerpt: true, title }));
    const chunks = evenChunks(
      pieces,
      pieces.map((p) => count(p.text)),
      Math.max(1, Math.floor((budget - frame) * 0.95)),
    );
    for (const [ci, c] of chunks.entries()) {
      // A later chunk of a file carries the file's first line, so the model knows what it is part of.
      const t: FramedText = {
        path: d.path,
        text: c.text,
        excerpt: chunks.length > 1 || firstLine > 1,
        ...(ci > 0 && title ? { title } : {}),
      };
      const tokens = c.tokens + frame;
      const range = { path: d.path, startLine: c.startLine, endLine: c.endLine };
      inputTokens += c.tokens;
      const last = parts[parts.length - 1];
      if (last && last.tokens + tokens <= budget) {
        last.texts.push(t);
        last.tokens += tokens;
        last.ranges.push(range);
      } else parts.push({ texts: [t], tokens, ranges: [range] });
    }
  }
  return { parts, inputTokens };
}

/** As few chunks as `cap` tokens allow, each as small as that number allows (binary search on the size). */
function evenChunks(pieces: readonly TextPiece[], counts: readonly number[], cap: number): Chunk[] {
  const fewest = planChunks(pieces, counts, cap);
  const total = counts.reduce((a, b) => a + b, 0);
  let lo = Math.max(1, Math.ceil(total / fewest.length)),
    hi = cap,
    best = fewest;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const c = planChunks(pieces, counts, mid);
    if (c.length <= fewest.length) {
      hi = mid;
      best = c;
    } else lo = mid + 1;
  }
  return best;
}
