// The map step's plan for summarizing one text (src/context/summarize.ts): the text is cut at
// line boundaries into chunks of about equal size that fit the token budget (chunks.ts), each
// framed by its file name only (summary-prompts.ts); one chunk is one map step. A part remembers
// the lines it holds, for the coverage note. Not here: the prompts' words, running the model.
import { Chunk, planChunks, splitPieces, TextPiece } from './chunks';
import type { SourceText } from './summarize';
import { FramedText, framingOf, titleOf } from './summary-prompts';

/** What one map step summarizes. */
export interface Part {
  text: FramedText;
  /** Tokens of the text with its framing (not the instruction). */
  tokens: number;
  startLine: number;
  endLine: number;
}

/**
 * Parts whose framed text fits `budget` tokens each; `inputTokens` counts the text alone. The
 * chunks are of about equal size: each part's summary gets the same share of the output, so one
 * long and one short chunk would leave the long one summarized thinly.
 */
export function planParts(
  doc: SourceText,
  budget: number,
  count: (text: string) => number,
): { parts: Part[]; inputTokens: number } {
  const firstLine = doc.firstLine ?? 1;
  const pieces = splitPieces(doc.text, firstLine, budget);
  const title = firstLine === 1 ? titleOf(doc.text) : undefined;
  const frame = count(framingOf({ path: doc.path, text: '', excerpt: true, title }));
  const chunks = evenChunks(
    pieces,
    pieces.map((p) => count(p.text)),
    Math.max(1, Math.floor((budget - frame) * 0.95)),
  );
  const parts = chunks.map((c, ci) => ({
    // A later chunk of a file carries the file's first line, so the model knows what it is part of.
    text: {
      path: doc.path,
      text: c.text,
      excerpt: chunks.length > 1 || firstLine > 1,
      ...(ci > 0 && title ? { title } : {}),
    },
    tokens: c.tokens + frame,
    startLine: c.startLine,
    endLine: c.endLine,
  }));
  return { parts, inputTokens: chunks.reduce((n, c) => n + c.tokens, 0) };
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
