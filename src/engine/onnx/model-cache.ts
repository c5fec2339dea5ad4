// The on-disk cache of converted models. One directory per GGUF file, keyed by its identity (path,
// size, mtime, a hash of its first MiB) and FORMAT:
//   weights-<first>-<end>.bin   the packed weights of a decoder segment (layers [first, end)), as
//                               ONNX external data at page-aligned offsets, ONNX Runtime maps them
//   weights-<first>-<end>.json  where each weight is in it: the commit marker, written last
//   graph-<key>.onnx            one graph per build setting (context size, KV cache plan, accuracy
//                               level) over those weights
// So a second load converts nothing, and a new context size or KV cache mode builds only a graph
// (well under a second) over the weights already converted instead of repacking them and keeping
// another copy on disk. Building streams each packed weight to the file as the graph is written,
// so the process never holds all packed weights in JS memory. Files are written under temporary
// names and renamed into place, so a crashed or concurrent build never leaves a half-written one;
// the least recently used models beyond MAX_MODELS and graphs beyond MAX_GRAPHS are removed.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InitializerSink } from './builder';
import { ExternalData } from './proto';

/**
 * Bump when the graph or the packing changes: old entries then no longer match, and a user who
 * updates PodLens runs the new graph instead of a stale converted copy. test/model-cache-format
 * fails when the graphs built for its fixed plans change while this number stays.
 * 2: one softmax for anchor units (session 10); explicit f32 widening casts; int8 distant rows
 * through DequantizeLinear.
 */
export const FORMAT = 2;
/** External data offsets are multiples of this: ORT maps them only when aligned to the page size (4 KiB) or, on Windows, the allocation granularity (64 KiB). */
const ALIGN = process.platform === 'win32' ? 64 * 1024 : 4096;
const MAX_MODELS = 4;
const MAX_GRAPHS = 12;
const HEAD_BYTES = 1 << 20;
/** Touched on every use of a model directory: its mtime orders models for pruning. */
const USED = 'used';
const TMP = '.tmp-';

/** The default cache directory: $PODLENS_ONNX_CACHE ("off": no cache, build in memory), else ~/.cache/podlens/onnx. */
export function defaultModelCacheDir(): string | null {
  const env = process.env.PODLENS_ONNX_CACHE;
  if (env === 'off') return null;
  return env || path.join(os.homedir(), '.cache', 'podlens', 'onnx');
}

/** weights-<first>-<end>.json: where each weight of the segment is in its .bin file. */
interface WeightsIndex {
  format: number;
  gguf: string;
  /** Size of the .bin file. */
  bytes: number;
  weights: Record<string, ExternalData>;
}

/** The directory name for a GGUF file: its identity and FORMAT. */
export function modelKey(ggufPath: string): string {
  const st = fs.statSync(ggufPath);
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify({ format: FORMAT, path: path.resolve(ggufPath), size: st.size, mtime: st.mtimeMs }));
  const fd = fs.openSync(ggufPath, 'r');
  try {
    const head = Buffer.allocUnsafe(Math.min(HEAD_BYTES, st.size));
    fs.readSync(fd, head, 0, head.length, 0);
    h.update(head);
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex').slice(0, 32);
}

export interface CachedModel {
  /** The .onnx file to create the session from. */
  modelPath: string;
  weightBytes: number;
  /** What this load converted: nothing, only the graph (the weights were there), or both. */
  built: 'nothing' | 'graph' | 'weights and graph';
}

/** Appends weights to a new external data file at aligned offsets and records where each went. */
class FileSink implements InitializerSink {
  end = 0;
  readonly index: Record<string, ExternalData> = {};
  constructor(
    private readonly fd: number,
    private readonly location: string,
  ) {}

  write(name: string, pieces: Iterable<Uint8Array>, length: number): ExternalData {
    const offset = Math.ceil(this.end / ALIGN) * ALIGN;
    let at = offset;
    for (const raw of pieces) {
      let done = 0;
      while (done < raw.length) done += fs.writeSync(this.fd, raw, done, raw.length - done, at + done);
      at += raw.length;
    }
    if (at - offset !== length) throw new Error(`weight ${name}: its pieces gave ${at - offset} of ${length} bytes`);
    this.end = at;
    return (this.index[name] = { location: this.location, offset, length });
  }
}

/** Finds every weight in an existing external data file and reads none of their pieces. */
class IndexSink implements InitializerSink {
  constructor(private readonly index: WeightsIndex) {}

  write(name: string, _pieces: Iterable<Uint8Array>, length: number): ExternalData {
    const e = this.index.weights[name];
    if (!e || e.length !== length)
      throw new StaleWeights(`weight ${name} (${length} bytes) is not in the converted weights`);
    return e;
  }
}

/** The converted weights do not match the graph being built: convert them again. */
class StaleWeights extends Error {}

function readIndex(file: string, binFile: string): WeightsIndex | undefined {
  try {
    const ix = JSON.parse(fs.readFileSync(file, 'utf8')) as WeightsIndex;
    if (ix.format !== FORMAT || fs.statSync(binFile).size !== ix.bytes) return undefined;
    return ix;
  } catch {
    return undefined;
  }
}

/** Write `data` to `file` through a temporary name in the same directory. */
function writeAtomically(file: string, data: Uint8Array | string): void {
  const tmp = `${file}${TMP}${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * The cached model of one decoder segment: the graph for `settings` (any JSON value) over the
 * segment's converted weights, building what is missing with `build` — which hands every weight to
 * the sink it is given (reading a weight's pieces only if the sink wants its bytes) and returns
 * the graph bytes.
 */
export function cachedModel(
  cacheDir: string,
  ggufPath: string,
  segment: { first: number; end: number },
  settings: unknown,
  build: (sink: InitializerSink) => { bytes: Uint8Array; weightBytes: number },
): CachedModel {
  const dir = path.join(cacheDir, modelKey(ggufPath));
  fs.mkdirSync(dir, { recursive: true });
  touch(path.join(dir, USED));
  const base = `weights-${segment.first}-${segment.end}`;
  const binFile = path.join(dir, `${base}.bin`);
  const indexFile = path.join(dir, `${base}.json`);
  const graphKey = crypto.createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 24);
  const graphPrefix = `graph-${segment.first}-${segment.end}-`;
  const modelPath = path.join(dir, `${graphPrefix}${graphKey}.onnx`);
  const index = readIndex(indexFile, binFile);
  if (index) {
    const weightBytes = Object.values(index.weights).reduce((n, e) => n + e.length, 0);
    if (fs.existsSync(modelPath)) {
      touch(modelPath);
      return { modelPath, weightBytes, built: 'nothing' };
    }
    try {
      const g = build(new IndexSink(index)); // no weight is read
      writeAtomically(modelPath, g.bytes);
      prune(cacheDir, dir);
      return { modelPath, weightBytes: g.weightBytes, built: 'graph' };
    } catch (e) {
      if (!(e instanceof StaleWeights)) throw e;
    }
  }
  // Graphs point into the weights by offset: none of this segment's survives their conversion.
  for (const name of fs.readdirSync(dir))
    if (name.startsWith(graphPrefix)) fs.rmSync(path.join(dir, name), { force: true });
  // Convert the weights: a new .bin under a temporary name, its index written last.
  const tmpBin = `${binFile}${TMP}${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    const fd = fs.openSync(tmpBin, 'w');
    const sink = new FileSink(fd, path.basename(binFile));
    let g: { bytes: Uint8Array; weightBytes: number };
    try {
      g = build(sink);
      fs.ftruncateSync(fd, sink.end);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.rmSync(indexFile, { force: true }); // an index never describes a .bin it was not written for
    fs.renameSync(tmpBin, binFile);
    writeAtomically(modelPath, g.bytes);
    const ix: WeightsIndex = { format: FORMAT, gguf: path.resolve(ggufPath), bytes: sink.end, weights: sink.index };
    writeAtomically(indexFile, JSON.stringify(ix));
    prune(cacheDir, dir);
    return { modelPath, weightBytes: g.weightBytes, built: 'weights and graph' };
  } finally {
    fs.rmSync(tmpBin, { force: true });
  }
}

function touch(file: string): void {
  const now = new Date();
  try {
    fs.utimesSync(file, now, now);
  } catch {
    try {
      fs.writeFileSync(file, '');
    } catch {
      /* a read-only cache is still usable */
    }
  }
}

const mtime = (file: string): number => {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
};

/**
 * Remove the least recently used models beyond MAX_MODELS (and directories of older PodLens
 * cache layouts), graphs beyond MAX_GRAPHS in `dir`, and day-old temporary files.
 */
function prune(cacheDir: string, dir: string): void {
  try {
    const day = Date.now() - 86_400_000;
    const models: { dir: string; used: number }[] = [];
    for (const name of fs.readdirSync(cacheDir)) {
      const d = path.join(cacheDir, name);
      if (d === dir) continue;
      if (name.includes(TMP) || fs.existsSync(path.join(d, 'manifest.json'))) {
        // an old layout, or another process's build in progress unless it is a day old
        if (!name.includes(TMP) || mtime(d) < day) fs.rmSync(d, { recursive: true, force: true });
        continue;
      }
      models.push({ dir: d, used: mtime(path.join(d, USED)) });
    }
    models.sort((a, b) => b.used - a.used);
    for (const m of models.slice(MAX_MODELS - 1)) fs.rmSync(m.dir, { recursive: true, force: true });
    const graphs: { file: string; used: number }[] = [];
    for (const name of fs.readdirSync(dir)) {
      const f = path.join(dir, name);
      if (name.includes(TMP)) {
        if (mtime(f) < day) fs.rmSync(f, { force: true });
      } else if (name.startsWith('graph-')) graphs.push({ file: f, used: mtime(f) });
    }
    graphs.sort((a, b) => b.used - a.used);
    for (const g of graphs.slice(MAX_GRAPHS)) fs.rmSync(g.file, { force: true });
  } catch {
    /* pruning is best effort */
  }
}
