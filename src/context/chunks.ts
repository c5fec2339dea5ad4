// Splitting a text that does not fit the context into consecutive chunks that do, at line
// boundaries, by token count. The caller counts tokens (the worker's tokenizer); this module
// only plans. Lines longer than a chunk are first cut into pieces of at most `maxPieceChars`
// characters (a piece of n characters is at most ~n tokens for ordinary text), so no single unit
// exceeds the budget. Not here: prompts, summarizing, file reading.

export interface TextPiece {
  text: string;
  /** 1-based line the piece starts on (a cut line yields several pieces on the same line). */
  line: number;
}

export interface Chunk {
  text: string;
  startLine: number;
  /** Inclusive. */
  endLine: number;
  tokens: number;
}

/** Lines (each keeps its newline) with long ones cut into ≤ maxPieceChars pieces. */
export function splitPieces(text: string, firstLine: number, maxPieceChars: number): TextPiece[] {
  if (maxPieceChars < 1) throw new RangeError(`maxPieceChars must be ≥ 1 (got ${maxPieceChars})`);
  const out: TextPiece[] = [];
  const lines = text.split(/(?<=\n)/);
  lines.forEach((l, i) => {
    for (let at = 0; at < l.length; at += maxPieceChars)
      out.push({ text: l.slice(at, at + maxPieceChars), line: firstLine + i });
  });
  return out;
}

/**
 * Greedy packing: consecutive pieces go into a chunk while the sum of their token counts stays
 * within `budget`. A single piece above the budget becomes a chunk of its own (the caller's piece
 * size should prevent it). Token counts of concatenated pieces may differ slightly from the sum
 * of their counts (merges across a line break are rare in BPE vocabularies); callers keep a margin.
 */
export function planChunks(pieces: readonly TextPiece[], counts: readonly number[], budget: number): Chunk[] {
  if (pieces.length !== counts.length) throw new RangeError(`${pieces.length} pieces but ${counts.length} counts`);
  if (budget < 1) throw new RangeError(`budget must be ≥ 1 token (got ${budget})`);
  const chunks: Chunk[] = [];
  let cur: Chunk | null = null;
  pieces.forEach((p, i) => {
    const n = counts[i]!;
    if (cur && cur.tokens + n > budget) {
      chunks.push(cur);
      cur = null;
    }
    if (!cur) cur = { text: '', startLine: p.line, endLine: p.line, tokens: 0 };
    cur.text += p.text;
    cur.endLine = p.line;
    cur.tokens += n;
  });
  if (cur) chunks.push(cur);
  return chunks;
}
