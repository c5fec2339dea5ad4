// Test data and helpers for the tokenizer tests: a varied text corpus (code, scripts, emoji,
// whitespace, numbers, special tokens), a code-heavy corpus for coding models (Qwen2.5-Coder),
// GGUF files with edited tokenizer metadata, llama.cpp (node-llama-cpp, ESM-only) loaded
// vocab-only as the reference tokenizer, and the comparison of our ids with its ids.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as NodeLlamaCpp from 'node-llama-cpp';
import { GGUFFile } from '../src/engine/gguf/file';
import type { GGUFValue } from '../src/engine/gguf/types';
import type { Tokenizer } from '../src/engine/tokenizer';
import { ROOT } from './helpers';

export const CORPUS: readonly string[] = [
  // empty, whitespace runs, leading/trailing spaces, tabs, newlines, \r\n
  '',
  ' ',
  '  ',
  '   leading',
  'trailing   ',
  ' Hello',
  'Hello world',
  'Hello, world!',
  '\tTabbed\tline',
  'tab\t after',
  'space \t mix \t\t end',
  '\t\t\t\tindent',
  'a\nb\r\nc\rd',
  '\n\n\n',
  '\r\n\r\n  \r\n',
  'x  \n  y',
  '   \n',
  'multiple     spaces here',
  ' '.repeat(100) + 'x',
  'line1\n\nline3\n \n \nend',
  '\u0009\u000b\u000c\u0020',
  // contractions, quotes
  "I'm you're they've we'll he'd it's I'M YOU'RE THEY'VE WE'LL HE'D IT'S don't DON'T",
  "'s 's's 'S",
  " ' quote ' ",
  "it''s",
  "'''triple'''",
  "a'b'c'd",
  // numbers
  '1234567890 12 123 1234 3.14159 -42 1e10 0x1F 1,000,000',
  '123456789012345678901234567890',
  ' 1 2  3   4',
  'a1b2c3',
  '٠١٢٣ ٣٤٥ ⅷ ² ½ 𝟘𝟙',
  'x²+y³=z⁴',
  'Ǆ ǅ ǆ Ⅻ ⅻ',
  // scripts
  '日本語のテキストです。中文文本，标点符号！한국어 텍스트',
  'مرحبا بالعالم، كيف حالك؟',
  'Ελληνικά και русский текст',
  'हिन्दी भाषा',
  'ภาษาไทย',
  'עברית',
  'Tiếng Việt có dấu',
  'Ünïcödé ÀÉÎÕÜ ßø łđ',
  'ｆｕｌｌｗｉｄｔｈ　ＡＢＣ１２３',
  'ℌ𝔢𝔩𝔩𝔬 𝐁𝐨𝐥𝐝',
  '…“quotes” ‘single’ — dash – en',
  'math ∑∫√∞ ≠ ≤ ≥ → ⇒ ∀∃',
  'currency $€£¥₹ 100$',
  // combining marks
  'e\u0301 a\u0308 n\u0303 combining: Z\u0351\u0307\u0323a\u0337lgo',
  'x\u0300\u0301\u0302\u0303\u0304',
  '\u00e9\u0065\u0301',
  // emoji: modifiers, ZWJ sequences, flags, keycaps
  'emoji 😀🎉👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 🏳️‍🌈',
  '🧑🏾‍💻 👩🏻‍🔬 ❤️ ✔️ ©️ #️⃣ 1️⃣',
  '1️⃣2️⃣',
  '\u{1F468}\u200D\u{1F4BB}',
  // unusual whitespace and controls
  'nbsp\u00a0here\u2003em\u3000ideo\u200bzwsp\ufeffbom\u0085nel',
  '\u2028line sep\u2029para',
  'ZWJ\u200dZWNJ\u200c',
  '\x00\x01\x07\x1b[31mred\x1b[0m',
  '\ue000 private use \u{f0000}',
  'unassigned \u0378 \u{1FAFF} end',
  // letters / digits that the JS engine (Unicode 17) knows but llama.cpp's Unicode table does not
  "\u1c89's",
  "a\u1c89'll go",
  'x\u{10d40}123',
  " \u{323b0}'re",
  // code in several languages
  'def f(x):\n    return x ** 2  # square\n',
  '    def method(self):\n        pass\n\n\n    # comment\n',
  "x = [1,2,3]\ny = {'a': 1}\n",
  'function add(a, b) {\n\treturn a + b;\n}\n',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); return 0; }',
  'fn main() -> Result<(), Box<dyn Error>> { let v: Vec<u8> = vec![1, 2, 3]; Ok(()) }',
  "SELECT * FROM users WHERE id = 42 AND name LIKE '%bob%';",
  '<div class="x">&amp; &lt;tag&gt;</div>',
  'CamelCaseIdentifierWithNumbers123And456',
  '____init____ --flag=value ... !!! ???',
  'C++ C# F# .NET node.js',
  'https://example.com/path?query=1&b=2#frag',
  'email@example.com',
  // long runs
  'a'.repeat(300),
  'ab'.repeat(200),
  // special tokens inside text (and near-misses)
  '<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n',
  'text<|im_end|>more<|endoftext|>',
  '<|im_start|><|im_start|>',
  '<|im_start',
  'im_start|>',
  '<repo_name>a<reponame>b<file_sep>',
  '<s>Hi</s> there <unk>x',
  ' <s> spaced </s> ',
];

/** Indentation and whitespace runs as code has them: n spaces / tabs / newlines before a token, trailing blanks. */
function whitespaceRuns(): string[] {
  const out: string[] = [];
  for (let n = 1; n <= 17; n++)
    out.push(
      `${' '.repeat(n)}x`,
      `${'\t'.repeat(n)}y`,
      `a${' '.repeat(n)}\nb`,
      `${'\n'.repeat(n)}z`,
      `${'\r\n'.repeat(n)}w`,
    );
  out.push(
    'if x:\n\tpass\n    \treturn',
    ' \t \t mixed',
    '  \n\t\n \r\n\t\r\n',
    'end   \r\n\r\n  next',
    '\t\r\n',
    '}\n\n\n\n}',
    ' '.repeat(64),
    '\t'.repeat(40),
  );
  return out;
}

/**
 * Code-heavy text for coding models (Qwen2.5-Coder): programs in several languages, Windows line
 * endings, long digit runs (Qwen2 splits digits one by one), identifiers and comments in other
 * scripts, emoji ZWJ and tag sequences, and Qwen's special and FIM tokens (with near-misses).
 */
export const CODE_CORPUS: readonly string[] = [
  ...whitespaceRuns(),
  // programs
  'def fib(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\n\nif __name__ == "__main__":\n    print(fib(30))\n',
  'class Stack:\n    def __init__(self):\n        self._items: list[int] = []\n\n    def push(self, x):\n        self._items.append(x)  # O(1)\n',
  'package main\n\nimport (\n\t"fmt"\n\t"strings"\n)\n\nfunc main() {\n\tfor i := 0; i < 10; i++ {\n\t\tfmt.Println(strings.Repeat("*", i))\n\t}\n}\n',
  'impl<T: Clone + Send> Pool<T> {\n    pub fn get(&mut self) -> Option<&T> {\n        self.items.iter().find(|x| x.ready)\n    }\n}\n// SAFETY: ptr is non-null\nunsafe { *ptr = 0u8; }',
  'public static void main(String[] args) {\n        Map<String, List<Integer>> m = new HashMap<>();\n        System.out.println(m.getOrDefault("k", List.of()));\n    }',
  'template <typename T>\nstd::vector<T> twice(const std::vector<T>& v) {\n  std::vector<T> r; r.reserve(v.size() * 2);\n  for (auto&& x : v) { r.push_back(x); r.push_back(x); }\n  return r;\n}\n',
  'export async function load(path: string): Promise<Buffer | undefined> {\n  const x = await fs.promises.readFile(path).catch(() => undefined);\n  return x ?? undefined; // `??` and `?.` and `=>`\n}\n',
  '#!/usr/bin/env bash\nset -euo pipefail\nfor f in "$@"; do\n  [[ -f "$f" ]] && echo "${f%.*}" >&2 || exit 1\ndone\n',
  'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: app\n      image: "nginx:1.25"\n      ports: [{containerPort: 8080}]\n',
  '{\n  "name": "podlens",\n  "version": "0.1.0",\n  "nested": {"a": [1, 2.5, -3e-7, null, true]}\n}',
  '<!DOCTYPE html>\n<html lang="en">\n  <body style="margin:0">\n    <p>caf\u00e9 &mdash; &#x1F600;</p>\n  </body>\n</html>',
  '.btn:hover > span::before { content: "\\201C"; color: #ff00aa; margin: 0 -2px; }',
  'main :: IO ()\nmain = mapM_ (putStrLn . show) [x * x | x <- [1..10], odd x]',
  'all: build\n\nbuild: main.o util.o\n\t$(CC) -o $@ $^ $(LDFLAGS)\n\n%.o: %.c\n\t$(CC) -c $< -o $@\n',
  'int main(void)\r\n{\r\n    printf("crlf\\r\\n");\r\n\treturn 0;\r\n}\r\n',
  '--- a/src/x.ts\n+++ b/src/x.ts\n@@ -1,3 +1,4 @@\n-const a = 1;\n+const a = 2;\n+  // added\n',
  '```python\nprint("hi")\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> quote *em* **strong** `code`',
  'SELECT u.id, COUNT(*) AS n\nFROM users u\n  LEFT JOIN orders o ON o.user_id = u.id\nGROUP BY u.id\nHAVING n >= 10;\n',
  'x+=1;y-=2;z*=3;w/=4;a<<=1;b>>>=2;c**=2;d&&=e;f||=g;h??=i;!==;===;<=>;->;::;...',
  // numbers (digits one at a time in Qwen2)
  '1234567890'.repeat(8),
  '3.14159265358979323846',
  '0xDEADBEEF 0b1010 0o777 1_000_000 1e-9 6.02e23',
  'v1.2.3-rc.4+build.567',
  '2024-12-05T10:24:29.123Z',
  '192.168.1.254:8080',
  'x = 00000007; y = -0.0;',
  '１２３４ ٠١٢٣٤ ०१२३ ①②③ ⅰⅱⅲ',
  'arr[10][20] = 42; // 42nd',
  // identifiers and comments in other scripts, combining marks
  '# 计算斐波那契数列\ndef 斐波那契(n):\n    return n  # 返回结果\n',
  '// 日本語のコメント：関数を呼び出す\nconst 変数 = "値";',
  '/* 주석: 한국어 */ let 이름 = "값";',
  'café = naïve + résumé  # e\u0301 vs é',
  'Z\u0351\u0307\u0323a\u0337l\u0338g\u0489o\u0360 text',
  'print("Привет, мир!")  # Ω ≈ ∑ λ',
  'ﬁ ﬂ ǅ ẞ İstanbul ı',
  'tab\u00a0nbsp\u2009thin\u200bzw',
  // emoji: ZWJ, skin tones, tag sequences, keycaps, VS16
  '👩‍❤️‍💋‍👨 🧑‍🤝‍🧑 👨🏿‍🦱 🏴󠁧󠁢󠁳󠁣󠁴󠁿 🏴‍☠️ 🐻‍❄️',
  '// TODO 🚀 ship it ✅ ❌ ⚠️',
  'keycaps *️⃣ 0️⃣ 🔟 and ☺︎ vs ☺️',
  // Qwen special / FIM / tool tokens, and near-misses
  '<|endoftext|>',
  '<|fim_prefix|>def add(a, b):\n<|fim_suffix|>\n    return c<|fim_middle|>',
  '<|repo_name|>podlens\n<|file_sep|>src/a.ts\nexport const a = 1;\n<|file_sep|>src/b.ts\n',
  '<tool_call>\n{"name": "search", "arguments": {"q": "x"}}\n</tool_call>',
  'a<tool_call>b</tool_call>c',
  '<|vision_start|><|image_pad|><|vision_end|><|object_ref_start|>x<|object_ref_end|><|box_start|>(1,2)<|box_end|>',
  '<|fim_pad|><|quad_start|><|quad_end|><|video_pad|><|vision_pad|>',
  '[PAD151665] [PAD151935]',
  '<|im_start|',
  '<|im_start|>>',
  '<<|im_end|>>',
  '<tool_call',
  '</tool_call >',
  '<|endoftext|><|endoftext|>',
  ' <|im_start|> spaced <|im_end|> ',
  '<|IM_START|>',
  '<|fim_middle|',
];

/**
 * `n` random short strings (seeded LCG) mixing the characters and tokens tokenizers trip on;
 * `extra` adds pieces to the pool (e.g. a model's own special tokens, code fragments).
 */
export function fuzzStrings(n: number, seed: number, extra: readonly string[] = []): string[] {
  const pool = [
    ..." \t\n\r\u00a0\u3000\u2003\u0085\ufeff\u200d'''sStTdDmMlLrReEvV0123456789abcXYZ.,!?;:()[]{}<>|/\\-_+=*&^%$#@~`\"",
    ...'日本語한글عربيé\u0301\u0308ß²½Ⅻǅ\u00ad\u2028\u0378\ue000\u1c89',
    '\u{10d40}',
    '😀',
    '👍🏽',
    '🇫🇷',
    '\u{1F468}\u200D\u{1F4BB}',
    '<|im_start|>',
    '<|im_end|>',
    '<s>',
    '</s>',
    '<unk>',
    ...extra,
  ];
  let state = seed;
  const rnd = (k: number): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return Math.floor((state / 0x80000000) * k);
  };
  return Array.from({ length: n }, () =>
    Array.from({ length: 1 + rnd(30) }, () => pool[rnd(pool.length)] as string).join(''),
  );
}

/** Large real files from node_modules: C++ (node-llama-cpp's addon) and Markdown with non-ASCII text (ajv's README). */
export function largeRealFiles(): { name: string; text: string }[] {
  return ['node_modules/node-llama-cpp/llama/addon/AddonContext.cpp', 'node_modules/ajv/README.md'].map((name) => ({
    name,
    text: fs.readFileSync(path.join(ROOT, name), 'utf8'),
  }));
}

/** A real source file shipped in node_modules (TypeScript, ~75 KB). */
export function longSourceFile(): string {
  return fs.readFileSync(path.join(ROOT, 'node_modules/@huggingface/jinja/src/runtime.ts'), 'utf8');
}

/** About `chars` characters of real source code (TypeScript's compiler). */
export function sourceCodeText(chars: number): string {
  return fs
    .readFileSync(path.join(ROOT, 'node_modules/typescript/lib/typescript.js'), 'utf8')
    .slice(1_000_000, 1_000_000 + chars);
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
export async function loadReference(
  file: string,
  overrides?: Record<string, unknown>,
): Promise<NodeLlamaCpp.LlamaModel> {
  llamaPromise ??= (async () => {
    const nlc = (await importEsm('node-llama-cpp')) as typeof NodeLlamaCpp;
    return nlc.getLlama({ gpu: false, build: 'never', logLevel: nlc.LlamaLogLevel.error });
  })();
  const llama = await llamaPromise;
  return llama.loadModel({ modelPath: file, vocabOnly: true, ...(overrides ? { metadataOverrides: overrides } : {}) });
}

/** Count texts (× parseSpecial on/off) whose ids from `ours` equal llama.cpp's (`ref`); list the others. */
export function compareTokenizations(
  ours: Tokenizer,
  ref: NodeLlamaCpp.LlamaModel,
  texts: readonly string[],
): { agree: number; total: number; diffs: string[] } {
  let agree = 0;
  const diffs: string[] = [];
  for (const text of texts) {
    for (const parseSpecial of [true, false]) {
      // node-llama-cpp's tokenize never adds BOS (llama_tokenize with add_special = false).
      const want = Array.from(ref.tokenize(text, parseSpecial));
      const got = ours.encode(text, { addBos: false, parseSpecial });
      if (got.length === want.length && got.every((id, i) => id === want[i])) agree++;
      else {
        const at = got.findIndex((id, i) => id !== want[i]);
        diffs.push(
          `${JSON.stringify(text.slice(0, 80))} special=${parseSpecial}: first difference at ${at < 0 ? Math.min(got.length, want.length) : at}: ours ${got.slice(Math.max(0, at - 2), at + 10).join(' ')} / llama.cpp ${want.slice(Math.max(0, at - 2), at + 10).join(' ')}`,
        );
      }
    }
  }
  return { agree, total: texts.length * 2, diffs };
}
