// Tiny runtime validators for messages that cross a trust boundary (webview → host, host →
// webview, host ⇄ engine worker). A `Schema<T>` checks an `unknown` value and either returns it
// typed as T or says where and why it is malformed. No dependencies, no DOM, no Node: the host,
// the worker and the webview bundles all use it. Not a general JSON-schema library: only the
// shapes our protocols need (objects with known keys, literals, unions on a tag, arrays, numbers).

export type Check<T> = { ok: true; value: T } | { ok: false; error: string };

export interface Schema<T> {
  readonly describe: string;
  check(v: unknown, path?: string): Check<T>;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

const ok = <T>(value: T): Check<T> => ({ ok: true, value });
const fail = <T>(path: string, want: string, v: unknown): Check<T> => ({
  ok: false,
  error: `${path || 'message'}: expected ${want}, got ${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}`,
});

function make<T>(describe: string, check: (v: unknown, path: string) => Check<T>): Schema<T> {
  return { describe, check: (v, path = '') => check(v, path) };
}

export const string = (opts: { minLength?: number; maxLength?: number } = {}): Schema<string> =>
  make('string', (v, p) => {
    if (typeof v !== 'string') return fail(p, 'string', v);
    if (opts.minLength !== undefined && v.length < opts.minLength)
      return { ok: false, error: `${p}: shorter than ${opts.minLength} characters` };
    if (opts.maxLength !== undefined && v.length > opts.maxLength)
      return { ok: false, error: `${p}: longer than ${opts.maxLength} characters` };
    return ok(v);
  });

export const number = (opts: { min?: number; max?: number; integer?: boolean } = {}): Schema<number> =>
  make(opts.integer ? 'integer' : 'number', (v, p) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return fail(p, 'finite number', v);
    if (opts.integer && !Number.isInteger(v)) return { ok: false, error: `${p}: expected an integer, got ${v}` };
    if (opts.min !== undefined && v < opts.min) return { ok: false, error: `${p}: ${v} is below ${opts.min}` };
    if (opts.max !== undefined && v > opts.max) return { ok: false, error: `${p}: ${v} is above ${opts.max}` };
    return ok(v);
  });

export const boolean: Schema<boolean> = make('boolean', (v, p) =>
  typeof v === 'boolean' ? ok(v) : fail(p, 'boolean', v),
);

export const literal = <const L extends string | number | boolean | null>(l: L): Schema<L> =>
  make(JSON.stringify(l), (v, p) =>
    v === l
      ? ok(l)
      : {
          ok: false,
          error: `${p || 'message'}: expected ${JSON.stringify(l)}, got ${JSON.stringify(v) ?? 'undefined'}`,
        },
  );

export const oneOf = <const L extends readonly string[]>(values: L): Schema<L[number]> =>
  make(values.join(' | '), (v, p) =>
    typeof v === 'string' && values.includes(v)
      ? ok(v as L[number])
      : {
          ok: false,
          error: `${p || 'message'}: expected one of ${values.join(', ')}, got ${JSON.stringify(v) ?? 'undefined'}`,
        },
  );

export const array = <T>(item: Schema<T>, opts: { maxLength?: number } = {}): Schema<T[]> =>
  make(`${item.describe}[]`, (v, p) => {
    if (!Array.isArray(v)) return fail(p, 'array', v);
    if (opts.maxLength !== undefined && v.length > opts.maxLength)
      return { ok: false, error: `${p}: more than ${opts.maxLength} items` };
    const out: T[] = [];
    for (let i = 0; i < v.length; i++) {
      const r = item.check(v[i], `${p}[${i}]`);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return ok(out);
  });

/** Marks an object key as optional (absent or undefined). */
export interface Optional<T> extends Schema<T | undefined> {
  readonly optional: true;
}
export const optional = <T>(s: Schema<T>): Optional<T> => ({
  describe: `${s.describe}?`,
  optional: true,
  check: (v, path = '') => (v === undefined ? ok(undefined) : s.check(v, path)),
});

export const nullable = <T>(s: Schema<T>): Schema<T | null> =>
  make(`${s.describe} | null`, (v, p) => (v === null ? ok(null) : s.check(v, p)));

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends Optional<unknown> ? K : never }[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
export type ObjectOf<S extends Shape> = { [K in RequiredKeys<S>]: Infer<S[K]> } & {
  [K in OptionalKeys<S>]?: Exclude<Infer<S[K]>, undefined>;
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An object with exactly these keys (unknown keys are rejected: they usually mean a version skew or a forged message). */
export const object = <S extends Shape>(shape: S): Schema<{ [K in keyof ObjectOf<S>]: ObjectOf<S>[K] }> =>
  make(`{${Object.keys(shape).join(', ')}}`, (v, p) => {
    if (!isRecord(v)) return fail(p, 'object', v);
    for (const k of Object.keys(v))
      if (!(k in shape)) return { ok: false, error: `${p ? `${p}.` : ''}${k}: unexpected key` };
    const out: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(shape)) {
      const r = s.check(v[k], p ? `${p}.${k}` : k);
      if (!r.ok) return r;
      if (r.value !== undefined) out[k] = r.value;
    }
    return ok(out as { [K in keyof ObjectOf<S>]: ObjectOf<S>[K] });
  });

/** A union of object schemas discriminated by the string key `tag`; the error names the variant tried. */
export const tagged = <K extends string, V extends Record<string, Schema<unknown>>>(
  tag: K,
  variants: V,
): Schema<Infer<V[keyof V]>> =>
  make(`${tag}: ${Object.keys(variants).join(' | ')}`, (v, p) => {
    if (!isRecord(v)) return fail(p, 'object', v);
    const t = v[tag];
    const s = typeof t === 'string' && Object.prototype.hasOwnProperty.call(variants, t) ? variants[t] : undefined;
    if (!s)
      return {
        ok: false,
        error: `${p ? `${p}.` : ''}${tag}: unknown ${JSON.stringify(t) ?? 'undefined'} (expected ${Object.keys(variants).join(', ')})`,
      };
    return s.check(v, p) as Check<Infer<V[keyof V]>>;
  });
