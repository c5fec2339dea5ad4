// The on-disk cache of converted models: each decoder segment's ONNX graph plus its packed
// weights as one external data file, keyed by the GGUF file's identity (path, size, mtime, a hash
// of its first MiB) and every build setting. ONNX Runtime loads the graph from the path and maps
// the external weights (offsets are page-aligned) instead of copying them out of an in-memory
// protobuf, and a second load skips the conversion. Building streams each packed weight to the
// file as the graph is written, so the process never holds all packed weights in JS memory.
// Writes go to a temporary directory renamed into place, so a crashed or concurrent build never
// leaves a half-written entry; the least recently used entries beyond MAX_ENTRIES are removed.
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
/** Initializers this large go to the external file; smaller ones (shapes, norms) stay in the graph. */
const MIN_EXTERNAL_BYTES = 16 * 1024;
const MAX_ENTRIES = 4;
const HEAD_BYTES = 1 << 20;

export const WEIGHTS_FILE = 'weights.bin';
export const MODEL_FILE = 'model.onnx';
const MANIFEST = 'manifest.json';

/** The default cache directory: $PODLENS_ONNX_CACHE ("off": no cache, build in memory), else ~/.cache/podlens/onnx. */
export function defaultModelCacheDir(): string | null {
  const env = process.env.PODLENS_ONNX_CACHE;
  if (env === 'off') return null;
  return env || path.join(os.homedir(), '.cache', 'podlens', 'onnx');
}

interface Manifest {
  format: number;
  key: string;
  gguf: string;
  weightBytes: number;
  modelBytes: number;
  externalBytes: number;
}

/** A cache key from the GGUF file's identity and the build settings (any JSON value). */
export function cacheKey(ggufPath: string, settings: unknown): string {
  const st = fs.statSync(ggufPath);
  const h = crypto.createHash('sha256');
  h.update(
    JSON.stringify({ format: FORMAT, path: path.resolve(ggufPath), size: st.size, mtime: st.mtimeMs, settings }),
  );
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
  /** True when the entry already existed (no conversion ran). */
  hit: boolean;
}

/** Appends initializers to the external data file at aligned offsets. */
class FileSink implements InitializerSink {
  readonly minBytes = MIN_EXTERNAL_BYTES;
  end = 0;
  constructor(private readonly fd: number) {}

  write(pieces: Iterable<Uint8Array>, length: number): ExternalData {
    const offset = Math.ceil(this.end / ALIGN) * ALIGN;
    let at = offset;
    for (const raw of pieces) {
      let done = 0;
      while (done < raw.length) done += fs.writeSync(this.fd, raw, done, raw.length - done, at + done);
      at += raw.length;
    }
    if (at - offset !== length) throw new Error(`an initializer's pieces gave ${at - offset} of its ${length} bytes`);
    this.end = at;
    return { location: WEIGHTS_FILE, offset, length };
  }
}

function readManifest(dir: string, key: string): Manifest | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as Manifest;
    if (m.format !== FORMAT || m.key !== key) return undefined;
    if (fs.statSync(path.join(dir, MODEL_FILE)).size !== m.modelBytes) return undefined;
    if (fs.statSync(path.join(dir, WEIGHTS_FILE)).size !== m.externalBytes) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

/**
 * The cached model for `key`, building it with `build` (which writes large initializers to the
 * sink it is given and returns the graph bytes) when missing or damaged.
 */
export function cachedModel(
  cacheDir: string,
  key: string,
  ggufPath: string,
  build: (sink: InitializerSink) => { bytes: Uint8Array; weightBytes: number },
): CachedModel {
  const dir = path.join(cacheDir, key);
  const hit = readManifest(dir, key);
  if (hit) {
    const now = new Date();
    try {
      fs.utimesSync(path.join(dir, MANIFEST), now, now); // recency for pruning
    } catch {
      /* read-only cache: still usable */
    }
    return { modelPath: path.join(dir, MODEL_FILE), weightBytes: hit.weightBytes, hit: true };
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(cacheDir, `${key}.tmp-`));
  try {
    const fd = fs.openSync(path.join(tmp, WEIGHTS_FILE), 'w');
    let built: { bytes: Uint8Array; weightBytes: number };
    const sink = new FileSink(fd);
    try {
      built = build(sink);
      fs.ftruncateSync(fd, sink.end);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.writeFileSync(path.join(tmp, MODEL_FILE), built.bytes);
    const manifest: Manifest = {
      format: FORMAT,
      key,
      gguf: path.resolve(ggufPath),
      weightBytes: built.weightBytes,
      modelBytes: built.bytes.length,
      externalBytes: sink.end,
    };
    fs.writeFileSync(path.join(tmp, MANIFEST), JSON.stringify(manifest, null, 2));
    fs.rmSync(dir, { recursive: true, force: true }); // a damaged entry
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      if (!readManifest(dir, key)) throw e; // not a concurrent build that finished first
    }
    prune(cacheDir, key);
    return { modelPath: path.join(dir, MODEL_FILE), weightBytes: built.weightBytes, hit: false };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Remove the least recently used entries beyond MAX_ENTRIES, and stale temporary directories. */
function prune(cacheDir: string, keep: string): void {
  try {
    const entries: { dir: string; used: number }[] = [];
    for (const name of fs.readdirSync(cacheDir)) {
      const dir = path.join(cacheDir, name);
      if (name.includes('.tmp-')) {
        // another process's build in progress, unless it is a day old
        if (Date.now() - fs.statSync(dir).mtimeMs > 86_400_000) fs.rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (name === keep) continue;
      let used = 0;
      try {
        used = fs.statSync(path.join(dir, MANIFEST)).mtimeMs;
      } catch {
        /* no manifest: oldest */
      }
      entries.push({ dir, used });
    }
    entries.sort((a, b) => b.used - a.used);
    for (const e of entries.slice(MAX_ENTRIES - 1)) fs.rmSync(e.dir, { recursive: true, force: true });
  } catch {
    /* pruning is best effort */
  }
}
