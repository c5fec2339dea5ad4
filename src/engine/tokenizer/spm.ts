// SentencePiece-style tokenization of one text fragment, a port of llama.cpp's
// llm_tokenizer_spm_session: start from single characters, repeatedly merge the adjacent pair
// whose concatenation is the highest-scoring vocabulary token (ties: leftmost), then emit
// tokens, splitting unknown pieces back along their merge history and finally into
// byte-fallback tokens <0xXX>.
import { Heap } from './heap';
import type { Vocab } from './vocab';

interface Bigram {
  left: number;
  right: number;
  score: number;
  size: number;
}

const utf8 = new TextEncoder();
const HEX = '0123456789ABCDEF';

/** Map from byte value to its byte-fallback token (`<0xXX>`, else the 1-char ASCII token). */
export function spmByteTokens(vocab: Vocab): (number | undefined)[] {
  const out: (number | undefined)[] = [];
  for (let b = 0; b < 256; b++) {
    const hex = `<0x${HEX[b >> 4]}${HEX[b & 15]}>`;
    out.push(vocab.tokenToId.get(hex) ?? (b < 0x80 ? vocab.tokenToId.get(String.fromCharCode(b)) : undefined));
  }
  return out;
}

export class SpmSession {
  // Symbol i covers text[start[i], start[i] + len[i]) (UTF-16 units); len 0 = merged away.
  private start: number[] = [];
  private len: number[] = [];
  private prev: number[] = [];
  private next: number[] = [];
  private readonly queue = new Heap<Bigram>((a, b) => a.score > b.score || (a.score === b.score && a.left < b.left));
  private readonly revMerge = new Map<string, [number, number]>();

  constructor(
    private readonly vocab: Vocab,
    private readonly byteTokens: readonly (number | undefined)[],
    private readonly text: string,
  ) {}

  /** Tokenize the (already ▁-escaped) fragment, appending ids to `out`. */
  run(out: number[]): void {
    const text = this.text;
    if (text.length === 0) return;
    for (let i = 0; i < text.length;) {
      const w = (text.codePointAt(i) as number) > 0xffff ? 2 : 1;
      const idx = this.start.length;
      this.start.push(i);
      this.len.push(w);
      this.prev.push(idx - 1);
      i += w;
      this.next.push(i === text.length ? -1 : idx + 1);
    }
    for (let i = 1; i < this.start.length; i++) this.tryAddBigram(i - 1, i);

    for (let b = this.queue.pop(); b !== undefined; b = this.queue.pop()) {
      const ln = this.len[b.left] as number;
      const rn = this.len[b.right] as number;
      if (ln === 0 || rn === 0 || ln + rn !== b.size) continue; // stale
      this.len[b.left] = ln + rn;
      this.len[b.right] = 0;
      const after = this.next[b.right] as number;
      this.next[b.left] = after;
      if (after >= 0) this.prev[after] = b.left;
      this.tryAddBigram(this.prev[b.left] as number, b.left);
      this.tryAddBigram(b.left, after);
    }

    for (let i = 0; i !== -1; i = this.next[i] as number) this.resegment(i, out);
  }

  private symText(i: number): string {
    const s = this.start[i] as number;
    return this.text.slice(s, s + (this.len[i] as number));
  }

  private tryAddBigram(left: number, right: number): void {
    if (left === -1 || right === -1) return;
    const s = this.start[left] as number;
    const size = (this.len[left] as number) + (this.len[right] as number);
    const text = this.text.slice(s, s + size);
    const id = this.vocab.tokenToId.get(text);
    if (id === undefined) return;
    this.queue.push({ left, right, score: this.vocab.scores[id] as number, size });
    this.revMerge.set(text, [left, right]);
  }

  private resegment(i: number, out: number[]): void {
    const text = this.symText(i);
    const id = this.vocab.tokenToId.get(text);
    if (id !== undefined) {
      out.push(id);
      return;
    }
    const parts = this.revMerge.get(text);
    if (parts === undefined) {
      for (const byte of utf8.encode(text)) {
        const t = this.byteTokens[byte] ?? this.vocab.unk;
        if (t === undefined)
          throw new Error(
            `${this.vocab.file}: no byte-fallback token <0x${HEX[byte >> 4]}${HEX[byte & 15]}> and no unknown token`,
          );
        out.push(t);
      }
      return;
    }
    this.resegment(parts[0], out);
    this.resegment(parts[1], out);
  }
}
