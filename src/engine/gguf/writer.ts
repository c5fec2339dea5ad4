// GGUF writer (v1–v3): builds the header in memory, then streams tensor data to disk one chunk
// at a time with fs.writeSync, so a multi-GB model never has to exist in memory. Tensor data can
// be bytes, or a callback producing bytes (or an iterable of chunks) only when it is written.
// The file is written to a temporary name and renamed into place once complete.
import * as fs from 'node:fs';
import { GGMLType, GGUFArray, GGUFValue, GGUFValueType, TYPE_TRAITS, typeName } from './types';

export interface GGUFMetadataEntry {
  readonly key: string;
  readonly type: GGUFValueType;
  /** For ARRAY: a GGUFArray ({ itemType, items }). 64-bit integer types accept number or bigint. */
  readonly value: GGUFValue;
}

export type TensorBytes = Uint8Array | (() => Uint8Array | Iterable<Uint8Array>);

export interface GGUFTensorEntry {
  readonly name: string;
  /** ggml order: dims[0] is the row length. */
  readonly dims: readonly number[];
  readonly type: GGMLType;
  /** Exactly the tensor's byte size (checked), or a callback producing it lazily. */
  readonly data: TensorBytes;
}

export interface GGUFWriteSpec {
  readonly version?: 1 | 2 | 3;
  readonly metadata: readonly GGUFMetadataEntry[];
  readonly tensors: readonly GGUFTensorEntry[];
  /** Data alignment; default 32, or general.alignment when the metadata has it (added to the metadata if missing). */
  readonly alignment?: number;
}

const GGUF_MAGIC = 0x46554747;

/** Byte size of a tensor of `type` with ggml dims `dims`. */
export function tensorByteSize(type: GGMLType, dims: readonly number[], name = '?'): number {
  const t = TYPE_TRAITS.get(type);
  if (!t) throw new Error(`tensor ${name}: type ${typeName(type)} cannot be written`);
  if (dims.length < 1 || dims.length > 4 || dims.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    throw new Error(`tensor ${name}: invalid dims [${dims.join(', ')}]`);
  }
  if (dims[0]! % t.blockSize !== 0)
    throw new Error(
      `tensor ${name}: row length ${dims[0]} is not a multiple of the ${t.name} block size ${t.blockSize}`,
    );
  return (dims.reduce((a, b) => a * b, 1) / t.blockSize) * t.typeSize;
}

/** Little-endian byte builder for the header. (room() may replace buf, so it runs before buf is read.) */
class Bytes {
  private buf = Buffer.alloc(1 << 16);
  length = 0;
  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  u8(v: number): void {
    const at = this.room(1);
    this.buf.writeUInt8(v, at);
  }
  i8(v: number): void {
    const at = this.room(1);
    this.buf.writeInt8(v, at);
  }
  u16(v: number): void {
    const at = this.room(2);
    this.buf.writeUInt16LE(v, at);
  }
  i16(v: number): void {
    const at = this.room(2);
    this.buf.writeInt16LE(v, at);
  }
  u32(v: number): void {
    const at = this.room(4);
    this.buf.writeUInt32LE(v, at);
  }
  i32(v: number): void {
    const at = this.room(4);
    this.buf.writeInt32LE(v, at);
  }
  f32(v: number): void {
    const at = this.room(4);
    this.buf.writeFloatLE(v, at);
  }
  f64(v: number): void {
    const at = this.room(8);
    this.buf.writeDoubleLE(v, at);
  }
  u64(v: number | bigint): void {
    const at = this.room(8);
    this.buf.writeBigUInt64LE(BigInt(v), at);
  }
  i64(v: number | bigint): void {
    const at = this.room(8);
    this.buf.writeBigInt64LE(BigInt(v), at);
  }
  raw(b: Uint8Array): void {
    const at = this.room(b.length);
    this.buf.set(b, at);
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function encodeHeader(
  metadata: readonly GGUFMetadataEntry[],
  tensors: readonly GGUFTensorEntry[],
  version: number,
  offsets: readonly number[],
): Buffer {
  const v1 = version === 1;
  const w = new Bytes();
  const count = (n: number): void => {
    if (v1) w.u32(n);
    else w.u64(n);
  };
  const str = (s: string): void => {
    const b = Buffer.from(s, 'utf8');
    count(b.length);
    w.raw(b);
  };
  const num = (x: GGUFValue, key: string): number | bigint => {
    if (typeof x !== 'number' && typeof x !== 'bigint')
      throw new Error(`metadata ${key}: expected a number, got ${typeof x}`);
    return x;
  };
  const int = (x: GGUFValue, key: string, type: GGUFValueType, lo: number, hi: number): number => {
    const n = Number(num(x, key));
    if (!Number.isInteger(n) || n < lo || n > hi)
      throw new Error(`metadata ${key}: ${String(x)} is out of range for ${GGUFValueType[type]}`);
    return n;
  };
  const big = (x: GGUFValue, key: string, type: GGUFValueType, lo: bigint, hi: bigint): bigint => {
    const v = num(x, key);
    if (typeof v === 'number' && !Number.isInteger(v)) throw new Error(`metadata ${key}: ${v} is not an integer`);
    const b = BigInt(v);
    if (b < lo || b > hi) throw new Error(`metadata ${key}: ${String(x)} is out of range for ${GGUFValueType[type]}`);
    return b;
  };
  const value = (type: GGUFValueType, x: GGUFValue, key: string, depth: number): void => {
    switch (type) {
      case GGUFValueType.UINT8:
        w.u8(int(x, key, type, 0, 0xff));
        return;
      case GGUFValueType.INT8:
        w.i8(int(x, key, type, -0x80, 0x7f));
        return;
      case GGUFValueType.UINT16:
        w.u16(int(x, key, type, 0, 0xffff));
        return;
      case GGUFValueType.INT16:
        w.i16(int(x, key, type, -0x8000, 0x7fff));
        return;
      case GGUFValueType.UINT32:
        w.u32(int(x, key, type, 0, 0xffffffff));
        return;
      case GGUFValueType.INT32:
        w.i32(int(x, key, type, -0x80000000, 0x7fffffff));
        return;
      case GGUFValueType.FLOAT32:
        w.f32(Number(num(x, key)));
        return;
      case GGUFValueType.FLOAT64:
        w.f64(Number(num(x, key)));
        return;
      case GGUFValueType.UINT64:
        w.u64(big(x, key, type, 0n, (1n << 64n) - 1n));
        return;
      case GGUFValueType.INT64:
        w.i64(big(x, key, type, -(1n << 63n), (1n << 63n) - 1n));
        return;
      case GGUFValueType.BOOL:
        if (typeof x !== 'boolean') throw new Error(`metadata ${key}: expected a boolean`);
        w.u8(x ? 1 : 0);
        return;
      case GGUFValueType.STRING:
        if (typeof x !== 'string') throw new Error(`metadata ${key}: expected a string`);
        str(x);
        return;
      case GGUFValueType.ARRAY: {
        if (typeof x !== 'object' || depth > 2) throw new Error(`metadata ${key}: expected an array (nesting ≤ 3)`);
        const a = x as GGUFArray;
        w.u32(a.itemType);
        count(a.items.length);
        for (const item of a.items) value(a.itemType, item, key, depth + 1);
        return;
      }
      default:
        throw new Error(`metadata ${key}: unknown value type ${String(type)}`);
    }
  };

  w.u32(GGUF_MAGIC);
  w.u32(version);
  count(tensors.length);
  count(metadata.length);
  for (const m of metadata) {
    str(m.key);
    w.u32(m.type);
    value(m.type, m.value, m.key, 0);
  }
  tensors.forEach((t, i) => {
    str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) {
      if (v1) w.u32(d);
      else w.u64(d);
    }
    w.u32(t.type);
    w.u64(offsets[i]!);
  });
  return w.bytes();
}

/** The data alignment, and the metadata with general.alignment added when it is not the default. */
function resolveAlignment(spec: GGUFWriteSpec): { alignment: number; metadata: readonly GGUFMetadataEntry[] } {
  const meta = spec.metadata.find((m) => m.key === 'general.alignment');
  if (meta && meta.type !== GGUFValueType.UINT32) throw new Error('general.alignment must be UINT32');
  const fromMeta = meta ? Number(meta.value) : undefined;
  const a = spec.alignment ?? fromMeta ?? 32;
  if (!Number.isInteger(a) || a <= 0 || (a & (a - 1)) !== 0) throw new Error(`alignment ${a} is not a power of two`);
  if (fromMeta !== undefined && fromMeta !== a)
    throw new Error(`alignment ${a} disagrees with general.alignment ${fromMeta}`);
  const metadata =
    fromMeta === undefined && a !== 32
      ? [...spec.metadata, { key: 'general.alignment', type: GGUFValueType.UINT32, value: a }]
      : spec.metadata;
  return { alignment: a, metadata };
}

/** Write a GGUF file. Returns the file size in bytes. */
export function writeGGUF(path: string, spec: GGUFWriteSpec): number {
  const version = spec.version ?? 3;
  if (version !== 1 && version !== 2 && version !== 3)
    throw new Error(`GGUF version ${String(version)} cannot be written (1, 2 or 3)`);
  const { alignment, metadata } = resolveAlignment(spec);
  const keys = new Set<string>();
  for (const m of metadata) {
    if (keys.has(m.key)) throw new Error(`duplicate metadata key ${m.key}`);
    keys.add(m.key);
  }
  const names = new Set<string>();
  const sizes: number[] = [];
  const offsets: number[] = [];
  let offset = 0;
  for (const t of spec.tensors) {
    if (names.has(t.name)) throw new Error(`duplicate tensor name ${t.name}`);
    names.add(t.name);
    const size = tensorByteSize(t.type, t.dims, t.name);
    sizes.push(size);
    offsets.push(offset);
    offset += Math.ceil(size / alignment) * alignment;
  }
  const header = encodeHeader(metadata, spec.tensors, version, offsets);
  const dataStart = Math.ceil(header.length / alignment) * alignment;
  const zeros = new Uint8Array(alignment);

  const tmp = `${path}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  let pos = 0;
  const write = (b: Uint8Array): void => {
    let done = 0;
    while (done < b.length) done += fs.writeSync(fd, b, done, b.length - done, pos + done);
    pos += b.length;
  };
  try {
    write(header);
    write(zeros.subarray(0, dataStart - header.length));
    spec.tensors.forEach((t, i) => {
      const size = sizes[i]!;
      const src = t.data instanceof Uint8Array ? t.data : t.data();
      let got = 0;
      const chunks: Iterable<Uint8Array> = src instanceof Uint8Array ? [src] : src;
      for (const c of chunks) {
        if (got + c.length > size) throw new Error(`tensor ${t.name}: data is longer than its ${size} bytes`);
        write(c);
        got += c.length;
      }
      if (got !== size) throw new Error(`tensor ${t.name}: got ${got} bytes of data, expected ${size}`);
      write(zeros.subarray(0, Math.ceil(size / alignment) * alignment - size));
    });
    fs.closeSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.renameSync(tmp, path);
  return pos;
}
