// Test data and helpers for the tokenizer tests: a varied text corpus (code, scripts, emoji,
// whitespace, numbers, special tokens), GGUF files with edited tokenizer metadata, and
// llama.cpp (node-llama-cpp, ESM-only) loaded vocab-only as the reference tokenizer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as NodeLlamaCpp from 'node-llama-cpp';
import { GGUFFile } from '../src/engine/gguf/file';
import type { GGUFValue } from '../src/engine/gguf/types';
import { ROOT } from './helpers';

export const CORPUS: readonly string[] = [
  // empty, whitespace runs, leading/trailing spaces, tabs, newlines, \r\n
  '', ' ', '  ', '   leading', 'trailing   ', ' Hello', 'Hello world', 'Hello, world!',
  '\tTabbed\tline', 'tab\t after', 'space \t mix \t\t end', '\t\t\t\tindent', 'a\nb\r\nc\rd', '\n\n\n',
  '\r\n\r\n  \r\n', 'x  \n  y', '   \n', 'multiple     spaces here', ' '.repeat(100) + 'x', 'line1\n\nline3\n \n \nend',
  '\u0009\u000b\u000c\u0020',
  // contractions, quotes
  "I'm you're they've we'll he'd it's I'M YOU'RE THEY'VE WE'LL HE'D IT'S don't DON'T", "'s 's's 'S",
  " ' quote ' ", "it''s", "'''triple'''", "a'b'c'd",
  // numbers
  '1234567890 12 123 1234 3.14159 -42 1e10 0x1F 1,000,000', '123456789012345678901234567890', ' 1 2  3   4',
  'a1b2c3', '٠١٢٣ ٣٤٥ ⅷ ² ½ 𝟘𝟙', 'x²+y³=z⁴', 'Ǆ ǅ ǆ Ⅻ ⅻ',
  // scripts
  '日本語のテキストです。中文文本，标点符号！한국어 텍스트', 'مرحبا بالعالم، كيف حالك؟', 'Ελληνικά και русский текст',
  'हिन्दी भाषा', 'ภาษาไทย', 'עברית', 'Tiếng Việt có dấu', 'Ünïcödé ÀÉÎÕÜ ßø łđ', 'ｆｕｌｌｗｉｄｔｈ　ＡＢＣ１２３',
  'ℌ𝔢𝔩𝔩𝔬 𝐁𝐨𝐥𝐝', '…“quotes” ‘single’ — dash – en', 'math ∑∫√∞ ≠ ≤ ≥ → ⇒ ∀∃', 'currency $€£¥₹ 100$',
  // combining marks
  'e\u0301 a\u0308 n\u0303 combining: Z\u0351\u0307\u0323a\u0337lgo', 'x\u0300\u0301\u0302\u0303\u0304', '\u00e9\u0065\u0301',
  // emoji: modifiers, ZWJ sequences, flags, keycaps
  'emoji 😀🎉👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 🏳️‍🌈', '🧑🏾‍💻 👩🏻‍🔬 ❤️ ✔️ ©️ #️⃣ 1️⃣', '1️⃣2️⃣', '\u{1F468}\u200D\u{1F4BB}',
  // unusual whitespace and controls
  'nbsp\u00a0here\u2003em\u3000ideo\u200bzwsp\ufeffbom\u0085nel', '\u2028line sep\u2029para', 'ZWJ\u200dZWNJ\u200c',
  '\x00\x01\x07\x1b[31mred\x1b[0m', '\ue000 private use \u{f0000}', 'unassigned \u0378 \u{1FAFF} end',
  // letters / digits that the JS engine (Unicode 17) knows but llama.cpp's Unicode table does not
  "\u1c89's", "a\u1c89'll go", 'x\u{10d40}123', ' \u{323b0}\'re',
  // code in several languages
  'def f(x):\n    return x ** 2  # square\n', '    def method(self):\n        pass\n\n\n    # comment\n',
  'x = [1,2,3]\ny = {\'a\': 1}\n', 'function add(a, b) {\n\treturn a + b;\n}\n',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); return 0; }',
  'fn main() -> Result<(), Box<dyn Error>> { let v: Vec<u8> = vec![1, 2, 3]; Ok(()) }',
  "SELECT * FROM users WHERE id = 42 AND name LIKE '%bob%';", '<div class="x">&amp; &lt;tag&gt;</div>',
  'CamelCaseIdentifierWithNumbers123And456', '____init____ --flag=value ... !!! ???', 'C++ C# F# .NET node.js',
  'https://example.com/path?query=1&b=2#frag', 'email@example.com',
  // long runs
  'a'.repeat(300), 'ab'.repeat(200),
  // special tokens inside text (and near-misses)
  '<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n', 'text<|im_end|>more<|endoftext|>',
  '<|im_start|><|im_start|>', '<|im_start', 'im_start|>', '<repo_name>a<reponame>b<file_sep>',
  '<s>Hi</s> there <unk>x', ' <s> spaced </s> ',
];

/** `n` random short strings (seeded LCG) mixing the characters and tokens tokenizers trip on. */
export function fuzzStrings(n: number, seed: number): string[] {
  const pool = [
    ...' \t\n\r\u00a0\u3000\u2003\u0085\ufeff\u200d\'\'\'sStTdDmMlLrReEvV0123456789abcXYZ.,!?;:()[]{}<>|/\\-_+=*&^%$#@~`"',
    ...'日本語한글عربيé\u0301\u0308ß²½Ⅻǅ\u00ad\u2028\u0378\ue000\u1c89',
    '\u{10d40}', '😀', '👍🏽', '🇫🇷', '\u{1F468}\u200D\u{1F4BB}', '<|im_start|>', '<|im_end|>', '<s>', '</s>', '<unk>',
  ];
  let state = seed;
  const rnd = (k: number): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return Math.floor((state / 0x80000000) * k);
  };
  return Array.from({ length: n }, () => Array.from({ length: 1 + rnd(30) }, () => pool[rnd(pool.length)] as string).join(''));
}

/** A real source file shipped in node_modules (TypeScript, ~75 KB). */
export function longSourceFile(): string {
  return fs.readFileSync(path.join(ROOT, 'node_modules/@huggingface/jinja/src/runtime.ts'), 'utf8');
}

/** About `chars` characters of real source code (TypeScript's compiler). */
export function sourceCodeText(chars: number): string {
  return fs.readFileSync(path.join(ROOT, 'node_modules/typescript/lib/typescript.js'), 'utf8').slice(1_000_000, 1_000_000 + chars);
}

/** Open a GGUF file with some tokenizer metadata replaced (undefined deletes the key). */
export function openWithMetadata(file: string, changes: Record<string, GGUFValue | undefined>): GGUFFile {
  const f = GGUFFile.open(file);
  const md = f.header.metadata as Map<string, GGUFValue>;
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) md.delete(k);
    else md.set(k, v);
  }
  return f;
}

// node-llama-cpp is ESM-only and tests compile to CommonJS, where tsc would turn `import()` into
// `require()`; a Function keeps the real dynamic import.
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;
let llamaPromise: Promise<NodeLlamaCpp.Llama> | undefined;

/** llama.cpp's tokenizer for a GGUF file (vocabulary only), optionally with metadata overrides. */
export async function loadReference(file: string, overrides?: Record<string, unknown>): Promise<NodeLlamaCpp.LlamaModel> {
  llamaPromise ??= (async () => {
    const nlc = (await importEsm('node-llama-cpp')) as typeof NodeLlamaCpp;
    return nlc.getLlama({ gpu: false, build: 'never', logLevel: nlc.LlamaLogLevel.error });
  })();
  const llama = await llamaPromise;
  return llama.loadModel({ modelPath: file, vocabOnly: true, ...(overrides ? { metadataOverrides: overrides } : {}) });
}
