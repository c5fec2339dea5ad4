// The only module that imports onnxruntime-node. It turns engine-owned typed arrays into ORT
// tensors (no copy: ORT reads the array's memory during run) and back, creates sessions from
// in-memory model bytes or a model file (whose external weights ORT maps), and maps ORT's errors to plain Errors. Everything else in the engine
// speaks `HostTensor`.
import * as ort from 'onnxruntime-node';

// Node 24 (e.g. VS Code's / code-server's extension host) has a global Float16Array. ORT's JS
// layer then turns every 'float16' tensor's Uint16Array into a Float16Array view, which the
// native binding (N-API has no Float16Array type) reads as 0 bytes: "not enough space: expected
// N, got 0". ORT picks its float16 array type once, on the first Tensor; make that choice with
// Float16Array hidden, so float16 data stays Uint16Array (raw bits) both ways, as on Node 20.
// Found by the e2e tests (e2e/ext-tests) in the real extension host.
{
  const g = globalThis as { Float16Array?: unknown };
  const f16 = g.Float16Array;
  if (f16 !== undefined) {
    delete g.Float16Array;
    try {
      new ort.Tensor('float32', new Float32Array(1), [1]);
    } finally {
      g.Float16Array = f16;
    }
  }
}

export type HostTensor =
  | { type: 'float32'; data: Float32Array; dims: readonly number[] }
  | { type: 'float16'; data: Uint16Array; dims: readonly number[] }
  | { type: 'int8'; data: Int8Array; dims: readonly number[] }
  | { type: 'uint8'; data: Uint8Array; dims: readonly number[] }
  | { type: 'int64'; data: BigInt64Array; dims: readonly number[] };

export interface SessionOptions {
  threads: number;
  /** Write an ORT profile (JSON) with this file prefix; for performance investigations. */
  profilePrefix?: string;
}

export class OrtSession {
  private constructor(private readonly s: ort.InferenceSession) {}

  /** From model bytes, or the path of an .onnx file (external data is resolved beside it). */
  static async create(model: Uint8Array | string, o: SessionOptions): Promise<OrtSession> {
    const opts: ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      intraOpNumThreads: o.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      enableCpuMemArena: true,
      enableMemPattern: false,
      logSeverityLevel: 3,
    };
    if (o.profilePrefix) {
      opts.enableProfiling = true;
      opts.profileFilePrefix = o.profilePrefix;
    }
    return new OrtSession(
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, opts)
        : await ort.InferenceSession.create(model, opts),
    );
  }

  get inputNames(): readonly string[] {
    return this.s.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.s.outputNames;
  }

  async run(inputs: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(inputs)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
    const out = await this.s.run(feeds);
    const res: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(out)) {
      if (t.type === 'float32') res[name] = { type: 'float32', data: t.data as Float32Array, dims: t.dims };
      else if (t.type === 'float16') res[name] = { type: 'float16', data: t.data as Uint16Array, dims: t.dims };
      else if (t.type === 'int64') res[name] = { type: 'int64', data: t.data as BigInt64Array, dims: t.dims };
      else throw new Error(`unexpected output type ${t.type} for ${name}`);
    }
    return res;
  }

  async release(): Promise<void> {
    await this.s.release();
  }

  endProfiling(): string {
    return this.s.endProfiling?.() ?? '';
  }
}
