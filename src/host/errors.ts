// One line for the user for any error that reaches the host, saying what to do about it. The
// engine's typed errors (ModelFileError, InsufficientMemoryError, PromptTooLongError) arrive from
// the worker as { name, message } and already carry numbers; this adds the next step in VS Code
// terms (which command or setting). No vscode import.

export function describeError(e: unknown): string {
  const name = e instanceof Error ? e.name : 'Error';
  const message = e instanceof Error ? e.message : String(e);
  switch (name) {
    case 'ModelFileError':
      return `${message}. Pick another GGUF file with "PodLens: Select Model…".`;
    case 'InsufficientMemoryError':
      return `${message} (settings podlens.engine.contextSize and podlens.kv.cache; "PodLens: Select Model…" or "PodLens: Download Recommended Model" for another model).`;
    case 'PromptTooLongError':
      return `${message} (setting podlens.engine.contextSize).`;
    case 'ProfileError':
      return `${message.replace(/'podlens calibrate'/g, '"PodLens: Calibrate Model"')} (or clear the setting podlens.kv.profile).`;
    case 'NoModelError':
      return 'No model is loaded. Run "PodLens: Select Model…" to pick a GGUF file.';
    case 'EngineCrashError':
      return `${message.charAt(0).toUpperCase()}${message.slice(1)}.`;
    default:
      return message;
  }
}
