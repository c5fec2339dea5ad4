// GGUF writer round trips: every metadata value type and tensor type through v1, v2 and v3,
// custom alignment, lazily produced and chunked tensor data, a byte-identical rewrite of a real
// file, and the writer's refusals (which must leave nothing on disk).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeGGUF, GGUFMetadataEntry, GGUFTensorEntry, tensorByteSize } from '../src/engine/gguf/writer';
import { readGGUFHeader } from '../src/engine/gguf/reader';
import { GGUFFile } from '../src/engine/gguf/file';
import { GGMLType, GGUFValueType as VT, TYPE_TRAITS } from '../src/engine/gguf/types';
import { modelPath, SMOLLM2 } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-gguf-writer-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const METADATA: GGUFMetadataEntry[] = [
  { key: 'general.architecture', type: VT.STRING, value: 'llama' },
  { key: 't.u8', type: VT.UINT8, value: 255 },
  { key: 't.i8', type: VT.INT8, value: -128 },
  { key: 't.u16', type: VT.UINT16, value: 65535 },
  { key: 't.i16', type: VT.INT16, value: -32768 },
  { key: 't.u32', type: VT.UINT32, value: 4294967295 },
  { key: 't.i32', type: VT.INT32, value: -2147483648 },
  { key: 't.f32', type: VT.FLOAT32, value: Math.fround(-1.2345e-6) },
  { key: 't.bool', type: VT.BOOL, value: true },
  { key: 't.false', type: VT.BOOL, value: false },
  { key: 't.str', type: VT.STRING, value: 'héllo ✓ 🦙\n' },
  { key: 't.empty', type: VT.STRING, value: '' },
  { key: 't.u64', type: VT.UINT64, value: 18446744073709551615n },
  { key: 't.i64', type: VT.INT64, value: -9223372036854775808n },
  { key: 't.f64', type: VT.FLOAT64, value: Math.PI },
  { key: 't.arr.str', type: VT.ARRAY, value: { itemType: VT.STRING, items: ['a', '', 'ccc'] } },
  { key: 't.arr.f32', type: VT.ARRAY, value: { itemType: VT.FLOAT32, items: [0.5, -2, 1e-3].map(Math.fround) } },
  { key: 't.arr.i32', type: VT.ARRAY, value: { itemType: VT.INT32, items: [1, -2, 3] } },
  { key: 't.arr.u64', type: VT.ARRAY, value: { itemType: VT.UINT64, items: [0n, 1n << 40n] } },
  { key: 't.arr.empty', type: VT.ARRAY, value: { itemType: VT.UINT8, items: [] } },
  // ~1 MB of strings: the header outgrows the writer's initial buffer several times
  {
    key: 't.arr.big',
    type: VT.ARRAY,
    value: { itemType: VT.STRING, items: Array.from({ length: 60000 }, (_, i) => `tok-${i}-${'x'.repeat(i % 23)}`) },
  },
  {
    key: 't.arr.nested',
    type: VT.ARRAY,
    value: {
      itemType: VT.ARRAY,
      items: [
        { itemType: VT.INT16, items: [-1, 2] },
        { itemType: VT.BOOL, items: [true] },
      ],
    },
  },
];

function randomBytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    b[i] = s >>> 24;
  }
  return b;
}

/** One tensor of every supported type, odd sizes so padding is exercised, some supplied lazily. */
function tensors(): { entries: GGUFTensorEntry[]; bytes: Map<string, Uint8Array> } {
  const bytes = new Map<string, Uint8Array>();
  const entries: GGUFTensorEntry[] = [...TYPE_TRAITS.entries()].map(([type, tr], i) => {
    const dims = tr.blockSize === 1 ? [3 + i, 5] : [tr.blockSize * 2, 3, 1];
    const name = `t${i}.${tr.name}`;
    const data = randomBytes(tensorByteSize(type, dims), i + 1);
    bytes.set(name, data);
    const lazy = i % 3;
    return {
      name,
      dims,
      type,
      data:
        lazy === 0
          ? data
          : lazy === 1
            ? () => data
            : () =>
                (function* () {
                  for (let p = 0; p < data.length; p += 7) yield data.subarray(p, p + 7);
                })(),
    };
  });
  return { entries, bytes };
}

function checkRoundTrip(
  file: string,
  version: number,
  metadata: readonly GGUFMetadataEntry[],
  expect: ReturnType<typeof tensors>,
): void {
  const h = readGGUFHeader(file);
  assert.equal(h.version, version);
  assert.deepEqual(
    [...h.metadata.keys()],
    metadata.map((m) => m.key),
  );
  for (const m of metadata) {
    assert.equal(h.metadataTypes.get(m.key), m.type, m.key);
    assert.deepEqual(h.metadata.get(m.key), m.value, m.key);
  }
  const f = GGUFFile.open(file);
  try {
    assert.deepEqual(
      f.tensors.map((t) => t.name),
      expect.entries.map((t) => t.name),
    );
    for (const e of expect.entries) {
      const t = f.requireTensor(e.name);
      assert.deepEqual(t.dims, e.dims);
      assert.equal(t.type, e.type);
      assert.equal(t.fileOffset % h.alignment, 0);
      assert.ok(f.readTensorBytes(t).equals(expect.bytes.get(e.name)!), `bytes of ${e.name}`);
    }
  } finally {
    f.close();
  }
}

test('every metadata type and tensor type round-trips through GGUF v1, v2 and v3', () => {
  for (const version of [1, 2, 3] as const) {
    const t = tensors();
    const file = path.join(tmp, `all-v${version}.gguf`);
    const size = writeGGUF(file, { version, metadata: METADATA, tensors: t.entries });
    assert.equal(fs.statSync(file).size, size);
    checkRoundTrip(file, version, METADATA, t);
  }
});

test('custom alignment adds general.alignment and aligns every tensor', () => {
  const t = tensors();
  const file = path.join(tmp, 'align.gguf');
  writeGGUF(file, { metadata: METADATA, tensors: t.entries, alignment: 256 });
  const h = readGGUFHeader(file);
  assert.equal(h.alignment, 256);
  assert.equal(h.metadata.get('general.alignment'), 256);
  checkRoundTrip(file, 3, [...METADATA, { key: 'general.alignment', type: VT.UINT32, value: 256 }], t);
});

test('lazy tensor callbacks run one at a time, in file order, while writing', () => {
  const calls: string[] = [];
  const entries: GGUFTensorEntry[] = ['a', 'b', 'c'].map((name) => ({
    name,
    dims: [32],
    type: GGMLType.Q8_0,
    data: () => {
      calls.push(`${name}@${fs.statSync(`${file}.tmp-${process.pid}`).size}`);
      return new Uint8Array(34);
    },
  }));
  const file = path.join(tmp, 'lazy.gguf');
  writeGGUF(file, { metadata: [], tensors: entries });
  const h = readGGUFHeader(file);
  const at = h.tensors.map((x) => x.fileOffset);
  assert.deepEqual(calls, [`a@${at[0]}`, `b@${at[1]}`, `c@${at[2]}`]);
});

test('rewriting stories260K with its own metadata types reproduces the file byte for byte (v3) and its content (v1, v2)', () => {
  const src = GGUFFile.open(modelPath('stories260K-f32.gguf'));
  try {
    const metadata: GGUFMetadataEntry[] = [...src.header.metadata].map(([key, value]) => ({
      key,
      type: src.header.metadataTypes.get(key)!,
      value,
    }));
    const entries: GGUFTensorEntry[] = src.tensors.map((t) => ({
      name: t.name,
      dims: t.dims,
      type: t.type,
      data: () => src.readTensorBytes(t),
    }));
    for (const version of [1, 2, 3] as const) {
      const file = path.join(tmp, `stories-v${version}.gguf`);
      writeGGUF(file, { version, metadata, tensors: entries });
      if (version === 3) assert.ok(fs.readFileSync(file).equals(fs.readFileSync(src.path)), 'byte-identical rewrite');
      const bytes = new Map(src.tensors.map((t) => [t.name, src.readTensorBytes(t)] as const));
      checkRoundTrip(file, version, metadata, { entries, bytes });
    }
  } finally {
    src.close();
  }
});

/** Compare two files in 8 MB chunks. */
function sameFile(a: string, b: string): boolean {
  const size = fs.statSync(a).size;
  if (size !== fs.statSync(b).size) return false;
  const fa = fs.openSync(a, 'r'),
    fb = fs.openSync(b, 'r');
  const ba = Buffer.alloc(8 << 20),
    bb = Buffer.alloc(8 << 20);
  try {
    for (let pos = 0; pos < size; pos += ba.length) {
      const n = fs.readSync(fa, ba, 0, ba.length, pos);
      fs.readSync(fb, bb, 0, n, pos);
      if (!ba.subarray(0, n).equals(bb.subarray(0, n))) return false;
    }
    return true;
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

test('rewriting the llama.cpp-made SmolLM2 Q4_1 file (Q8_0/Q4_1/F32, 760 KB of tokens) is byte-identical', () => {
  const src = GGUFFile.open(modelPath(SMOLLM2));
  const file = path.join(tmp, 'smollm2.gguf');
  try {
    writeGGUF(file, {
      metadata: [...src.header.metadata].map(([key, value]) => ({
        key,
        type: src.header.metadataTypes.get(key)!,
        value,
      })),
      tensors: src.tensors.map((t) => ({
        name: t.name,
        dims: t.dims,
        type: t.type,
        data: () => src.readTensorBytes(t),
      })),
    });
    assert.ok(sameFile(file, src.path));
  } finally {
    src.close();
    fs.rmSync(file, { force: true });
  }
});

test('the writer refuses bad input and leaves no file behind', () => {
  const file = path.join(tmp, 'bad.gguf');
  const q = (data: GGUFTensorEntry['data'], dims = [32]): GGUFTensorEntry[] => [
    { name: 'x', dims, type: GGMLType.Q8_0, data },
  ];
  const cases: [() => unknown, RegExp][] = [
    [() => writeGGUF(file, { metadata: [], tensors: q(new Uint8Array(33)) }), /got 33 bytes of data, expected 34/],
    [
      () => writeGGUF(file, { metadata: [], tensors: q(() => [new Uint8Array(30), new Uint8Array(30)]) }),
      /longer than its 34 bytes/,
    ],
    [
      () => writeGGUF(file, { metadata: [], tensors: q(new Uint8Array(34), [16]) }),
      /row length 16 is not a multiple of the Q8_0 block size 32/,
    ],
    [
      () => writeGGUF(file, { metadata: [], tensors: [...q(new Uint8Array(34)), ...q(new Uint8Array(34))] }),
      /duplicate tensor name x/,
    ],
    [() => writeGGUF(file, { metadata: [METADATA[1]!, METADATA[1]!], tensors: [] }), /duplicate metadata key/],
    [
      () => writeGGUF(file, { metadata: [{ key: 'k', type: VT.UINT8, value: 256 }], tensors: [] }),
      /256 is out of range for UINT8/,
    ],
    [
      () => writeGGUF(file, { metadata: [{ key: 'k', type: VT.INT64, value: 1n << 63n }], tensors: [] }),
      /out of range for INT64/,
    ],
    [
      () => writeGGUF(file, { metadata: [{ key: 'k', type: VT.INT32, value: 1.5 }], tensors: [] }),
      /out of range for INT32/,
    ],
    [
      () => writeGGUF(file, { metadata: [{ key: 'k', type: VT.UINT32, value: 'x' }], tensors: [] }),
      /expected a number/,
    ],
    [() => writeGGUF(file, { metadata: [], tensors: [], alignment: 48 }), /not a power of two/],
    [
      () =>
        writeGGUF(file, {
          metadata: [],
          tensors: [{ name: 'y', dims: [32], type: GGMLType.IQ2_XXS, data: new Uint8Array(0) }],
        }),
      /IQ2_XXS cannot be written/,
    ],
    [
      () =>
        writeGGUF(file, {
          metadata: [],
          tensors: q(() => {
            throw new Error('producer failed');
          }),
        }),
      /producer failed/,
    ],
  ];
  for (const [run, re] of cases) {
    assert.throws(run, re);
    assert.deepEqual(
      fs.readdirSync(tmp).filter((f) => f.startsWith('bad.gguf')),
      [],
    );
  }
});
