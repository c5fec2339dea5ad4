// Shared test helpers: where the model files are, and a skip-free guard that fails loudly
// when a required model is missing (CI fetches them with scripts/fetch-models.sh).
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const MODELS = path.join(ROOT, 'models');
export const SMOLLM2 = 'SmolLM2-135M-Instruct.Q4_1.gguf';

export function modelPath(name: string): string {
  const p = path.join(MODELS, name);
  if (!fs.existsSync(p)) throw new Error(`${p} is missing: run scripts/fetch-models.sh`);
  return p;
}
