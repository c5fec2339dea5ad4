// Worker for test/gguf-errors.test.ts: parses seeded random mutations of a real GGUF file and
// reports how each attempt ended. It runs in a worker thread so the test can terminate it if a
// mutation ever makes the reader loop forever.
import { parentPort, workerData } from 'node:worker_threads';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GGUFFile } from '../src/engine/gguf/file';
import { ModelFileError } from '../src/engine/gguf/errors';
import { readModelConfig } from '../src/engine/model/config';
import { dequantizeRows } from '../src/engine/gguf/tensor-data';

export interface FuzzInput {
  source: string;
  dir: string;
  count: number;
  seed: number;
}
export interface FuzzResult {
  ok: number;
  codes: Record<string, number>;
  foreign: string[];
  slowestMs: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EXTREMES = [0, 1, 2, 3, 4, 7, 8, 9, 12, 13, 30, 31, 32, 99, 255, 0x7fffffff, 0x80000000, 0xffffffff];

/** One mutated copy: the header region is damaged, the tensor data is kept. */
function mutate(file: Buffer, headerEnd: number, r: () => number): Buffer {
  const at = (): number => Math.floor(r() * headerEnd);
  const head = Buffer.from(file.subarray(0, headerEnd));
  const tail = file.subarray(headerEnd);
  switch (Math.floor(r() * 6)) {
    case 0: {
      // flip 1–8 random bits
      const n = 1 + Math.floor(r() * 8);
      for (let i = 0; i < n; i++) {
        const p = at();
        head[p] = head[p]! ^ (1 << Math.floor(r() * 8));
      }
      return Buffer.concat([head, tail]);
    }
    case 1: {
      // a u32 (and maybe the high half of a u64) set to an extreme value
      const p = Math.min(at(), headerEnd - 8);
      head.writeUInt32LE(EXTREMES[Math.floor(r() * EXTREMES.length)]!, p);
      if (r() < 0.3) head.writeUInt32LE(r() < 0.5 ? 0xffffffff : 1, p + 4);
      return Buffer.concat([head, tail]);
    }
    case 2: // cut the file anywhere, data included
      return file.subarray(0, Math.floor(r() * file.length));
    case 3: {
      // delete a range of the header
      const p = at();
      return Buffer.concat([
        head.subarray(0, p),
        head.subarray(Math.min(headerEnd, p + 1 + Math.floor(r() * 64))),
        tail,
      ]);
    }
    case 4: {
      // insert random bytes
      const p = at();
      const ins = Buffer.from(Array.from({ length: 1 + Math.floor(r() * 16) }, () => Math.floor(r() * 256)));
      return Buffer.concat([head.subarray(0, p), ins, head.subarray(p), tail]);
    }
    default: {
      // overwrite a run with one byte value
      const p = at();
      head.fill([0x00, 0xff, 0x7f, 0x80][Math.floor(r() * 4)]!, p, Math.min(headerEnd, p + 1 + Math.floor(r() * 12)));
      return Buffer.concat([head, tail]);
    }
  }
}

export function runFuzz(input: FuzzInput): FuzzResult {
  const original = fs.readFileSync(input.source);
  const f0 = GGUFFile.open(input.source);
  const headerEnd = f0.header.dataOffset;
  const r = rng(input.seed);
  const res: FuzzResult = { ok: 0, codes: {}, foreign: [], slowestMs: 0 };
  const target = path.join(input.dir, 'mutant.gguf');
  for (let i = 0; i < input.count; i++) {
    fs.writeFileSync(target, mutate(original, headerEnd, r));
    const t0 = performance.now();
    let f: GGUFFile | undefined;
    try {
      f = GGUFFile.open(target);
      // A header that parses must also survive the code that consumes it.
      readModelConfig(f);
      for (const t of f.tensors) dequantizeRows(f, t, 0, 1);
      f.strings('tokenizer.ggml.tokens');
      res.ok++;
    } catch (e) {
      if (e instanceof ModelFileError) {
        res.codes[e.code] = (res.codes[e.code] ?? 0) + 1;
        if (!e.message.startsWith(target)) res.foreign.push(`#${i}: message does not name the file: ${e.message}`);
      } else {
        res.foreign.push(`#${i}: ${(e as Error).name}: ${(e as Error).message}`);
      }
    } finally {
      f?.close();
    }
    res.slowestMs = Math.max(res.slowestMs, performance.now() - t0);
  }
  return res;
}

if (parentPort && workerData) parentPort.postMessage(runFuzz(workerData as FuzzInput));
