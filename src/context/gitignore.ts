// .gitignore pattern matching (the rules of gitignore(5) that a workspace walk needs): comments,
// blank lines, `\` escapes, trailing-space trimming, `!` negation, trailing `/` (directories only),
// anchoring (a `/` at the start or middle anchors the pattern to its .gitignore's folder; otherwise
// it matches a name at any depth), `*`, `?`, `[…]` classes, and `**` (leading `**/`, trailing `/**`,
// middle `/**/`). The last matching rule wins. A path inside an ignored folder is ignored because
// the walk never enters that folder (git's own rule: a file cannot be re-included then).
// Not here: reading files, walking folders (walk.ts).

export interface IgnoreRule {
  readonly source: string;
  readonly negate: boolean;
  readonly dirOnly: boolean;
  /** Folder of the .gitignore, relative to the walk root, '' or ending in '/'. */
  readonly base: string;
  readonly re: RegExp;
}

const escapeRe = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** Regex source for a glob (already stripped of `!`, leading `/` and trailing `/`). */
export function globToRegExp(glob: string, anchored: boolean): RegExp {
  let re = '';
  for (let i = 0; i < glob.length;) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const prevSlash = i === 0 || glob[i - 1] === '/';
        if (prevSlash && glob[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 3;
          continue;
        }
        if (prevSlash && i + 2 === glob.length) {
          re += '.*';
          i += 2;
          continue;
        }
        re += '[^/]*';
        i += 2;
        continue; // `**` not delimited by slashes is an ordinary `*`
      }
      re += '[^/]*';
      i++;
      continue;
    }
    if (c === '?') {
      re += '[^/]';
      i++;
      continue;
    }
    if (c === '\\' && i + 1 < glob.length) {
      re += escapeRe(glob[i + 1]!);
      i += 2;
      continue;
    }
    if (c === '[') {
      let j = i + 1;
      if (glob[j] === '!' || glob[j] === '^') j++;
      if (glob[j] === ']') j++;
      while (j < glob.length && glob[j] !== ']') j++;
      if (j >= glob.length) {
        re += '\\[';
        i++;
        continue;
      } // no closing bracket: a literal `[`
      let body = glob.slice(i + 1, j);
      const neg = body.startsWith('!') || body.startsWith('^');
      if (neg) body = body.slice(1);
      body = body.replace(/\\/g, '\\\\').replace(/\^/g, '\\^').replace(/\[/g, '\\[').replace(/\]/g, '\\]');
      re += neg ? `[^/${body}]` : `(?!/)[${body}]`;
      i = j + 1;
      continue;
    }
    re += escapeRe(c);
    i++;
  }
  return new RegExp(anchored ? `^${re}$` : `^(?:.*/)?${re}$`);
}

/** Rules of one .gitignore (or .podlensignore) found in folder `base` ('' = the walk root). */
export function parseIgnore(text: string, base = ''): IgnoreRule[] {
  const b = base === '' || base.endsWith('/') ? base : `${base}/`;
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw;
    // Trailing spaces are ignored unless escaped with a backslash.
    while (line.endsWith(' ') && !line.endsWith('\\ ')) line = line.slice(0, -1);
    if (line === '' || line.startsWith('#')) continue;
    let negate = false;
    if (line.startsWith('!')) {
      negate = true;
      line = line.slice(1);
    } else if (line.startsWith('\\!') || line.startsWith('\\#')) line = line.slice(1);
    let dirOnly = false;
    if (line.endsWith('/') && !line.endsWith('\\/')) {
      dirOnly = true;
      line = line.slice(0, -1);
    }
    if (line === '') continue;
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    rules.push({ source: raw, negate, dirOnly, base: b, re: globToRegExp(line, anchored) });
  }
  return rules;
}

/** A stack of rule lists (outer folders first); the last matching rule decides. */
export class IgnoreMatcher {
  private readonly rules: IgnoreRule[] = [];

  constructor(rules: readonly IgnoreRule[] = []) {
    this.rules.push(...rules);
  }

  /** A matcher with more rules that take precedence (a deeper .gitignore). */
  with(rules: readonly IgnoreRule[]): IgnoreMatcher {
    return rules.length === 0 ? this : new IgnoreMatcher([...this.rules, ...rules]);
  }

  /** The deciding rule for a path relative to the walk root ('/'-separated), or undefined. */
  match(path: string, isDir: boolean): IgnoreRule | undefined {
    for (let i = this.rules.length - 1; i >= 0; i--) {
      const r = this.rules[i]!;
      if (r.dirOnly && !isDir) continue;
      if (r.base && !path.startsWith(r.base)) continue;
      if (r.re.test(path.slice(r.base.length))) return r;
    }
    return undefined;
  }

  ignored(path: string, isDir: boolean): boolean {
    const r = this.match(path, isDir);
    return r !== undefined && !r.negate;
  }
}
