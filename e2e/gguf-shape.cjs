// The shape of a GGUF model read straight from its header, for the e2e suites' expected values
// (layers, query / KV heads, head dimension). Deliberately independent of the extension's own
// GGUF reader (src/engine/gguf), so a bug there cannot make the e2e agree with itself. Reads the
// metadata key/value section only (the tokenizer arrays are skipped), a chunk at a time.
// Usage as a module: require('./gguf-shape.cjs').ggufShape(file)
//   → { arch, name, nLayers, nHeads, nKVHeads, headDim, contextLength }
// Usage from a shell: node e2e/gguf-shape.cjs FILE   (prints that object as JSON)
const fs = require('node:fs');

class Reader {
  constructor(file) {
    this.fd = fs.openSync(file, 'r');
    this.buf = Buffer.alloc(0);
    this.pos = 0; // file offset of buf[0]
    this.off = 0; // read position inside buf
  }
  need(n) {
    if (this.off + n <= this.buf.length) return;
    const keep = this.buf.subarray(this.off);
    const more = Buffer.alloc(Math.max(n, 1 << 20));
    const got = fs.readSync(this.fd, more, 0, more.length, this.pos + this.buf.length);
    if (keep.length + got < n) throw new Error('GGUF header ends early');
    this.pos += this.off;
    this.buf = Buffer.concat([keep, more.subarray(0, got)]);
    this.off = 0;
  }
  take(n) {
    this.need(n);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }
  u32() {
    return this.take(4).readUInt32LE(0);
  }
  u64() {
    return Number(this.take(8).readBigUInt64LE(0));
  }
  str() {
    return this.take(this.u64()).toString('utf8');
  }
  close() {
    fs.closeSync(this.fd);
  }
}

// GGUF value types: size in bytes of the fixed-size ones.
const FIXED = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

function value(r, type) {
  const b = FIXED[type] !== undefined ? r.take(FIXED[type]) : null;
  switch (type) {
    case 0:
      return b.readUInt8(0);
    case 1:
      return b.readInt8(0);
    case 2:
      return b.readUInt16LE(0);
    case 3:
      return b.readInt16LE(0);
    case 4:
      return b.readUInt32LE(0);
    case 5:
      return b.readInt32LE(0);
    case 6:
      return b.readFloatLE(0);
    case 7:
      return b.readUInt8(0) !== 0;
    case 8:
      return r.str();
    case 9: {
      // array: skipped (tokenizer vocabularies); only its length is kept
      const t = r.u32();
      const n = r.u64();
      if (FIXED[t] !== undefined) {
        for (let left = n * FIXED[t]; left > 0;) {
          const k = Math.min(left, 1 << 20);
          r.take(k);
          left -= k;
        }
      } else for (let i = 0; i < n; i++) value(r, t);
      return { array: n };
    }
    case 10:
      return Number(b.readBigUInt64LE(0));
    case 11:
      return Number(b.readBigInt64LE(0));
    case 12:
      return b.readDoubleLE(0);
    default:
      throw new Error(`GGUF value type ${type} unknown`);
  }
}

/** All metadata keys of a GGUF file (arrays as { array: length }). */
function ggufMetadata(file) {
  const r = new Reader(file);
  try {
    if (r.take(4).toString('latin1') !== 'GGUF') throw new Error(`${file} is not a GGUF file`);
    const version = r.u32();
    if (version < 2) throw new Error(`GGUF version ${version} is not supported`);
    r.u64(); // tensor count
    const n = r.u64();
    const kv = {};
    for (let i = 0; i < n; i++) {
      const key = r.str();
      kv[key] = value(r, r.u32());
    }
    return kv;
  } finally {
    r.close();
  }
}

function ggufShape(file) {
  const kv = ggufMetadata(file);
  const arch = kv['general.architecture'];
  const k = (s) => kv[`${arch}.${s}`];
  const nHeads = k('attention.head_count');
  return {
    arch,
    name: kv['general.name'],
    nLayers: k('block_count'),
    nHeads,
    nKVHeads: k('attention.head_count_kv') ?? nHeads,
    headDim: k('attention.key_length') ?? k('embedding_length') / nHeads,
    contextLength: k('context_length'),
  };
}

module.exports = { ggufShape, ggufMetadata };

if (require.main === module) console.log(JSON.stringify(ggufShape(process.argv[2])));
