// Pre-tokenizer regexes of byte-level BPE vocabularies, by tokenizer.ggml.pre family, translated
// from llama.cpp (src/llama-vocab.cpp, llm_tokenizer_bpe) to JS regexes. llama.cpp applies a
// family's regexes one after the other, each splitting every fragment left by the previous one
// (matches and the gaps between them both become fragments: unicode_regex_split_stl).
//
// Translation notes — llama.cpp runs hand-written matchers (unicode.cpp) equivalent to these:
// - \p{L}, \p{N}, \p{P} use llama.cpp's own category table (unicode-ranges.ts, generated from
//   its unicode-data.cpp), not the JS engine's, which is newer (Node 20: Unicode 17) and would
//   call letters what llama.cpp treats as unassigned.
// - `\s` there is the Unicode White_Space set (incl. U+0085, excl. U+FEFF), unlike JS `\s`.
// - Case-insensitive contractions `(?i:'s|'t|...)` are expanded to `'[sS]|'[tT]|...` exactly as
//   llama.cpp itself does (JS has no inline `(?i:)` in Node 20).
import { LETTER_RUNS, NUMBER_RUNS, PUNCTUATION_RUNS } from './unicode-ranges';

/** Class body (no brackets) for base-36 "gap.length" runs. */
function classBody(runs: string): string {
  let prev = -1;
  let body = '';
  for (const pair of runs.split(',')) {
    const [gap, len] = pair.split('.');
    const lo = prev + 1 + parseInt(gap as string, 36);
    const hi = lo + parseInt(len as string, 36);
    body += lo === hi ? `\\u{${lo.toString(16)}}` : `\\u{${lo.toString(16)}}-\\u{${hi.toString(16)}}`;
    prev = hi;
  }
  return body;
}

const L = classBody(LETTER_RUNS);
const N = classBody(NUMBER_RUNS);
const P = classBody(PUNCTUATION_RUNS);
const WS = '\\t-\\r \\u{85}\\u{a0}\\u{1680}\\u{2000}-\\u{200a}\\u{2028}\\u{2029}\\u{202f}\\u{205f}\\u{3000}';
const space = `[${WS}]`; // \s
const nonSpace = `[^${WS}]`; // \S
const letters = `[${L}]`; // \p{L}
const digit = `[${N}]`; // \p{N}
const other = `[^${WS}${L}${N}]`; // [^\s\p{L}\p{N}]

/** GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S) */
const GPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?${letters}+| ?${digit}+| ?${other}+|${space}+(?!${nonSpace})`;
const CONTRACTIONS_CI = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
/** Llama 3: (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
const llama3Like = (digits: string): string =>
  `${CONTRACTIONS_CI}|[^\\r\\n${L}${N}]?${letters}+|${digit}${digits}| ?${other}+[\\r\\n]*|${space}*[\\r\\n]+|${space}+(?!${nonSpace})|${space}+`;
const LLAMA3 = llama3Like('{1,3}');
/** Qwen2: as Llama 3 but digits one at a time. */
const QWEN2 = llama3Like('');

interface Family {
  readonly regexes: readonly string[];
  /** llama.cpp's ignore_merges: a pre-token that is itself a vocabulary token is not merged. */
  readonly ignoreMerges: boolean;
}

const FAMILIES: Record<string, Family> = {
  default: { regexes: [`[${P}$+<=>^~|]+`, GPT2, `${digit}+`, '[0-9][0-9][0-9]'], ignoreMerges: false },
  gpt2: { regexes: [GPT2], ignoreMerges: false },
  starcoder: { regexes: [digit, GPT2], ignoreMerges: false },
  llama3: { regexes: [LLAMA3], ignoreMerges: true },
  dbrx: { regexes: [LLAMA3], ignoreMerges: false },
  qwen2: { regexes: [QWEN2], ignoreMerges: false },
};

/** tokenizer.ggml.pre names (as llama.cpp maps them) → family. */
const PRE_TO_FAMILY: Record<string, string> = {
  default: 'default',
  llama3: 'llama3',
  'llama-v3': 'llama3',
  'llama-bpe': 'llama3',
  falcon3: 'llama3',
  'falcon-h1': 'llama3',
  pixtral: 'llama3',
  'midm-2.0': 'llama3',
  lfm2: 'llama3',
  'jina-v5-nano': 'llama3',
  dbrx: 'dbrx',
  'smaug-bpe': 'dbrx',
  'gpt-2': 'gpt2',
  'phi-2': 'gpt2',
  mpt: 'gpt2',
  olmo: 'gpt2',
  jais: 'gpt2',
  trillion: 'gpt2',
  'granite-docling': 'gpt2',
  exaone4: 'gpt2',
  gigachat: 'gpt2',
  'a.x-4.0': 'gpt2',
  mellum: 'gpt2',
  starcoder: 'starcoder',
  refact: 'starcoder',
  'command-r': 'starcoder',
  smollm: 'starcoder',
  codeshell: 'starcoder',
  exaone: 'starcoder',
  'minerva-7b': 'starcoder',
  mellum2: 'starcoder',
  qwen2: 'qwen2',
  'deepseek-r1-qwen': 'qwen2',
  kormo: 'qwen2',
  f2llmv2: 'qwen2',
  megrez: 'qwen2',
  stablelm2: 'qwen2',
  hunyuan: 'qwen2',
  'solar-open': 'qwen2',
};

export const SUPPORTED_PRE: readonly string[] = Object.keys(PRE_TO_FAMILY);

export class PreTokenizer {
  private readonly regexes: RegExp[];
  readonly ignoreMerges: boolean;

  private constructor(
    readonly family: string,
    f: Family,
  ) {
    this.regexes = f.regexes.map((r) => new RegExp(r, 'gu'));
    this.ignoreMerges = f.ignoreMerges;
  }

  /** The pre-tokenizer for a tokenizer.ggml.pre value ('' = missing = llama.cpp's 'default'); undefined if unsupported. */
  static forPre(pre: string): PreTokenizer | undefined {
    const family = PRE_TO_FAMILY[pre === '' ? 'default' : pre];
    const f = family !== undefined ? FAMILIES[family] : undefined;
    return family !== undefined && f !== undefined ? new PreTokenizer(family, f) : undefined;
  }

  /** Split text into pre-tokens (words); their concatenation is `text`. */
  split(text: string): string[] {
    let frags = [text];
    for (const re of this.regexes) {
      const out: string[] = [];
      for (const f of frags) splitOne(f, re, out);
      frags = out;
    }
    return frags;
  }
}

function splitOne(s: string, re: RegExp, out: string[]): void {
  re.lastIndex = 0;
  let prev = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const start = m.index;
    const end = start + m[0].length;
    if (end === start) {
      re.lastIndex = start + ((s.codePointAt(start) ?? 0) > 0xffff ? 2 : 1);
      continue;
    }
    if (start > prev) out.push(s.slice(prev, start));
    out.push(m[0]);
    prev = end;
  }
  if (prev < s.length) out.push(s.slice(prev));
}
