// Token ids back to bytes, as llama.cpp's token_to_piece does: control/unknown tokens render as
// their text (or nothing when special tokens are skipped), user-defined tokens as their text,
// SentencePiece pieces with ▁ turned back into spaces, byte-level BPE pieces through the GPT-2
// byte table, byte tokens <0xXX> as that byte. Also undoes SentencePiece's added space prefix.
import { CHAR_TO_BYTE } from './bpe';
import { Attr, type Vocab } from './vocab';

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);
const SPECIAL = Attr.CONTROL | Attr.UNKNOWN;
const SPLIT_OUT = Attr.CONTROL | Attr.UNKNOWN | Attr.USER_DEFINED;

/** Decoding state carried from token to token. */
export interface PieceState {
  /** The next text token's leading space was added by the tokenizer (add_space_prefix) and is dropped. */
  stripSpace: boolean;
}

export class Pieces {
  private readonly cache: (Uint8Array | undefined)[] = [];

  constructor(private readonly vocab: Vocab) {}

  /** Fresh decoding state for a token sequence that starts a text. */
  start(): PieceState {
    return { stripSpace: this.vocab.addSpacePrefix };
  }

  /** Bytes of `id` at this point of a sequence (updates `state`). */
  next(id: number, skipSpecial: boolean, state: PieceState): Uint8Array {
    const attr = this.attr(id);
    if ((attr & SPLIT_OUT) !== 0) {
      // Encoding puts the space prefix back after every special token, so decoding removes it there too.
      state.stripSpace = this.vocab.addSpacePrefix;
      return skipSpecial && (attr & SPECIAL) !== 0 ? EMPTY : this.bytes(id);
    }
    const b = this.bytes(id);
    const strip = state.stripSpace && (attr & Attr.NORMAL) !== 0 && b[0] === 0x20;
    state.stripSpace = false;
    return strip ? b.subarray(1) : b;
  }

  /** Bytes of `id` on its own (special tokens as their text). */
  bytes(id: number): Uint8Array {
    let b = this.cache[id];
    if (b === undefined) {
      b = this.compute(id);
      this.cache[id] = b;
    }
    return b;
  }

  /** Human-readable piece: the decoded text, with bytes that are not whole UTF-8 characters shown as <0xXX>. */
  readable(id: number): string {
    const b = this.bytes(id);
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
    } catch {
      return Array.from(b, (x) =>
        x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : `<0x${x.toString(16).toUpperCase().padStart(2, '0')}>`,
      ).join('');
    }
  }

  private attr(id: number): number {
    const a = this.vocab.attrs[id];
    if (a === undefined || !Number.isInteger(id))
      throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.vocab.tokens.length - 1})`);
    return a;
  }

  private compute(id: number): Uint8Array {
    const attr = this.attr(id);
    const text = this.vocab.tokens[id] as string;
    if ((attr & SPLIT_OUT) !== 0) return utf8.encode(text);
    if ((attr & Attr.NORMAL) !== 0) {
      if (this.vocab.kind === 'spm') return utf8.encode(text.replaceAll('\u2581', ' '));
      return byteLevelDecode(text);
    }
    if ((attr & Attr.BYTE) !== 0) {
      const v = parseInt(text.slice(3, 5), 16);
      return Number.isNaN(v) ? EMPTY : Uint8Array.of(v);
    }
    return EMPTY; // unused / undefined token types render as nothing in llama.cpp
  }
}

/** GPT-2 byte characters → bytes; a character outside the table passes through as its UTF-8. */
function byteLevelDecode(text: string): Uint8Array {
  const out: number[] = [];
  for (const c of text) {
    const code = c.charCodeAt(0);
    const b = c.length === 1 && code < CHAR_TO_BYTE.length ? (CHAR_TO_BYTE[code] as number) : -1;
    if (b >= 0) out.push(b);
    else for (const x of utf8.encode(c)) out.push(x);
  }
  return Uint8Array.from(out);
}
