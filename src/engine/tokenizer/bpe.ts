// Byte-level BPE (tokenizer.ggml.model = gpt2), a port of llama.cpp's llm_tokenizer_bpe_session:
// text is split into pre-tokens, each pre-token's UTF-8 bytes are mapped to GPT-2's printable
// byte characters, then adjacent symbols are merged by merge rank (lowest first, ties: leftmost).
// Results are cached per pre-token, which makes long texts (source files) cheap to encode.
import { Heap } from './heap';
import type { PreTokenizer } from './pretokenize';
import type { Vocab } from './vocab';

/** GPT-2's byte → printable character table (bytes_to_unicode). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out: string[] = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCharCode(printable ? b : 256 + n++);
  }
  return out;
})();

/** Inverse of BYTE_TO_CHAR, indexed by UTF-16 code unit (-1 = not a byte character). */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const out = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => {
    out[c.charCodeAt(0)] = b;
  });
  return out;
})();

interface Bigram {
  left: number;
  right: number;
  rank: number;
  size: number;
}

const utf8 = new TextEncoder();
const CACHE_LIMIT = 200_000;

export class BpeEncoder {
  /** Merge "A B" → rank; the first occurrence of a pair wins (std::unordered_map::emplace). */
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, readonly number[]>();

  constructor(
    private readonly vocab: Vocab,
    merges: readonly string[],
    private readonly pre: PreTokenizer,
  ) {
    merges.forEach((m, i) => {
      // llama.cpp splits at the first space after position 0; a merge with no such space is ignored.
      if (m.indexOf(' ', 1) > 0 && !this.ranks.has(m)) this.ranks.set(m, i);
    });
  }

  /** Tokenize one raw-text fragment (no special tokens in it), appending ids to `out`. */
  encode(text: string, out: number[]): void {
    for (const word of this.pre.split(text)) {
      let ids = this.cache.get(word);
      if (ids === undefined) {
        ids = this.encodeWord(word);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  private rank(left: string, right: string): number | undefined {
    // A left part with a space after position 0 can never come from a merge line.
    if (left.indexOf(' ', 1) > 0) return undefined;
    return this.ranks.get(`${left} ${right}`);
  }

  private encodeWord(raw: string): number[] {
    let word = '';
    for (const b of utf8.encode(raw)) word += BYTE_TO_CHAR[b] as string;
    const vocab = this.vocab;
    if (this.pre.ignoreMerges) {
      const whole = vocab.tokenToId.get(word);
      if (whole !== undefined) return [whole];
    }
    // Byte characters are all single UTF-16 units: symbol i starts as word[i].
    const n = word.length;
    const len = new Array<number>(n).fill(1);
    const prev = Array.from({ length: n }, (_, i) => i - 1);
    const next = Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const queue = new Heap<Bigram>((a, b) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left));
    const addBigram = (left: number, right: number): void => {
      if (left === -1 || right === -1) return;
      const ln = len[left] as number;
      const rn = len[right] as number;
      const rank = this.rank(word.slice(left, left + ln), word.slice(right, right + rn));
      if (rank !== undefined) queue.push({ left, right, rank, size: ln + rn });
    };
    for (let i = 1; i < n; i++) addBigram(i - 1, i);
    for (let b = queue.pop(); b !== undefined; b = queue.pop()) {
      const ln = len[b.left] as number;
      const rn = len[b.right] as number;
      // Stale if either side was merged away or grew since the pair was queued.
      if (ln === 0 || rn === 0 || ln + rn !== b.size) continue;
      len[b.left] = ln + rn;
      len[b.right] = 0;
      const after = next[b.right] as number;
      next[b.left] = after;
      if (after >= 0) prev[after] = b.left;
      addBigram(prev[b.left] as number, b.left);
      addBigram(b.left, after);
    }
    const ids: number[] = [];
    for (let i = 0; i !== -1 && n > 0; i = next[i] as number) {
      const piece = word.slice(i, i + (len[i] as number));
      const id = vocab.tokenToId.get(piece);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      // Not in the vocabulary (only with inconsistent merges/vocab): fall back per byte character.
      for (const c of piece) {
        const t = vocab.tokenToId.get(c) ?? vocab.unk;
        if (t !== undefined) ids.push(t);
      }
    }
    return ids;
  }
}
