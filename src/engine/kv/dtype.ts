// Storage types of KV cache buffers: float32, or 16-bit IEEE half (the default for PoD and
// llama.cpp's default too). The graph reads and writes the same type (attention.ts casts around
// its matmuls), so the engine copies rows without converting them.
import { HostTensor } from '../onnx/runtime';

export type KVDtype = 'f32' | 'f16';
export type KVArray = Float32Array | Uint16Array;

export function bytesPerElement(d: KVDtype): number {
  return d === 'f32' ? 4 : 2;
}

export function allocKV(d: KVDtype, n: number): KVArray {
  return d === 'f32' ? new Float32Array(n) : new Uint16Array(n);
}

export function kvTensor(d: KVDtype, data: KVArray, dims: readonly number[]): HostTensor {
  return d === 'f32'
    ? { type: 'float32', data: data as Float32Array, dims }
    : { type: 'float16', data: data as Uint16Array, dims };
}

/** Check a graph output has the cache's storage type before copying it into a buffer. */
export function asKV(d: KVDtype, t: HostTensor): KVArray {
  if ((d === 'f32' && t.type !== 'float32') || (d === 'f16' && t.type !== 'float16')) {
    throw new Error(`KV output is ${t.type}, the cache stores ${d}`);
  }
  return t.data as KVArray;
}
