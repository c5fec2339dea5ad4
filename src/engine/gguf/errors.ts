// Typed errors for everything that can go wrong while opening a model file. Each one names the
// file (and the tensor, where there is one) and says what is supported, so the CLI and the
// extension can show one clear line without a stack trace.

export type ModelErrorCode =
  | 'not-found'
  | 'not-gguf'
  | 'unsupported-version'
  | 'truncated'
  | 'corrupt'
  | 'unsupported-type'
  | 'unsupported-architecture'
  | 'missing-tensor'
  | 'bad-shape'
  | 'missing-metadata';

export class ModelFileError extends Error {
  override readonly name = 'ModelFileError';
  constructor(
    readonly code: ModelErrorCode,
    readonly file: string,
    detail: string,
    readonly tensor?: string,
  ) {
    super(`${file}${tensor !== undefined ? ` (tensor ${tensor})` : ''}: ${detail}`);
  }
}
