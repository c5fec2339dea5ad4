// gitignore(5) matching (src/context/gitignore.ts): each rule of the man page the walk relies on,
// checked on paths relative to the walk root. Exact (boolean) results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IgnoreMatcher, parseIgnore } from '../src/context/gitignore';

const m = (text: string, base = '') => new IgnoreMatcher(parseIgnore(text, base));

test('comments, blank lines, escapes and trailing spaces', () => {
  const g = m('# comment\n\n\\#hash\n\\!bang\nspace\\ \ntrail   \n');
  assert.equal(g.ignored('# comment', false), false);
  assert.equal(g.ignored('#hash', false), true);
  assert.equal(g.ignored('!bang', false), true);
  assert.equal(g.ignored('space ', false), true);
  assert.equal(g.ignored('trail', false), true);
  assert.equal(g.ignored('trail   ', false), false);
});

test('a name without a slash matches at any depth; a slash anchors', () => {
  const g = m('foo\n/bar\ndoc/frotz\n');
  assert.equal(g.ignored('foo', false), true);
  assert.equal(g.ignored('a/b/foo', true), true);
  assert.equal(g.ignored('bar', false), true);
  assert.equal(g.ignored('a/bar', false), false);
  assert.equal(g.ignored('doc/frotz', true), true);
  assert.equal(g.ignored('a/doc/frotz', true), false);
});

test('trailing slash matches directories only', () => {
  const g = m('build/\n');
  assert.equal(g.ignored('build', true), true);
  assert.equal(g.ignored('x/build', true), true);
  assert.equal(g.ignored('build', false), false);
});

test('wildcards: *, ?, classes, negated classes; * does not cross /', () => {
  const g = m('*.log\nfile?.txt\n[ab]c.md\n[!x]y.md\nsrc/*.js\n');
  assert.equal(g.ignored('a/b/x.log', false), true);
  assert.equal(g.ignored('file1.txt', false), true);
  assert.equal(g.ignored('file12.txt', false), false);
  assert.equal(g.ignored('ac.md', false), true);
  assert.equal(g.ignored('cc.md', false), false);
  assert.equal(g.ignored('zy.md', false), true);
  assert.equal(g.ignored('xy.md', false), false);
  assert.equal(g.ignored('src/a.js', false), true);
  assert.equal(g.ignored('src/sub/a.js', false), false);
});

test('** leading, trailing and in the middle', () => {
  const g = m('**/logs\na/**\nx/**/y\n');
  assert.equal(g.ignored('logs', true), true);
  assert.equal(g.ignored('p/q/logs', true), true);
  assert.equal(g.ignored('a/b/c', false), true);
  assert.equal(g.ignored('a', true), false);
  assert.equal(g.ignored('x/y', false), true);
  assert.equal(g.ignored('x/1/2/y', false), true);
  assert.equal(g.ignored('z/x/y', false), false);
});

test('negation: the last matching rule wins', () => {
  const g = m('*.ts\n!keep.ts\nsrc/keep.ts\n');
  assert.equal(g.ignored('a.ts', false), true);
  assert.equal(g.ignored('keep.ts', false), false);
  assert.equal(g.ignored('src/keep.ts', false), true);
  assert.equal(g.ignored('lib/keep.ts', false), false);
});

test('rules of a nested .gitignore apply below its folder and take precedence', () => {
  const g = m('*.gen\n').with(parseIgnore('!ok.gen\n/local\n', 'pkg'));
  assert.equal(g.ignored('x.gen', false), true);
  assert.equal(g.ignored('pkg/ok.gen', false), false);
  assert.equal(g.ignored('ok.gen', false), true);
  assert.equal(g.ignored('pkg/local', false), true);
  assert.equal(g.ignored('local', false), false);
  assert.equal(g.ignored('pkg/sub/local', false), false);
});

test('special regex characters are literal', () => {
  const g = m('a+b(c).txt\n$x^\n');
  assert.equal(g.ignored('a+b(c).txt', false), true);
  assert.equal(g.ignored('aab(c).txt', false), false);
  assert.equal(g.ignored('$x^', false), true);
});
