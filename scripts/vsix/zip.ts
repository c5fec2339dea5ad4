// A minimal ZIP writer and reader for VSIX files (a VSIX is an OPC zip): stored or deflated
// entries, UTF-8 names, no zip64 (a VSIX stays far below 4 GiB and 65,535 entries), fixed
// timestamps so the same inputs give the same bytes. Node's zlib does the deflate and the CRC.
// Not a general archiver: no encryption, no multi-disk, no data descriptors.
import * as zlib from 'node:zlib';

export interface ZipInput {
  /** Path inside the archive, '/'-separated, no leading slash. */
  name: string;
  data: Buffer;
  /** Unix permission bits (0o644 default; 0o755 for executables). */
  mode?: number;
}

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  offset: number;
}

const DOS_TIME = 0; // 00:00:00
const DOS_DATE = ((2020 - 1980) << 9) | (1 << 5) | 1; // 2020-01-01
const UTF8 = 0x0800;
const LIMIT = 0xffff_ffff;

/** Build a zip archive; entries are deflated unless that does not make them smaller. */
export function writeZip(inputs: readonly ZipInput[]): Buffer {
  if (inputs.length >= 0xffff) throw new Error(`too many zip entries (${inputs.length})`);
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const f of inputs) {
    const name = Buffer.from(f.name, 'utf8');
    const crc = zlib.crc32(f.data);
    const deflated = zlib.deflateRawSync(f.data, { level: 9 });
    const stored = deflated.length >= f.data.length;
    const body = stored ? f.data : deflated;
    if (offset + body.length > LIMIT || f.data.length > LIMIT) throw new Error('zip too large (no zip64 support)');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(UTF8, 6);
    local.writeUInt16LE(stored ? 0 : 8, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, spec 2.0
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(UTF8, 8);
    cd.writeUInt16LE(stored ? 0 : 8, 10);
    cd.writeUInt16LE(DOS_TIME, 12);
    cd.writeUInt16LE(DOS_DATE, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(f.data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE((((f.mode ?? 0o644) | 0o100000) << 16) >>> 0, 38); // regular file + mode
    cd.writeUInt32LE(offset, 42);
    chunks.push(local, name, body);
    central.push(cd, name);
    offset += local.length + name.length + body.length;
  }
  const cdSize = central.reduce((a, b) => a + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(inputs.length, 8);
  end.writeUInt16LE(inputs.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...chunks, ...central, end]);
}

/** The entries of a zip archive, from its central directory. */
export function listZip(zip: Buffer): ZipEntry[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file (no end of central directory)');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central directory entry ${i}`);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    out.push({
      name: zip.toString('utf8', p + 46, p + 46 + nameLen),
      method: zip.readUInt16LE(p + 10),
      crc: zip.readUInt32LE(p + 16),
      compressedSize: zip.readUInt32LE(p + 20),
      size: zip.readUInt32LE(p + 24),
      offset: zip.readUInt32LE(p + 42),
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** The uncompressed bytes of one entry (CRC-checked). */
export function readZipEntry(zip: Buffer, e: ZipEntry): Buffer {
  if (zip.readUInt32LE(e.offset) !== 0x04034b50) throw new Error(`bad local header for ${e.name}`);
  const start = e.offset + 30 + zip.readUInt16LE(e.offset + 26) + zip.readUInt16LE(e.offset + 28);
  const body = zip.subarray(start, start + e.compressedSize);
  const data = e.method === 0 ? Buffer.from(body) : e.method === 8 ? zlib.inflateRawSync(body) : null;
  if (!data) throw new Error(`${e.name}: unsupported compression method ${e.method}`);
  if (data.length !== e.size || zlib.crc32(data) !== e.crc) throw new Error(`${e.name}: size or CRC mismatch`);
  return data;
}
