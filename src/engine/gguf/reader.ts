// GGUF header reader: magic, version (1–3), metadata of every type, tensor infos and alignment.
// It reads through a small sliding buffer over a file descriptor, so opening a multi-GB model
// touches only its header; tensor bytes are read later, one tensor at a time (readTensorBytes).
// Every count and length is checked against the bytes left in the file before anything is
// allocated, so a corrupt or hostile file yields a ModelFileError, never a runaway allocation.
import * as fs from 'node:fs';
import { ModelFileError } from './errors';
import {
  GGUFArray,
  GGUFHeader,
  GGUFValue,
  GGUFValueType,
  TensorInfo,
  TYPE_TRAITS,
  SUPPORTED_TENSOR_TYPES,
  typeName,
} from './types';

const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
const MAX_DIMS = 4;
const DEFAULT_ALIGNMENT = 32;
const CHUNK = 1 << 20;

/** Sequential little-endian reader over an fd with bounds checks against the file size. */
class Cursor {
  private buf = Buffer.alloc(0);
  private bufStart = 0; // file offset of buf[0]
  pos = 0; // absolute file offset

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly file: string,
  ) {}

  remaining(): number {
    return this.size - this.pos;
  }

  private ensure(n: number, what: string): number {
    if (n > this.remaining()) {
      throw new ModelFileError(
        'truncated',
        this.file,
        `file ends inside ${what} at byte ${this.pos} (size ${this.size})`,
      );
    }
    const rel = this.pos - this.bufStart;
    if (rel >= 0 && rel + n <= this.buf.length) return rel;
    const len = Math.min(Math.max(n, CHUNK), this.remaining());
    const next = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const r = fs.readSync(this.fd, next, got, len - got, this.pos + got);
      if (r === 0) throw new ModelFileError('truncated', this.file, `unexpected end of file at byte ${this.pos + got}`);
      got += r;
    }
    this.buf = next;
    this.bufStart = this.pos;
    return 0;
  }

  u8(what = 'u8'): number {
    const o = this.ensure(1, what);
    this.pos += 1;
    return this.buf.readUInt8(o);
  }
  i8(): number {
    const o = this.ensure(1, 'i8');
    this.pos += 1;
    return this.buf.readInt8(o);
  }
  u16(): number {
    const o = this.ensure(2, 'u16');
    this.pos += 2;
    return this.buf.readUInt16LE(o);
  }
  i16(): number {
    const o = this.ensure(2, 'i16');
    this.pos += 2;
    return this.buf.readInt16LE(o);
  }
  u32(what = 'u32'): number {
    const o = this.ensure(4, what);
    this.pos += 4;
    return this.buf.readUInt32LE(o);
  }
  i32(): number {
    const o = this.ensure(4, 'i32');
    this.pos += 4;
    return this.buf.readInt32LE(o);
  }
  f32(): number {
    const o = this.ensure(4, 'f32');
    this.pos += 4;
    return this.buf.readFloatLE(o);
  }
  f64(): number {
    const o = this.ensure(8, 'f64');
    this.pos += 8;
    return this.buf.readDoubleLE(o);
  }
  u64(what = 'u64'): bigint {
    const o = this.ensure(8, what);
    this.pos += 8;
    return this.buf.readBigUInt64LE(o);
  }
  i64(): bigint {
    const o = this.ensure(8, 'i64');
    this.pos += 8;
    return this.buf.readBigInt64LE(o);
  }
  bytes(n: number, what: string): Buffer {
    const o = this.ensure(n, what);
    this.pos += n;
    return this.buf.subarray(o, o + n);
  }
}

/** Open a GGUF file and parse everything up to the tensor data. The fd is closed before returning. */
export function readGGUFHeader(path: string): GGUFHeader {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError(
      'not-found',
      path,
      code === 'ENOENT' ? 'no such file' : `cannot open (${code ?? String(e)})`,
    );
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new ModelFileError('not-gguf', path, 'not a regular file');
    return parse(new Cursor(fd, st.size, path), path);
  } finally {
    fs.closeSync(fd);
  }
}

function parse(c: Cursor, path: string): GGUFHeader {
  if (c.size < 8) {
    // Four bytes of GGUF magic and nothing after them is a cut-off download, not a foreign file.
    if (c.size >= 4 && c.u32('magic') === GGUF_MAGIC) {
      throw new ModelFileError('truncated', path, `file is only ${c.size} bytes: it ends inside the GGUF header`);
    }
    throw new ModelFileError('not-gguf', path, `file is ${c.size} bytes, too small to be GGUF`);
  }
  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) {
    throw new ModelFileError(
      'not-gguf',
      path,
      'missing GGUF magic: not a GGUF model file (PodLens loads GGUF v1–v3 files)',
    );
  }
  const version = c.u32('version');
  if (version < 1 || version > 3) {
    throw new ModelFileError('unsupported-version', path, `GGUF version ${version}; supported versions are 1, 2 and 3`);
  }
  const v1 = version === 1;
  // v1 stores counts and string lengths as u32, v2+ as u64.
  const count = (what: string, minItemBytes: number): number => {
    const n = v1 ? c.u32(what) : c.u64(what);
    const num = Number(n);
    if (!Number.isSafeInteger(num) || num * minItemBytes > c.remaining()) {
      // A count no real file could hold is corruption; a plausible one means the file was cut short.
      const code = num > 0xffffffff ? 'corrupt' : 'truncated';
      throw new ModelFileError(
        code,
        path,
        `${what} ${n.toString()} at byte ${c.pos} needs more than the ${c.remaining()} bytes left in the file` +
          (code === 'truncated' ? ' — the download is incomplete or the file is damaged' : ''),
      );
    }
    return num;
  };
  const str = (what: string): string => {
    const n = count(`${what} length`, 1);
    return c.bytes(n, what).toString('utf8');
  };

  const nTensors = count('tensor count', 8);
  const nKV = count('metadata count', 8);

  const metadata = new Map<string, GGUFValue>();
  const metadataTypes = new Map<string, GGUFValueType>();

  const readValue = (type: number, key: string, depth: number): GGUFValue => {
    switch (type) {
      case GGUFValueType.UINT8:
        return c.u8();
      case GGUFValueType.INT8:
        return c.i8();
      case GGUFValueType.UINT16:
        return c.u16();
      case GGUFValueType.INT16:
        return c.i16();
      case GGUFValueType.UINT32:
        return c.u32();
      case GGUFValueType.INT32:
        return c.i32();
      case GGUFValueType.FLOAT32:
        return c.f32();
      case GGUFValueType.BOOL: {
        const b = c.u8('bool');
        if (b > 1) throw new ModelFileError('corrupt', path, `metadata ${key}: bool value ${b}`);
        return b === 1;
      }
      case GGUFValueType.STRING:
        return str(`metadata ${key} string`);
      case GGUFValueType.UINT64:
        return c.u64();
      case GGUFValueType.INT64:
        return c.i64();
      case GGUFValueType.FLOAT64:
        return c.f64();
      case GGUFValueType.ARRAY: {
        if (depth > 2) throw new ModelFileError('corrupt', path, `metadata ${key}: arrays nested too deeply`);
        const itemType = c.u32('array item type');
        const n = count(`metadata ${key} array length`, minValueBytes(itemType, v1));
        const items: (number | bigint | boolean | string | GGUFArray)[] = new Array<
          number | bigint | boolean | string | GGUFArray
        >(n);
        for (let i = 0; i < n; i++) items[i] = readValue(itemType, key, depth + 1);
        return { itemType, items };
      }
      default:
        throw new ModelFileError('corrupt', path, `metadata ${key}: unknown value type ${type} at byte ${c.pos}`);
    }
  };

  for (let i = 0; i < nKV; i++) {
    const key = str('metadata key');
    const type = c.u32('metadata value type');
    if (metadata.has(key)) throw new ModelFileError('corrupt', path, `duplicate metadata key ${key}`);
    metadata.set(key, readValue(type, key, 0));
    metadataTypes.set(key, type);
  }

  let alignment = DEFAULT_ALIGNMENT;
  const a = metadata.get('general.alignment');
  if (a !== undefined) {
    if (typeof a !== 'number' || !Number.isInteger(a) || a <= 0 || a > 0x40000000 || (a & (a - 1)) !== 0) {
      throw new ModelFileError('corrupt', path, `general.alignment ${String(a)} is not a power of two`);
    }
    alignment = a;
  }

  const raw: { name: string; dims: number[]; type: number; offset: number }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = str('tensor name');
    const nDims = c.u32('tensor n_dims');
    if (nDims < 1 || nDims > MAX_DIMS)
      throw new ModelFileError('corrupt', path, `${nDims} dimensions (1–${MAX_DIMS} allowed)`, name);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) {
      const v = v1 ? c.u32('tensor dim') : Number(c.u64('tensor dim'));
      if (!Number.isSafeInteger(v) || v < 1) throw new ModelFileError('corrupt', path, `dimension ${d} is ${v}`, name);
      dims.push(v);
    }
    const type = c.u32('tensor type');
    const offset = Number(c.u64('tensor offset'));
    if (names.has(name)) throw new ModelFileError('corrupt', path, 'duplicate tensor name', name);
    names.add(name);
    raw.push({ name, dims, type, offset });
  }

  const dataOffset = Math.ceil(c.pos / alignment) * alignment; // v1 pads to the alignment too
  const tensors: TensorInfo[] = raw.map((t) => {
    const traits = TYPE_TRAITS.get(t.type);
    if (!traits) {
      throw new ModelFileError(
        'unsupported-type',
        path,
        `tensor type ${typeName(t.type)} is not supported; supported types: ${SUPPORTED_TENSOR_TYPES.join(', ')}`,
        t.name,
      );
    }
    const nElements = t.dims.reduce((p, d) => p * d, 1);
    const row = t.dims[0] ?? 1;
    if (!Number.isSafeInteger(nElements) || row % traits.blockSize !== 0) {
      throw new ModelFileError(
        'bad-shape',
        path,
        `row length ${row} is not a multiple of the ${traits.name} block size ${traits.blockSize}`,
        t.name,
      );
    }
    const nBytes = (nElements / traits.blockSize) * traits.typeSize;
    if (t.offset % alignment !== 0) {
      throw new ModelFileError('corrupt', path, `data offset ${t.offset} is not aligned to ${alignment}`, t.name);
    }
    const fileOffset = dataOffset + t.offset;
    if (fileOffset + nBytes > c.size) {
      throw new ModelFileError(
        'truncated',
        path,
        `tensor data ends at byte ${fileOffset + nBytes} but the file has ${c.size} bytes — the download is incomplete or the file is damaged`,
        t.name,
      );
    }
    return { name: t.name, dims: t.dims, type: t.type, offset: t.offset, fileOffset, nElements, nBytes };
  });

  return { path, version, fileSize: c.size, metadata, metadataTypes, tensors, alignment, dataOffset };
}

function minValueBytes(type: number, v1: boolean): number {
  switch (type) {
    case GGUFValueType.UINT8:
    case GGUFValueType.INT8:
    case GGUFValueType.BOOL:
      return 1;
    case GGUFValueType.UINT16:
    case GGUFValueType.INT16:
      return 2;
    case GGUFValueType.UINT32:
    case GGUFValueType.INT32:
    case GGUFValueType.FLOAT32:
      return 4;
    case GGUFValueType.STRING:
      return v1 ? 4 : 8;
    case GGUFValueType.ARRAY:
      return v1 ? 8 : 12;
    default:
      return 8;
  }
}
