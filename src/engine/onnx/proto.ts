// A minimal protobuf writer for the subset of onnx.proto the graph builder emits (ModelProto,
// GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto). Field numbers are from
// onnx/onnx.proto3. Writing it ourselves keeps the engine free of a protobuf dependency and lets
// large initializers be emitted as raw_data without an intermediate copy.

/** Growable byte sink with protobuf wire primitives. */
export class ProtoWriter {
  private buf: Uint8Array;
  len = 0;

  constructor(initial = 1024) {
    this.buf = new Uint8Array(initial);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v));
    if (x < 0x80n) {
      this.reserve(1);
      this.buf[this.len++] = Number(x);
      return;
    }
    this.reserve(10);
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
  }

  tag(field: number, wire: 0 | 1 | 2 | 5): void {
    this.varint((field << 3) | wire);
  }

  bytesField(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.reserve(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  stringField(field: number, s: string): void {
    this.bytesField(field, new TextEncoder().encode(s));
  }

  intField(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }

  floatField(field: number, v: number): void {
    this.tag(field, 5);
    this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, v, true);
    this.len += 4;
  }

  /** Embedded message: written to a child writer, then length-prefixed. */
  message(field: number, write: (w: ProtoWriter) => void): void {
    const child = new ProtoWriter(64);
    write(child);
    this.bytesField(field, child.finish());
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** onnx TensorProto.DataType values used here. */
export enum OnnxType {
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  INT32 = 6,
  INT64 = 7,
  BOOL = 9,
  FLOAT16 = 10,
}

export interface TensorData {
  name: string;
  dims: readonly number[];
  type: OnnxType;
  /** The tensor's bytes; empty when `external` says where they are. */
  raw: Uint8Array;
  /** Stored in an external data file (a path relative to the model file) instead of raw_data. */
  external?: ExternalData;
}

export interface ExternalData {
  location: string;
  offset: number;
  length: number;
}

export type AttrValue =
  | { kind: 'int'; v: number }
  | { kind: 'float'; v: number }
  | { kind: 'ints'; v: readonly number[] }
  | { kind: 'string'; v: string }
  | { kind: 'tensor'; v: TensorData };

export interface NodeDef {
  op: string;
  domain?: string;
  name: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs?: Readonly<Record<string, AttrValue>>;
}

/** Dim is a fixed size or a symbolic name. */
export type Dim = number | string;
export interface ValueInfo {
  name: string;
  type: OnnxType;
  shape: readonly Dim[];
}

export interface ModelDef {
  graphName: string;
  nodes: readonly NodeDef[];
  initializers: readonly TensorData[];
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
  opsets: readonly { domain: string; version: number }[];
}

function writeTensor(w: ProtoWriter, t: TensorData): void {
  // small tensors (attributes)
  for (const d of t.dims) w.intField(1, d);
  w.intField(2, t.type);
  w.stringField(8, t.name);
  w.bytesField(9, t.raw);
}

function writeAttr(w: ProtoWriter, name: string, a: AttrValue): void {
  w.stringField(1, name);
  switch (a.kind) {
    case 'float':
      w.floatField(2, a.v);
      w.intField(20, 1);
      break;
    case 'int':
      w.intField(3, a.v);
      w.intField(20, 2);
      break;
    case 'string':
      w.bytesField(4, new TextEncoder().encode(a.v));
      w.intField(20, 3);
      break;
    case 'tensor':
      w.message(5, (t) => writeTensor(t, a.v));
      w.intField(20, 4);
      break;
    case 'ints':
      for (const x of a.v) w.intField(8, x);
      w.intField(20, 7);
      break;
  }
}

function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.stringField(1, v.name);
  w.message(2, (tp) =>
    tp.message(1, (tt) => {
      tt.intField(1, v.type);
      tt.message(2, (sh) => {
        for (const d of v.shape)
          sh.message(1, (dim) => (typeof d === 'number' ? dim.intField(1, d) : dim.stringField(2, d)));
      });
    }),
  );
}

function varintBytes(v: number): Uint8Array {
  const w = new ProtoWriter(10);
  w.varint(v);
  return w.finish().slice();
}

/**
 * Serialize a model. Small parts are written through ProtoWriter; each initializer's raw bytes
 * are copied exactly once, into the single output buffer (peak memory = weights + model bytes).
 */
export function encodeModel(m: ModelDef): Uint8Array {
  const head = new ProtoWriter(256);
  head.intField(1, 8); // ir_version 8
  head.stringField(2, 'podlens');
  for (const o of m.opsets)
    head.message(8, (op) => {
      if (o.domain) op.stringField(1, o.domain);
      op.intField(2, o.version);
    });

  // Graph body as a list of chunks; raw initializer data is referenced, not copied.
  const chunks: Uint8Array[] = [];
  const g = new ProtoWriter(1 << 16);
  for (const n of m.nodes) {
    g.message(1, (nw) => {
      for (const i of n.inputs) nw.stringField(1, i);
      for (const o of n.outputs) nw.stringField(2, o);
      nw.stringField(3, n.name);
      nw.stringField(4, n.op);
      for (const [k, v] of Object.entries(n.attrs ?? {})) nw.message(5, (aw) => writeAttr(aw, k, v));
      if (n.domain) nw.stringField(7, n.domain);
    });
  }
  g.stringField(2, m.graphName);
  chunks.push(g.finish());
  for (const t of m.initializers) {
    const th = new ProtoWriter(128);
    for (const d of t.dims) th.intField(1, d);
    th.intField(2, t.type);
    th.stringField(8, t.name);
    const ext = t.external;
    if (ext) {
      // external_data (13): StringStringEntryProto {key 1, value 2}; data_location (14) = EXTERNAL (1).
      const entry = (k: string, v: string): void =>
        th.message(13, (e) => {
          e.stringField(1, k);
          e.stringField(2, v);
        });
      entry('location', ext.location);
      entry('offset', String(ext.offset));
      entry('length', String(ext.length));
      th.intField(14, 1);
    } else {
      th.tag(9, 2);
      th.varint(t.raw.length);
    }
    const thb = th.finish();
    const raw = ext ? new Uint8Array(0) : t.raw;
    const tensorLen = thb.length + raw.length;
    const pre = new ProtoWriter(16);
    pre.tag(5, 2);
    pre.varint(tensorLen);
    chunks.push(pre.finish(), thb, raw);
  }
  const tail = new ProtoWriter(4096);
  for (const v of m.inputs) tail.message(11, (vw) => writeValueInfo(vw, v));
  for (const v of m.outputs) tail.message(12, (vw) => writeValueInfo(vw, v));
  chunks.push(tail.finish());

  const graphLen = chunks.reduce((s, c) => s + c.length, 0);
  const graphTag = new Uint8Array([(7 << 3) | 2]);
  const graphLenBytes = varintBytes(graphLen);
  const headBytes = head.finish();
  const out = new Uint8Array(headBytes.length + 1 + graphLenBytes.length + graphLen);
  let o = 0;
  for (const c of [headBytes, graphTag, graphLenBytes, ...chunks]) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
