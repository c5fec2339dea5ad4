// The vocabulary of a GGUF model as llama.cpp's llama_vocab::impl::load sees it: token texts,
// scores, per-token attributes (with llama.cpp's text-based overrides), special ids, the
// end-of-generation set and the special-token list used to split input text before tokenizing.
import type { GGUFFile } from '../gguf/file';
import { ModelFileError } from '../gguf/errors';

/** llama_token_attr bits (llama.h). */
export const Attr = {
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
  LSTRIP: 1 << 7,
  RSTRIP: 1 << 8,
} as const;

/** tokenizer.ggml.token_type values (llama_token_type) → attribute bits. */
const TYPE_TO_ATTR: Record<number, number> = {
  1: Attr.NORMAL,
  2: Attr.UNKNOWN,
  3: Attr.CONTROL,
  4: Attr.USER_DEFINED,
  5: Attr.UNUSED,
  6: Attr.BYTE,
};

export type VocabKind = 'spm' | 'bpe';

export interface Vocab {
  readonly file: string;
  readonly kind: VocabKind;
  /** tokenizer.ggml.pre as written in the file ('' when absent). */
  readonly pre: string;
  readonly tokens: readonly string[];
  readonly scores: Float64Array;
  readonly attrs: Uint16Array;
  /** Text → id; on duplicate texts the last id wins, as in llama.cpp. */
  readonly tokenToId: ReadonlyMap<string, number>;
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  readonly unk: number | undefined;
  readonly addBos: boolean;
  readonly addSpacePrefix: boolean;
  readonly eog: ReadonlySet<number>;
  /** Control / user-defined / unknown tokens, longest UTF-8 text first (tokenizer_st_partition order). */
  readonly specialByLength: readonly number[];
  readonly chatTemplate: string | undefined;
}

const EOT_TEXTS = [
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '<|end_of_text|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '<｜end▁of▁sentence｜>',
  '<end_of_utterance>',
];
const EOM_TEXTS = ['<|eom_id|>'];
const FIM_PAD_TEXTS = ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'];
const FIM_REP_TEXTS = ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'];
const FIM_SEP_TEXTS = ['<|file_sep|>'];
const FIM_PRE_TEXTS = [
  '<|fim_prefix|>',
  '<fim-prefix>',
  '<fim_prefix>',
  '<｜fim▁begin｜>',
  '<PRE>',
  '▁<PRE>',
  '<|code_prefix|>',
  '<|prefix|>',
];
const FIM_SUF_TEXTS = [
  '<|fim_suffix|>',
  '<fim-suffix>',
  '<fim_suffix>',
  '<｜fim▁hole｜>',
  '<SUF>',
  '▁<SUF>',
  '<|code_suffix|>',
  '<|suffix|>',
];
const FIM_MID_TEXTS = [
  '<|fim_middle|>',
  '<fim-middle>',
  '<fim_middle>',
  '<｜fim▁end｜>',
  '<MID>',
  '▁<MID>',
  '<|code_middle|>',
  '<|middle|>',
];
const EOG_TEXTS = new Set([
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<|return|>',
  '<|call|>',
  '<|flush|>',
  '<|calls|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '</s>',
  '<|eom_id|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '[EOS]',
  '<|end_of_text|>',
  '<end_of_utterance>',
  '<eos>',
  '<turn|>',
  '<|tool_response>',
  '<｜end▁of▁sentence｜>',
  '[e~[',
]);
/** Pre-tokenizer names for which llama.cpp turns add_bos on before reading add_bos_token. */
const PRE_ADDS_BOS = new Set([
  'llama3',
  'llama-v3',
  'llama-bpe',
  'falcon3',
  'falcon-h1',
  'pixtral',
  'midm-2.0',
  'lfm2',
  'jina-v5-nano',
  'tekken',
  'chameleon',
]);

const utf8 = new TextEncoder();

export function loadVocab(f: GGUFFile): Vocab {
  const model = f.string('tokenizer.ggml.model', undefined);
  if (model === undefined)
    throw new ModelFileError(
      'missing-metadata',
      f.path,
      'metadata key tokenizer.ggml.model is missing (the file has no tokenizer)',
    );
  let kind: VocabKind;
  if (model === 'llama') kind = 'spm';
  else if (model === 'gpt2') kind = 'bpe';
  else
    throw new ModelFileError(
      'unsupported-type',
      f.path,
      `unsupported tokenizer.ggml.model '${model}' (supported: 'llama' = SentencePiece, 'gpt2' = byte-level BPE)`,
    );

  const tokens = f.strings('tokenizer.ggml.tokens');
  if (!tokens || tokens.length === 0)
    throw new ModelFileError('missing-metadata', f.path, 'metadata key tokenizer.ggml.tokens is missing or empty');
  const n = tokens.length;
  const scoresIn = f.numbers('tokenizer.ggml.scores');
  const types = f.numbers('tokenizer.ggml.token_type');
  if (scoresIn && scoresIn.length < n)
    throw new ModelFileError('corrupt', f.path, `tokenizer.ggml.scores has ${scoresIn.length} entries for ${n} tokens`);
  if (types && types.length < n)
    throw new ModelFileError(
      'corrupt',
      f.path,
      `tokenizer.ggml.token_type has ${types.length} entries for ${n} tokens`,
    );

  const texts: string[] = new Array<string>(n);
  const scores = new Float64Array(n);
  const attrs = new Uint16Array(n);
  const tokenToId = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const word = tokens[i] === '' ? `[EMPTY_${i}]` : (tokens[i] as string);
    texts[i] = word;
    tokenToId.set(word, i);
    scores[i] = scoresIn ? (scoresIn[i] as number) : 0;
    attrs[i] = types ? (TYPE_TO_ATTR[types[i] as number] ?? 0) : Attr.NORMAL;
  }

  // Special ids: per-type defaults, disabled when out of range, then overridden by valid metadata.
  const inRange = (id: number | undefined): number | undefined =>
    id !== undefined && id >= 0 && id < n ? id : undefined;
  const special = (key: string, fallback: number | undefined): number | undefined => {
    const v = f.number(`tokenizer.ggml.${key}`, undefined);
    return inRange(v) ?? inRange(fallback);
  };
  const bos = special('bos_token_id', kind === 'spm' ? 1 : 11);
  const eos = special('eos_token_id', kind === 'spm' ? 2 : 11);
  const unk = special('unknown_token_id', kind === 'spm' ? 0 : undefined);
  const eotMeta = special('eot_token_id', undefined);
  const eomMeta = special('eom_token_id', undefined);
  const fimMeta = (key: string, legacy?: string): number | undefined =>
    (legacy !== undefined ? special(`${legacy}_token_id`, undefined) : undefined) ??
    special(`fim_${key}_token_id`, undefined); // the deprecated key is read last in llama.cpp

  const pre = f.string('tokenizer.ggml.pre', undefined) ?? '';
  const addBos = f.bool('tokenizer.ggml.add_bos_token', kind === 'spm' || PRE_ADDS_BOS.has(pre));
  const addSpacePrefix = f.bool('tokenizer.ggml.add_space_prefix', kind === 'spm');

  // Text-based detection of eot/eom/fim tokens; a detected token becomes a control token.
  // (llama.cpp walks an unordered_map here; with several candidates we take the lowest id.)
  const makeControl = (id: number): void => {
    attrs[id] = (attrs[id] as number) | Attr.CONTROL;
  };
  const detect = (current: number | undefined, candidates: readonly string[]): number | undefined => {
    if (current !== undefined) return current;
    let found: number | undefined;
    for (const t of candidates) {
      const id = tokenToId.get(t);
      if (id !== undefined && (found === undefined || id < found)) found = id;
    }
    if (found !== undefined) makeControl(found);
    return found;
  };
  const eot = detect(eotMeta, EOT_TEXTS);
  const eom = detect(eomMeta, EOM_TEXTS);
  detect(fimMeta('pre', 'prefix'), FIM_PRE_TEXTS);
  detect(fimMeta('suf', 'suffix'), FIM_SUF_TEXTS);
  detect(fimMeta('mid', 'middle'), FIM_MID_TEXTS);
  const fimPad = detect(fimMeta('pad'), FIM_PAD_TEXTS);
  const fimRep = detect(fimMeta('rep'), FIM_REP_TEXTS);
  const fimSep = detect(fimMeta('sep'), FIM_SEP_TEXTS);

  const eog = new Set<number>();
  for (const id of [fimPad, fimRep, fimSep]) if (id !== undefined) eog.add(id);
  for (const [text, id] of tokenToId) {
    if (EOG_TEXTS.has(text)) {
      eog.add(id);
      makeControl(id);
    }
    // gpt-oss: these are always rendered
    if (text === '<|channel|>' || text === '<|message|>' || text === '<|start|>' || text === '<|constrain|>')
      attrs[id] = Attr.USER_DEFINED;
  }
  for (const id of [eos, eot, eom]) if (id !== undefined) eog.add(id);
  pruneEog(eog, texts, attrs);

  // Phi-3: special tokens strip whitespace on their right (llama.cpp sets this by model name).
  const name = (f.string('general.name', undefined) ?? '').toLowerCase();
  const isSpecial = (id: number): boolean =>
    ((attrs[id] as number) & (Attr.CONTROL | Attr.USER_DEFINED | Attr.UNKNOWN)) !== 0;
  if (name.includes('phi-3') || name.includes('phi3')) {
    for (let id = 0; id < n; id++) if (isSpecial(id)) attrs[id] = (attrs[id] as number) | Attr.RSTRIP;
    const setStrip = (text: string, on: boolean): void => {
      const id = tokenToId.get(text);
      if (id !== undefined) attrs[id] = on ? (attrs[id] as number) | Attr.RSTRIP : (attrs[id] as number) & ~Attr.RSTRIP;
    };
    setStrip('</s>', true);
    for (const t of ['<unk>', '<s>', '<|endoftext|>']) setStrip(t, false);
  }

  const specialIds: number[] = [];
  for (let id = 0; id < n; id++) if (isSpecial(id)) specialIds.push(id);
  const byteLen = specialIds.map((id) => utf8.encode(texts[id] as string).length);
  const order = specialIds.map((_, i) => i).sort((a, b) => (byteLen[b] as number) - (byteLen[a] as number) || a - b);

  return {
    file: f.path,
    kind,
    pre,
    tokens: texts,
    scores,
    attrs,
    tokenToId,
    bos,
    eos,
    unk,
    addBos,
    addSpacePrefix,
    eog,
    specialByLength: order.map((i) => specialIds[i] as number),
    chatTemplate: f.string('tokenizer.chat_template', undefined),
  };
}

/** llama.cpp's workarounds that take <|end|> (o200k_harmony, solar-open) and </s> (gemma4) back out of the EOG set. */
function pruneEog(eog: Set<number>, texts: readonly string[], attrs: Uint16Array): void {
  const byText = new Map<string, number>();
  for (const id of eog) byText.set(texts[id] as string, id);
  const end = byText.get('<|end|>');
  const has = (t: string): boolean => byText.has(t);
  if (
    end !== undefined &&
    ((has('<|return|>') && (has('<|call|>') || has('<|calls|>'))) ||
      ((has('<|call|>') || has('<|calls|>')) && has('<|flush|>')))
  ) {
    eog.delete(end);
    attrs[end] = Attr.USER_DEFINED;
  }
  const s = byText.get('</s>');
  if (s !== undefined && has('<|tool_response>')) {
    eog.delete(s);
    attrs[s] = Attr.NORMAL;
  }
}
