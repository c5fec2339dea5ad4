// An opened GGUF model file: the parsed header plus typed metadata getters and on-demand tensor
// reads through a kept-open fd. Tensor bytes are never cached here, so the process holds at most
// the tensor being converted, not a second copy of the file.
import * as fs from 'node:fs';
import { ModelFileError } from './errors';
import { readGGUFHeader } from './reader';
import { GGUFArray, GGUFHeader, GGUFValue, TensorInfo } from './types';

export class GGUFFile {
  private fd: number | undefined;
  private readonly byName: Map<string, TensorInfo>;

  private constructor(readonly header: GGUFHeader) {
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  static open(path: string): GGUFFile {
    return new GGUFFile(readGGUFHeader(path));
  }

  get path(): string {
    return this.header.path;
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  // ---- metadata ---------------------------------------------------------------------------
  has(key: string): boolean {
    return this.header.metadata.has(key);
  }

  raw(key: string): GGUFValue | undefined {
    return this.header.metadata.get(key);
  }

  string(key: string): string;
  string(key: string, fallback: string | undefined): string | undefined;
  string(key: string, fallback?: string): string | undefined {
    const v = this.header.metadata.get(key);
    if (v === undefined) {
      if (arguments.length > 1) return fallback;
      throw new ModelFileError('missing-metadata', this.path, `metadata key ${key} is missing`);
    }
    if (typeof v !== 'string') throw new ModelFileError('corrupt', this.path, `metadata ${key} should be a string`);
    return v;
  }

  number(key: string): number;
  number(key: string, fallback: number | undefined): number | undefined;
  number(key: string, fallback?: number): number | undefined {
    const v = this.header.metadata.get(key);
    if (v === undefined) {
      if (arguments.length > 1) return fallback;
      throw new ModelFileError('missing-metadata', this.path, `metadata key ${key} is missing`);
    }
    if (typeof v === 'bigint') return Number(v);
    if (typeof v !== 'number') throw new ModelFileError('corrupt', this.path, `metadata ${key} should be a number`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.header.metadata.get(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw new ModelFileError('corrupt', this.path, `metadata ${key} should be a bool`);
    return v;
  }

  array(key: string): GGUFArray | undefined {
    const v = this.header.metadata.get(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'object') throw new ModelFileError('corrupt', this.path, `metadata ${key} should be an array`);
    return v;
  }

  /** Array of strings (tokens, merges). */
  strings(key: string): string[] | undefined {
    const a = this.array(key);
    if (!a) return undefined;
    return a.items.map((x) => {
      if (typeof x !== 'string') throw new ModelFileError('corrupt', this.path, `metadata ${key} should hold strings`);
      return x;
    });
  }

  /** Array of numbers (scores, token types, per-layer values). */
  numbers(key: string): number[] | undefined {
    const a = this.array(key);
    if (!a) return undefined;
    return a.items.map((x) => {
      if (typeof x === 'bigint') return Number(x);
      if (typeof x !== 'number') throw new ModelFileError('corrupt', this.path, `metadata ${key} should hold numbers`);
      return x;
    });
  }

  // ---- tensors ----------------------------------------------------------------------------
  get tensors(): readonly TensorInfo[] {
    return this.header.tensors;
  }

  tensor(name: string): TensorInfo | undefined {
    return this.byName.get(name);
  }

  requireTensor(name: string): TensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new ModelFileError('missing-tensor', this.path, 'required tensor is missing', name);
    return t;
  }

  /** Read `length` bytes of a tensor starting at byte `start` within it (default: all of it). */
  readTensorBytes(info: TensorInfo, start = 0, length = info.nBytes - start): Buffer {
    if (start < 0 || length < 0 || start + length > info.nBytes) {
      throw new RangeError(`read of ${length} bytes at ${start} outside tensor ${info.name} (${info.nBytes} bytes)`);
    }
    if (this.fd === undefined) this.fd = fs.openSync(this.path, 'r');
    const out = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const r = fs.readSync(this.fd, out, got, length - got, info.fileOffset + start + got);
      if (r === 0)
        throw new ModelFileError(
          'truncated',
          this.path,
          'file ended while reading tensor data (was it modified?)',
          info.name,
        );
      got += r;
    }
    return out;
  }
}
