// The default model of the CLI and the extension's development model: which file in the
// PodLens folder's models/ (scripts/fetch-models.sh puts it there) and what to call it. Constants
// only, shared by src/cli and src/host; not where a model is resolved or downloaded.

export const DEFAULT_MODEL = {
  /** The model's name as people know it. */
  label: 'Qwen2.5-Coder-0.5B-Instruct',
  /** Path relative to the PodLens folder (the clone, or the extension folder), '/'-separated. */
  relPath: 'models/qwen2.5-coder-0.5b-instruct.gguf',
  /** What makes it: the one command that fetches it (sha256-checked). */
  fetchCommand: 'bash scripts/fetch-models.sh',
} as const;
