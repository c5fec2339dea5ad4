// A strict command-line parser: each command declares its flags and types; anything unknown,
// missing or malformed is a UsageError (the CLI prints usage and exits 2).

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type FlagType = 'string' | 'int' | 'number' | 'bool';
export interface FlagSpec {
  type: FlagType;
  required?: boolean;
  help: string;
  min?: number;
  max?: number;
}
export type FlagSpecs = Record<string, FlagSpec>;
export type ParsedFlags = Record<string, string | number | boolean | undefined>;

export function parseFlags(argv: readonly string[], specs: FlagSpecs): { flags: ParsedFlags; positional: string[] } {
  const flags: ParsedFlags = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (flags[name] !== undefined) throw new UsageError(`--${name} given twice`);
    if (spec.type === 'bool') {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    let raw: string | undefined;
    if (eq > 0) raw = a.slice(eq + 1);
    else {
      raw = argv[++i];
      if (raw === undefined) throw new UsageError(`--${name} needs a value`);
    }
    if (spec.type === 'string') flags[name] = raw;
    else {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} must be a number (got "${raw}")`);
      if (spec.type === 'int' && !Number.isInteger(v))
        throw new UsageError(`--${name} must be an integer (got "${raw}")`);
      if (spec.min !== undefined && v < spec.min) throw new UsageError(`--${name} must be ≥ ${spec.min} (got ${v})`);
      if (spec.max !== undefined && v > spec.max) throw new UsageError(`--${name} must be ≤ ${spec.max} (got ${v})`);
      flags[name] = v;
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && flags[name] === undefined) throw new UsageError(`--${name} is required`);
  }
  return { flags, positional };
}

export function flagHelp(specs: FlagSpecs): string {
  return Object.entries(specs)
    .map(
      ([n, s]) =>
        `  --${n}${s.type === 'bool' ? '' : ` <${s.type === 'string' ? 'value' : s.type}>`}`.padEnd(28) +
        s.help +
        (s.required ? ' (required)' : ''),
    )
    .join('\n');
}
