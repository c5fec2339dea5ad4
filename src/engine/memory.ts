// Memory estimates made before loading: packed weight bytes (what ONNX Runtime will hold), the
// KV cache at the chosen context, and a fixed runtime overhead — compared with free memory so a
// model that cannot fit is refused with numbers instead of taking the machine down.
import * as os from 'node:os';
import { GGUFFile } from './gguf/file';
import { ModelConfig } from './model/config';
import { packedBytes } from './onnx/pack';

/** ORT arenas, graph buffers, JS heap: measured ≈ 150–250 MB on SmolLM2; rounded up. */
const RUNTIME_OVERHEAD = 300 * 2 ** 20;

export interface MemoryEstimate {
  weightBytes: number;
  kvBytes: number;
  overheadBytes: number;
  totalBytes: number;
  freeBytes: number;
}

export function estimateMemory(f: GGUFFile, c: ModelConfig, contextSize: number, kvBytesPerElement = 4): MemoryEstimate {
  let weightBytes = 0;
  for (const t of f.tensors) {
    if (t.name === 'token_embd.weight' && !c.tiedEmbeddings) continue; // embeddings are read from the file on demand
    weightBytes += t.dims.length === 2 ? packedBytes(t.type, t.dims[0]!, t.dims[1]!) : t.nElements * 4;
  }
  const kvBytes = 2 * c.nLayers * contextSize * c.nKVHeads * c.headDim * kvBytesPerElement;
  const totalBytes = weightBytes + kvBytes + RUNTIME_OVERHEAD;
  return { weightBytes, kvBytes, overheadBytes: RUNTIME_OVERHEAD, totalBytes, freeBytes: os.freemem() };
}
