// Can the engine load this GGUF file? Reads the header and metadata only (never the weights) and
// answers { supported, note }: "llama, 30 layers", or why not (split files, unsupported
// architecture, corrupt or truncated header). Model discovery (src/host/models/model-discovery.ts) asks
// the reader worker (src/worker/reader-main.ts) to run it, because parsing a real model's
// metadata (Qwen2.5-Coder's 151K-token vocabulary and merges) takes about half a second of
// synchronous work that must not run on the editor's thread. Not here: finding files.
import { GGUFFile } from '../engine/gguf/file';
import { readModelConfig } from '../engine/model/config';

export interface GGUFCheck {
  supported: boolean;
  note: string;
}

/** Can the engine load this file? Reads the header and metadata only. */
export function checkGGUF(file: string): GGUFCheck {
  try {
    const f = GGUFFile.open(file);
    try {
      const parts = f.number('split.count', undefined);
      if (parts !== undefined && parts > 1)
        return { supported: false, note: `split GGUF (${parts} parts): merge the parts into one file first` };
      const c = readModelConfig(f);
      return { supported: true, note: `${c.arch}, ${c.nLayers} layers` };
    } finally {
      f.close();
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { supported: false, note: msg.startsWith(`${file}: `) ? msg.slice(file.length + 2) : msg };
  }
}
