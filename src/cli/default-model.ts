// The CLI's default model: when a command that takes --model is run without it, the model is
// models/qwen2.5-coder-0.5b-instruct.gguf in the PodLens folder the CLI belongs to (found from the
// CLI's own location, never the current directory, so `podlens summarize src` works anywhere in a
// clone), and one line on stderr says which model that is. Not the model loader.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_MODEL } from '../shared/default-model';
import { FlagSpec } from './args';

/** The --model flag of every command that runs or reads a model. */
export const MODEL_FLAG: FlagSpec = {
  type: 'string',
  help: `GGUF model file (default: ${DEFAULT_MODEL.relPath} in the PodLens folder)`,
};

/** PodLens folders this build may live in: dist/cli.js → .., out/src/cli/*.js → ../../.. */
export function packageRoots(dir: string = __dirname): string[] {
  return [path.resolve(dir, '..'), path.resolve(dir, '..', '..', '..')];
}

/** The default model's absolute path; an Error saying how to fetch it when it is not there. */
export function resolveDefaultModel(
  roots: readonly string[] = packageRoots(),
  exists: (p: string) => boolean = fs.existsSync,
): string {
  const rel = DEFAULT_MODEL.relPath.split('/');
  for (const r of roots) {
    const p = path.join(r, ...rel);
    if (exists(p)) return p;
  }
  const root = roots.find((r) => exists(path.join(r, 'package.json'))) ?? roots[0] ?? process.cwd();
  throw new Error(
    `the default model ${DEFAULT_MODEL.label} is missing (${path.join(root, ...rel)}): run \`${DEFAULT_MODEL.fetchCommand}\` in ${root}, or give --model FILE`,
  );
}

/** The stderr line when the default is used: the path relative to the current folder when inside it. */
export function defaultModelLine(file: string, cwd: string = process.cwd()): string {
  const rel = path.relative(cwd, file);
  const shown = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
  return `model: ${DEFAULT_MODEL.label} (${shown}, default)`;
}
