// Splits input text around special tokens before normal tokenization, mirroring llama.cpp's
// tokenizer_st_partition: each special token text (control, user-defined, unknown), longest
// first, is cut out of every remaining text fragment, left to right.
import { Attr, type Vocab } from './vocab';

/** A piece of input: raw text still to tokenize, or an already-resolved token id. */
export type Fragment = string | number;

const isCSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';

/**
 * Cut special tokens out of `text`. With `parseSpecial` false, control and unknown tokens are
 * left as text but user-defined tokens are still matched (as llama.cpp and HF tokenizers do).
 */
export function partitionSpecial(text: string, vocab: Vocab, parseSpecial: boolean): Fragment[] {
  let fragments: Fragment[] = text === '' ? [] : [text];
  for (const id of vocab.specialByLength) {
    const attr = vocab.attrs[id] as number;
    if (!parseSpecial && (attr & (Attr.CONTROL | Attr.UNKNOWN)) !== 0) continue;
    const tokText = vocab.tokens[id] as string;
    let next: Fragment[] | undefined;
    for (let i = 0; i < fragments.length; i++) {
      const frag = fragments[i] as Fragment;
      if (typeof frag === 'number' || !frag.includes(tokText)) {
        next?.push(frag);
        continue;
      }
      if (!next) next = fragments.slice(0, i);
      splitAround(frag, tokText, id, (attr & Attr.LSTRIP) !== 0, (attr & Attr.RSTRIP) !== 0, next);
    }
    if (next) fragments = next;
  }
  return fragments;
}

function splitAround(
  raw: string,
  tokText: string,
  id: number,
  lstrip: boolean,
  rstrip: boolean,
  out: Fragment[],
): void {
  let pos = 0;
  for (;;) {
    const m = raw.indexOf(tokText, pos);
    if (m < 0) {
      if (pos < raw.length) out.push(raw.slice(pos));
      return;
    }
    let leftEnd = m;
    if (lstrip) while (leftEnd > pos && isCSpace(raw[leftEnd - 1])) leftEnd--;
    if (leftEnd > pos) out.push(raw.slice(pos, leftEnd));
    out.push(id);
    pos = m + tokText.length;
    if (rstrip) while (pos < raw.length && isCSpace(raw[pos])) pos++;
    if (pos >= raw.length) return;
  }
}
