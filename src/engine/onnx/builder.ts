// A small typed DSL over proto.ts for writing ONNX graphs in code: named inputs/outputs,
// initializers, constants and nodes with unique names. The decoder graph (decoder-graph.ts)
// is written with it; nothing here knows about transformers.
import { AttrValue, Dim, encodeModel, ExternalData, NodeDef, OnnxType, TensorData, ValueInfo } from './proto';

/**
 * Where the model's weights go instead of the protobuf: `write` stores one weight's bytes, given
 * as consecutive pieces of `length` bytes in all (e.g. appends them to an external data file, or
 * finds them already there and reads none), and says where, so the builder keeps no reference.
 */
export interface InitializerSink {
  write(name: string, pieces: Iterable<Uint8Array>, length: number): ExternalData;
}

export const MS_DOMAIN = 'com.microsoft';

export type Attrs = Record<string, number | readonly number[] | string | { float: number }>;

function toAttr(v: Attrs[string]): AttrValue {
  if (typeof v === 'number') return { kind: 'int', v };
  if (typeof v === 'string') return { kind: 'string', v };
  if (Array.isArray(v)) return { kind: 'ints', v: v as readonly number[] };
  return { kind: 'float', v: (v as { float: number }).float };
}

export class GraphBuilder {
  private readonly nodes: NodeDef[] = [];
  private readonly inits: TensorData[] = [];
  private readonly ins: ValueInfo[] = [];
  private readonly outs: ValueInfo[] = [];
  private readonly consts = new Map<string, string>();
  private counter = 0;

  private initBytes = 0;

  constructor(
    private readonly name: string,
    private readonly sink?: InitializerSink,
  ) {}

  input(name: string, type: OnnxType, shape: readonly Dim[]): string {
    this.ins.push({ name, type, shape });
    return name;
  }

  hasInput(name: string): boolean {
    return this.ins.some((i) => i.name === name);
  }

  output(name: string, type: OnnxType, shape: readonly Dim[]): void {
    this.outs.push({ name, type, shape });
  }

  /** A graph constant (shapes, norms, RoPE tables): always inside the protobuf. */
  initializer(name: string, type: OnnxType, dims: readonly number[], raw: Uint8Array): string {
    this.initBytes += raw.length;
    this.inits.push({ name, type, dims, raw });
    return name;
  }

  /**
   * A model weight, given as consecutive pieces of `length` bytes in all, handed to the sink when
   * there is one (pieces consumed in order, never held together; the sink may not read them at
   * all), else joined into the protobuf.
   */
  weight(name: string, type: OnnxType, dims: readonly number[], pieces: Iterable<Uint8Array>, length: number): string {
    this.initBytes += length;
    if (this.sink) {
      this.inits.push({ name, type, dims, raw: new Uint8Array(0), external: this.sink.write(name, pieces, length) });
      return name;
    }
    const raw = new Uint8Array(length);
    let at = 0;
    for (const p of pieces) {
      if (at + p.length > length) throw new Error(`weight ${name}: pieces exceed its ${length} bytes`);
      raw.set(p, at);
      at += p.length;
    }
    if (at !== length) throw new Error(`weight ${name}: pieces give ${at} of its ${length} bytes`);
    this.inits.push({ name, type, dims, raw });
    return name;
  }

  f32(name: string, dims: readonly number[], data: Float32Array): string {
    return this.initializer(name, OnnxType.FLOAT, dims, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** A shared int64 constant (shapes, axes, indices). */
  i64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `i64:${dims.join('x')}:${values.join(',')}`;
    const hit = this.consts.get(key);
    if (hit) return hit;
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    const name = this.initializer(`const_i64_${this.consts.size}`, OnnxType.INT64, dims, new Uint8Array(data.buffer));
    this.consts.set(key, name);
    return name;
  }

  /** A shared float32 scalar constant. */
  scalar(v: number): string {
    const key = `f32:${v}`;
    const hit = this.consts.get(key);
    if (hit) return hit;
    const name = this.f32(`const_f32_${this.consts.size}`, [], new Float32Array([v]));
    this.consts.set(key, name);
    return name;
  }

  /** A shared float32 initializer built once per graph under `key` (e.g. a rotation matrix used by every layer). */
  shared(key: string, dims: readonly number[], make: () => Float32Array): string {
    const hit = this.consts.get(key);
    if (hit) return hit;
    const name = this.f32(key, dims, make());
    this.consts.set(key, name);
    return name;
  }

  /** Add a node; returns its output names (generated unless given). */
  op(
    op: string,
    inputs: readonly string[],
    attrs: Attrs = {},
    opts: { domain?: string; outputs?: readonly string[]; nOutputs?: number; name?: string } = {},
  ): string[] {
    const id = this.counter++;
    const nodeName = opts.name ?? `${op}_${id}`;
    const outputs = opts.outputs ?? Array.from({ length: opts.nOutputs ?? 1 }, (_, i) => `${nodeName}_out${i}`);
    const a: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(attrs)) a[k] = toAttr(v);
    this.nodes.push({ op, domain: opts.domain, name: nodeName, inputs, outputs, attrs: a });
    return [...outputs];
  }

  /** Single-output convenience. */
  op1(
    op: string,
    inputs: readonly string[],
    attrs: Attrs = {},
    opts: { domain?: string; output?: string; name?: string } = {},
  ): string {
    return this.op(op, inputs, attrs, {
      domain: opts.domain,
      name: opts.name,
      outputs: opts.output ? [opts.output] : undefined,
    })[0]!;
  }

  get initializerBytes(): number {
    return this.initBytes;
  }

  encode(): Uint8Array {
    return encodeModel({
      graphName: this.name,
      nodes: this.nodes,
      initializers: this.inits,
      inputs: this.ins,
      outputs: this.outs,
      opsets: [
        { domain: '', version: 17 },
        { domain: MS_DOMAIN, version: 1 },
      ],
    });
  }
}
