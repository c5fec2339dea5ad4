// What the e2e chat scenarios ask and how they judge the answer. The fact is one only the
// fixture workspace holds: the default harbour in e2e/fixture/src/harbours.ts (an invented name,
// so the model cannot know it from training). It is read from that file, so the fixture is the
// one place it is written. Used by the Mode A/C Mocha suites (extension host) and by ui.cjs.
const fs = require('node:fs');
const path = require('node:path');

/** The fixture file that holds the fact, relative to the workspace root. */
const FACT_FILE = 'src/harbours.ts';
// Asked by name and file: on the ≈11K-token workspace of Mode B, Qwen2.5-Coder-0.5B with the *full*
// cache answers the indirect 'Which harbour does Tide Tables use when --harbour is not given?' with
// "the default harbour" and no name (a model limit, measured), while this question gets the name
// from both the full and the PoD cache. The value is still only in the workspace.
const QUESTION = 'What is the value of DEFAULT_HARBOUR in src/harbours.ts?';

/** The fact from a workspace (a copy of e2e/fixture): the value of DEFAULT_HARBOUR. */
function fixtureFact(workspace) {
  const text = fs.readFileSync(path.join(workspace, FACT_FILE), 'utf8');
  const m = /DEFAULT_HARBOUR\s*=\s*'([^']+)'/.exec(text);
  if (!m) throw new Error(`${FACT_FILE} has no DEFAULT_HARBOUR`);
  return m[1];
}

/** The answer without markdown emphasis / code marks and with one space between words, lower case. */
const plain = (s) =>
  s
    .replace(/[*_`"'’]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();

/**
 * Why the answer is degenerate, or null: a run of one character (8 or more, whitespace aside),
 * or a piece of 2–40 characters with a letter in it repeated 4 or more times in a row (a token
 * loop; digits alone are left to the first rule, so 1000000 is fine).
 */
function degenerate(text) {
  const run = /(\S)\1{7,}/u.exec(text);
  if (run) return `a run of ${run[0].length} × ${JSON.stringify(run[1])}`;
  for (const loop of text.matchAll(/(\S.{1,39}?)(?:\s*\1){3,}/gsu)) {
    if (/\p{L}/u.test(loop[1])) return `${JSON.stringify(loop[1])} repeated: ${JSON.stringify(loop[0].slice(0, 120))}`;
  }
  return null;
}

/** Throws unless `answer` names `fact` (case and formatting aside) and is not degenerate. */
function checkAnswer(answer, fact, where) {
  const why = degenerate(answer);
  if (why) throw new Error(`${where}: degenerate answer (${why}): ${JSON.stringify(answer)}`);
  if (!plain(answer).includes(plain(fact)))
    throw new Error(`${where}: the answer does not name ${fact}: ${JSON.stringify(answer)}`);
}

module.exports = { FACT_FILE, QUESTION, fixtureFact, checkAnswer, degenerate };
