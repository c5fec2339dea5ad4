// The tokenizer of a GGUF model, behaving like llama.cpp's (llama_tokenize / llama_detokenize):
// SentencePiece-style ('llama') and byte-level BPE ('gpt2') vocabularies, special tokens in
// input text, end-of-generation ids, streaming detokenization and chat templates.
import type { GGUFFile } from '../gguf/file';
import { ModelFileError } from '../gguf/errors';
import { BpeEncoder } from './bpe';
import { ChatTemplate, type ChatMessage } from './chat';
import { Pieces } from './pieces';
import { PreTokenizer, SUPPORTED_PRE } from './pretokenize';
import { partitionSpecial } from './special';
import { SpmSession, spmByteTokens } from './spm';
import { Utf8StreamDecoder, type StreamDecoder } from './stream';
import { loadVocab, type Vocab } from './vocab';

export type { ChatMessage, ChatTemplate } from './chat';
export type { StreamDecoder } from './stream';

export interface EncodeOptions {
  /** Prepend the BOS id (default: the model's tokenizer.ggml.add_bos_token, as llama.cpp decides). */
  addBos?: boolean;
  /** Special-token texts in the input (e.g. "<|im_start|>") become their ids (default true). */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Drop control and unknown tokens (BOS, EOS, <|im_end|>...) instead of rendering their text (default false). */
  skipSpecial?: boolean;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Lone surrogates cannot be UTF-8 encoded: replace them with U+FFFD, as TextEncoder would. */
function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

export class Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly addBos: boolean;
  private readonly pieces: Pieces;
  private readonly textEncoder: (text: string, out: number[]) => void;
  private chat: ChatTemplate | undefined;

  private constructor(
    private readonly vocab: Vocab,
    textEncoder: (text: string, out: number[]) => void,
  ) {
    this.vocabSize = vocab.tokens.length;
    this.bosId = vocab.bos;
    this.eosId = vocab.eos;
    this.addBos = vocab.addBos && vocab.bos !== undefined;
    this.pieces = new Pieces(vocab);
    this.textEncoder = textEncoder;
  }

  /** Build the tokenizer from the file's tokenizer.* metadata; throws ModelFileError for unsupported kinds. */
  static fromGGUF(f: GGUFFile): Tokenizer {
    const vocab = loadVocab(f);
    if (vocab.kind === 'spm') {
      const byteTokens = spmByteTokens(vocab);
      return new Tokenizer(vocab, (text, out) => {
        new SpmSession(vocab, byteTokens, text.replaceAll(' ', '\u2581')).run(out);
      });
    }
    const pre = PreTokenizer.forPre(vocab.pre);
    if (!pre) {
      throw new ModelFileError(
        'unsupported-type',
        f.path,
        `unsupported tokenizer.ggml.pre '${vocab.pre}' for a gpt2 (byte-level BPE) tokenizer (supported: ${SUPPORTED_PRE.join(', ')})`,
      );
    }
    const merges = f.strings('tokenizer.ggml.merges');
    if (!merges)
      throw new ModelFileError(
        'missing-metadata',
        f.path,
        'metadata key tokenizer.ggml.merges is missing (required by gpt2 tokenizers)',
      );
    const bpe = new BpeEncoder(vocab, merges, pre);
    return new Tokenizer(vocab, (text, out) => bpe.encode(text, out));
  }

  /** tokenizer.ggml.model family: 'spm' (llama) or 'bpe' (gpt2). */
  get kind(): 'spm' | 'bpe' {
    return this.vocab.kind;
  }

  /** True for ids that end generation (EOS, EOT, <|im_end|>, <|eot_id|>, <|endoftext|>, ... as llama.cpp decides). */
  isEog(id: number): boolean {
    return this.vocab.eog.has(id);
  }

  /** The end-of-generation ids, ascending. */
  get eogIds(): number[] {
    return [...this.vocab.eog].sort((a, b) => a - b);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    return this.encodeParts([{ text, special: opts.parseSpecial ?? true }], opts);
  }

  /**
   * Encode consecutive pieces of one text, parsing control-token text (e.g. "<|im_end|>") only in
   * pieces with `special` set; the others are plain text however they read. Adjacent plain
   * fragments are joined before encoding, so the ids equal encode(joined text) whenever the plain
   * pieces contain no control-token text (chat prompts: template vs message contents).
   */
  encodeParts(parts: readonly { text: string; special: boolean }[], opts: { addBos?: boolean } = {}): number[] {
    const out: number[] = [];
    if ((opts.addBos ?? this.addBos) && this.bosId !== undefined) out.push(this.bosId);
    const fragments: (string | number)[] = [];
    for (const part of parts) {
      for (const f of partitionSpecial(wellFormed(part.text), this.vocab, part.special)) {
        const prev = fragments[fragments.length - 1];
        if (typeof f === 'string' && typeof prev === 'string') fragments[fragments.length - 1] = prev + f;
        else fragments.push(f);
      }
    }
    // SentencePiece: a space is put before the text at the start and after every special token.
    let afterSpecial = true;
    for (const frag of fragments) {
      if (typeof frag === 'number') {
        out.push(frag);
        afterSpecial = true;
        continue;
      }
      this.textEncoder(this.vocab.kind === 'spm' && this.vocab.addSpacePrefix && afterSpecial ? ` ${frag}` : frag, out);
      afterSpecial = false;
    }
    return out;
  }

  /** Inverse of encode: decode(encode(x)) === x for every string x (lone surrogates become U+FFFD). */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecial ?? false;
    const state = this.pieces.start();
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const id of ids) {
      const b = this.pieces.next(id, skip, state);
      parts.push(b);
      total += b.length;
    }
    const all = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(all);
  }

  /** Human-readable piece of one token (special tokens as their text, partial UTF-8 bytes as <0xXX>). */
  tokenPiece(id: number): string {
    return this.pieces.readable(id);
  }

  /** The token's text as stored in the vocabulary (e.g. "Ġthe", "▁the", "<0x0A>"). */
  tokenText(id: number): string {
    const t = this.vocab.tokens[id];
    if (t === undefined) throw new RangeError(`token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    return t;
  }

  /** Id of an exact vocabulary text, if any. */
  tokenId(text: string): number | undefined {
    return this.vocab.tokenToId.get(text);
  }

  /**
   * Incremental decoder for generated ids: push(id) returns newly completed text. The pushed
   * ids are treated as one sequence, so the concatenated output equals decode(ids).
   */
  createStreamDecoder(opts: DecodeOptions = {}): StreamDecoder {
    return new Utf8StreamDecoder(this.pieces, opts.skipSpecial ?? false);
  }

  /**
   * Render a chat prompt with the model's tokenizer.chat_template (bos_token / eos_token set),
   * or built-in ChatML / Llama-3 when the file has none. addGenerationPrompt defaults to true
   * (the prompt ends with the assistant header, ready to generate). If the rendered text starts
   * with the BOS text, encode it with addBos: false to avoid a double BOS.
   */
  applyChatTemplate(messages: readonly ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): string {
    return this.chatTemplate().render(messages, opts.addGenerationPrompt ?? true);
  }

  /**
   * A chat prompt as ids: the template's own control tokens are parsed, message contents are
   * plain text — a file or an answer that contains "<|im_end|>" or "<|im_start|>system" cannot
   * forge a turn. If the template rewrites contents (see chatParts), contents that hold
   * control-token text are refused rather than let through.
   */
  encodeChat(messages: readonly ChatMessage[], opts: { addGenerationPrompt?: boolean } = {}): number[] {
    const parts = this.chatParts(messages, opts);
    if (parts) return this.encodeParts(parts, { addBos: false });
    for (const m of messages) {
      if (partitionSpecial(wellFormed(m.content), this.vocab, true).some((f) => typeof f === 'number')) {
        throw new Error(
          "this model's chat template rewrites message text, and a message contains control-token text (e.g. <|im_end|>) that would become a real control token; remove it from the message or the included files",
        );
      }
    }
    return this.encode(this.applyChatTemplate(messages, opts), { addBos: false, parseSpecial: true });
  }

  /**
   * The rendered chat prompt as pieces for encodeParts: template text (special) and each message's
   * content verbatim (plain). Contents are stood in for by private-use sentinels while the
   * template renders; undefined when they do not come back exactly one each, in order, or the
   * real rendering differs from the pieces joined (the template trims or rewrites contents).
   */
  chatParts(
    messages: readonly ChatMessage[],
    opts: { addGenerationPrompt?: boolean } = {},
  ): { text: string; special: boolean }[] | undefined {
    const text = this.applyChatTemplate(
      messages.map((m, i) => ({ ...m, content: `\uE000${i}\uE001` })),
      opts,
    );
    const parts: { text: string; special: boolean }[] = [];
    let last = 0,
      next = 0;
    for (const m of text.matchAll(/\uE000(\d+)\uE001/g)) {
      if (Number(m[1]) !== next) return undefined;
      parts.push({ text: text.slice(last, m.index), special: true }, { text: messages[next]!.content, special: false });
      next++;
      last = m.index + m[0].length;
    }
    parts.push({ text: text.slice(last), special: true });
    if (next !== messages.length || parts.some((p) => p.special && /[\uE000\uE001]/.test(p.text))) return undefined;
    // the real rendering must be exactly these pieces (a template that trims contents is not)
    return parts.map((p) => p.text).join('') === this.applyChatTemplate(messages, opts) ? parts : undefined;
  }

  /** The template applyChatTemplate uses and where it came from. */
  chatTemplate(): ChatTemplate {
    if (!this.chat) {
      const text = (id: number | undefined): string => (id === undefined ? '' : (this.vocab.tokens[id] as string));
      this.chat = ChatTemplate.select(this.vocab.chatTemplate, this.vocab.tokenToId.has('<|eot_id|>'), {
        bosToken: text(this.bosId),
        eosToken: text(this.eosId),
      });
    }
    return this.chat;
  }
}
