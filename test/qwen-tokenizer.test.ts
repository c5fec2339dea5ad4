// Qwen2.5-Coder-0.5B-Instruct's tokenizer (byte-level BPE, tokenizer.ggml.pre = qwen2, 151,936
// tokens) against llama.cpp (node-llama-cpp, vocab-only, same GGUF file): exact ids on a code-heavy
// corpus (programs, indentation, \r\n, digit runs, CJK, combining marks, emoji ZWJ sequences,
// special / FIM / tool tokens), seeded random strings, large real files and the rendered ChatML
// prompt; detokenization and round trips; end-of-generation ids. The 1.5B shares the vocabulary
// (same tokens, merges and pre-tokenizer; the same chat prompts; checked below), so one model is
// enough here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as NodeLlamaCpp from 'node-llama-cpp';
import { GGUFFile } from '../src/engine/gguf/file';
import { Tokenizer } from '../src/engine/tokenizer';
import {
  CODE_CORPUS,
  compareTokenizations,
  CORPUS,
  fuzzStrings,
  largeRealFiles,
  loadReference,
  longSourceFile,
  sourceCodeText,
} from './tokenizer-corpus';
import { modelPath } from './helpers';

const QWEN = 'qwen2.5-coder-0.5b-instruct.gguf';
const qwen = (): Tokenizer => Tokenizer.fromGGUF(GGUFFile.open(modelPath(QWEN)));

/** Qwen's own special tokens and code pieces for the random strings. */
const QWEN_FUZZ = [
  '<|endoftext|>',
  '<|fim_prefix|>',
  '<|fim_middle|>',
  '<|fim_suffix|>',
  '<|repo_name|>',
  '<|file_sep|>',
  '<tool_call>',
  '</tool_call>',
  '    ',
  '\t\t',
  '\r\n',
  '\n\n',
  '=>',
  '::',
  '!==',
  '0x',
  '1234567',
  '__init__',
  'def ',
  'const ',
  '中文',
  '👨‍👩‍👧',
  '🏴󠁧󠁢󠁳󠁣󠁴󠁿',
  'e\u0301',
];

const CHATS: { role: 'system' | 'user' | 'assistant'; content: string }[][] = [
  [{ role: 'user', content: 'Write a Python function that reverses a string.' }],
  [
    { role: 'system', content: 'You are a terse code reviewer.' },
    { role: 'user', content: 'Review:\n```ts\nconst x = a == b;\n```' },
    { role: 'assistant', content: 'Use `===`:\n\n```ts\nconst x = a === b;\n```' },
    { role: 'user', content: '为什么？ 🤔\r\n\tThanks' },
  ],
];

test('Qwen2.5-Coder: ids equal to llama.cpp on the corpus, code corpus, random strings and large real files', async (t) => {
  const tok = qwen();
  assert.equal(tok.kind, 'bpe');
  assert.equal(tok.vocabSize, 151936);
  assert.equal(tok.addBos, false);
  const ref = await loadReference(modelPath(QWEN));
  assert.equal(tok.bosId, ref.tokens.bos);
  assert.equal(tok.eosId, ref.tokens.eos);
  assert.equal(tok.addBos, ref.tokens.shouldPrependBosToken);

  const corpus = compareTokenizations(tok, ref, [...CORPUS, ...CODE_CORPUS]);
  t.diagnostic(
    `corpus: ${CORPUS.length} general + ${CODE_CORPUS.length} code strings, ${corpus.agree}/${corpus.total} encodings (parseSpecial on and off) equal to llama.cpp`,
  );
  assert.deepEqual(corpus.diffs, []);

  const fuzz = compareTokenizations(tok, ref, fuzzStrings(400, 2024, QWEN_FUZZ));
  t.diagnostic(`400 seeded random strings: ${fuzz.agree}/${fuzz.total} equal`);
  assert.deepEqual(fuzz.diffs, []);

  const files = [
    { name: 'jinja runtime.ts', text: longSourceFile() },
    { name: 'typescript.js (200 KB)', text: sourceCodeText(200_000) },
    ...largeRealFiles(),
  ];
  const big = compareTokenizations(
    tok,
    ref,
    files.map((f) => f.text),
  );
  t.diagnostic(
    `large files: ${files.map((f) => `${f.name} ${f.text.length} chars`).join(', ')}: ${big.agree}/${big.total} equal`,
  );
  assert.deepEqual(big.diffs, []);
});

test('Qwen2.5-Coder: known ids — digits one at a time, ChatML markers, FIM and tool tokens', () => {
  const tok = qwen();
  // ids printed by llama.cpp (node-llama-cpp 3.21.1) for the same strings
  assert.deepEqual(
    tok.encode('<|im_start|>user\nHi 12345 there<|im_end|>'),
    [151644, 872, 198, 13048, 220, 16, 17, 18, 19, 20, 1052, 151645],
  );
  assert.deepEqual(tok.encode('    return x'), [262, 470, 856]); // '   ' (ĠĠĠ) + ' return' + ' x'
  assert.equal(tok.tokenId('<|im_start|>'), 151644);
  assert.equal(tok.tokenId('<|im_end|>'), 151645);
  // digits are single tokens: 10 digits → 10 ids
  assert.equal(tok.encode('1234567890').length, 10);
  // <tool_call> is user-defined: matched even when control tokens are not parsed (as llama.cpp does)
  assert.deepEqual(tok.encode('<tool_call>', { parseSpecial: false }), [151657]);
  assert.deepEqual(tok.encode('<|fim_prefix|>', { parseSpecial: false }), [27, 91, 69, 318, 13974, 91, 29]);
  assert.deepEqual(tok.encode('<|fim_prefix|>'), [151659]);
});

test('Qwen2.5-Coder: detokenization equals llama.cpp and round-trips', async () => {
  const tok = qwen();
  const ref = await loadReference(modelPath(QWEN));
  const texts = [...CORPUS, ...CODE_CORPUS, longSourceFile(), ...largeRealFiles().map((f) => f.text)];
  for (const text of texts) {
    const label = JSON.stringify(text.slice(0, 80));
    const ids = tok.encode(text);
    assert.equal(tok.decode(ids), ref.detokenize(ids as NodeLlamaCpp.Token[], true), label);
    assert.equal(tok.decode(ids, { skipSpecial: true }), ref.detokenize(ids as NodeLlamaCpp.Token[], false), label);
    assert.equal(
      tok.decode(ids),
      text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\ufffd'),
      label,
    );
    // as plain text (no control tokens) it round-trips too
    assert.equal(tok.decode(tok.encode(text, { parseSpecial: false })), tok.decode(ids), label);
  }
  // the stream decoder gives the same text for a mixed code / CJK / emoji answer
  const ids = tok.encode('def 你好():\n    return "👩‍❤️‍💋‍👨 🏴󠁧󠁢󠁳󠁣󠁴󠁿"  # é\u0301\n<|im_end|>');
  const dec = tok.createStreamDecoder();
  assert.equal(ids.map((id) => dec.push(id)).join('') + dec.flush(), tok.decode(ids));
});

test('Qwen2.5-Coder: rendered chat template is ChatML and tokenizes as llama.cpp does', async () => {
  const tok = qwen();
  const ref = await loadReference(modelPath(QWEN));
  assert.equal(tok.chatTemplate().origin, 'model');
  assert.equal(
    tok.applyChatTemplate(CHATS[0]!),
    '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' +
      '<|im_start|>user\nWrite a Python function that reverses a string.<|im_end|>\n<|im_start|>assistant\n',
  );
  assert.equal(
    tok.applyChatTemplate(CHATS[1]!, { addGenerationPrompt: false }),
    '<|im_start|>system\nYou are a terse code reviewer.<|im_end|>\n<|im_start|>user\nReview:\n```ts\nconst x = a == b;\n```<|im_end|>\n' +
      '<|im_start|>assistant\nUse `===`:\n\n```ts\nconst x = a === b;\n```<|im_end|>\n<|im_start|>user\n为什么？ 🤔\r\n\tThanks<|im_end|>\n',
  );
  for (const chat of CHATS) {
    for (const addGenerationPrompt of [true, false]) {
      const text = tok.applyChatTemplate(chat, { addGenerationPrompt });
      const want = Array.from(ref.tokenize(text, true));
      assert.deepEqual(tok.encodeChat(chat, { addGenerationPrompt }), want);
      assert.deepEqual(tok.encode(text), want);
      assert.equal(
        want.filter((id) => id === 151644).length,
        chat.length + (chat[0]!.role === 'system' ? 0 : 1) + (addGenerationPrompt ? 1 : 0),
      );
    }
  }
});

test('Qwen2.5-Coder: end-of-generation ids are the ones llama.cpp uses; the 1.5B has the same vocabulary', async () => {
  const tok = qwen();
  const ref = await loadReference(modelPath(QWEN));
  const want: number[] = [];
  for (let id = 0; id < tok.vocabSize; id++) if (ref.isEogToken(id as NodeLlamaCpp.Token)) want.push(id);
  assert.deepEqual(tok.eogIds, want);
  // '</s>' (an ordinary token in Qwen's vocabulary, which llama.cpp promotes to a control EOG token
  // by its text, so generating HTML '</s>' ends an answer in both engines), <|endoftext|>,
  // <|im_end|>, <|fim_pad|>, <|repo_name|>, <|file_sep|>
  assert.deepEqual(want, [128247, 151643, 151645, 151662, 151663, 151664]);

  const a = GGUFFile.open(modelPath(QWEN));
  const b = GGUFFile.open(modelPath('qwen2.5-coder-1.5b-instruct-q4_k_m.gguf'));
  try {
    for (const key of [
      'tokenizer.ggml.model',
      'tokenizer.ggml.pre',
      'tokenizer.ggml.tokens',
      'tokenizer.ggml.merges',
      'tokenizer.ggml.token_type',
    ]) {
      assert.deepEqual(b.raw(key), a.raw(key), key);
    }
    // the chat templates differ only in the tools branch (the 1.5B's escapes a JSON example's braces)
    const big = Tokenizer.fromGGUF(b);
    for (const chat of CHATS) assert.equal(big.applyChatTemplate(chat), tok.applyChatTemplate(chat));
  } finally {
    a.close();
    b.close();
  }
});
