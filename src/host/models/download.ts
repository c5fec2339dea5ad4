// Downloading a model file we know the exact size (and usually the sha256) of: bytes go to
// `<name>.partial` next to the target (never a name that ends in .gguf, so nothing mistakes it for
// a model), a later run resumes it with a Range request (206 appends; 200 means the server ignored
// the range, so the file restarts), progress reports bytes, total and rate, an AbortSignal stops
// it and keeps the partial file, network failures retry a bounded number of times (each
// resuming), and only a file whose size and sha256 match is renamed to the final name (a mismatch
// deletes the partial file and says so; a spec without sha256 checks the size only and the result
// says so). Refuses to start when the disk has less free space than the bytes still to fetch.
// Connections are opened by download-http.ts only. No vscode import.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkDownloadUrl, DownloadError, openDownload } from './download-http';

export { checkDownloadUrl, DownloadError } from './download-http';

export interface DownloadSpec {
  url: string;
  /** Final path of the file. */
  dest: string;
  size: number;
  /** Lower-case hex; absent: only the size is verified. */
  sha256?: string;
}

export interface DownloadProgress {
  bytes: number;
  total: number;
  /** Average over this run's transfer (resumed bytes excluded). */
  bytesPerSecond: number;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?(p: DownloadProgress): void;
  maxRedirects?: number;
  /** Further attempts after a network failure, each resuming where the last one stopped. */
  retries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
  /** Free bytes on the disk holding `dir` (default: fs.statfs). */
  freeBytes?(dir: string): Promise<number>;
}

export interface DownloadResult {
  path: string;
  /** Bytes fetched over the network by this call. */
  fetched: number;
  /** Size of the partial file this call started from. */
  resumedFrom: number;
  /** The final file was already there and correct: nothing fetched. */
  alreadyPresent: boolean;
  /** What was checked: size and sha256, or (no sha256 in the spec) the size only. */
  verified: 'sha256' | 'size';
}

export const partialPath = (dest: string): string => `${dest}.partial`;
const MB = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MB`;

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), h);
  return h.digest('hex');
}

const sizeOf = (file: string): number => {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
};

async function statfsFree(dir: string): Promise<number> {
  const s = await fs.promises.statfs(dir);
  return s.bavail * s.bsize;
}

/** One GET from `offset`; returns the partial file's new size. */
async function fetchOnce(
  spec: DownloadSpec,
  part: string,
  offset: number,
  o: DownloadOptions,
  onBytes: (n: number, written: number) => void,
): Promise<number> {
  const res = await openDownload(spec.url, {
    offset,
    signal: o.signal,
    maxRedirects: o.maxRedirects ?? 5,
    idleTimeoutMs: o.idleTimeoutMs ?? 30_000,
  });
  const fail = (e: DownloadError): never => {
    res.body.destroy();
    throw e;
  };
  let start: number;
  if (res.status === 206 && offset > 0) {
    const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.body.headers['content-range'] ?? '');
    if (!m || Number(m[1]) !== offset)
      fail(
        new DownloadError(
          'http-status',
          `the server answered the resume from byte ${offset} with the wrong range (${res.body.headers['content-range'] ?? 'none'})`,
        ),
      );
    if (m && m[2] !== '*' && Number(m[2]) !== spec.size)
      fail(new DownloadError('size-mismatch', `the server's file has ${m[2]} bytes, expected ${spec.size}`));
    start = offset;
  } else if (res.status === 200 || res.status === 206) {
    start = 0; // the server ignored the Range header: start over
    const len = Number(res.body.headers['content-length'] ?? NaN);
    if (res.status === 200 && Number.isFinite(len) && len !== spec.size)
      fail(new DownloadError('size-mismatch', `the server's file has ${len} bytes, expected ${spec.size}`));
  } else {
    if (res.status === 416) fs.rmSync(part, { force: true }); // our partial file is not a prefix of theirs
    return fail(new DownloadError('http-status', `HTTP ${res.status} from ${new URL(res.url).host}`));
  }
  let written = start;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (written + chunk.length > spec.size)
        return done(new DownloadError('size-mismatch', `the server sent more than the expected ${spec.size} bytes`));
      written += chunk.length;
      onBytes(chunk.length, written);
      done(null, chunk);
    },
  });
  // A broken connection ends the source cleanly (so every byte received is flushed to the
  // partial file for the next resume); an abort or a size error tears the pipeline down.
  let broken: unknown;
  async function* received(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of src) yield chunk;
    } catch (e) {
      if (o.signal?.aborted) throw e;
      broken = e;
    }
  }
  const out = fs.createWriteStream(part, { flags: start === 0 ? 'w' : 'a' });
  try {
    await pipeline(received(res.body), counter, out, { signal: o.signal });
  } catch (e) {
    if (!out.closed) await new Promise<void>((r) => out.once('close', () => r())); // what reached the disk is a prefix of the file: keep it
    throw e;
  }
  o.signal?.throwIfAborted();
  if (broken instanceof DownloadError) throw broken;
  if (broken !== undefined) {
    throw new DownloadError(
      'network',
      `the connection broke after ${MB(written)} of ${MB(spec.size)} (${broken instanceof Error ? broken.message : String(broken)})`,
    );
  }
  if (written < spec.size)
    throw new DownloadError('network', `the connection closed after ${MB(written)} of ${MB(spec.size)}`);
  return written;
}

export async function downloadFile(spec: DownloadSpec, o: DownloadOptions = {}): Promise<DownloadResult> {
  checkDownloadUrl(spec.url);
  if (
    (spec.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(spec.sha256)) ||
    !Number.isSafeInteger(spec.size) ||
    spec.size <= 0
  ) {
    throw new TypeError('a download needs an exact size and, if given, a lower-case hex sha256');
  }
  const verified = spec.sha256 !== undefined ? 'sha256' : 'size';
  const matches = async (file: string): Promise<{ ok: boolean; sha: string }> => {
    if (sizeOf(file) !== spec.size) return { ok: false, sha: '' };
    if (spec.sha256 === undefined) return { ok: true, sha: '' };
    const sha = await sha256File(file);
    return { ok: sha === spec.sha256, sha };
  };
  o.signal?.throwIfAborted();
  const dir = path.dirname(spec.dest);
  if (fs.existsSync(spec.dest)) {
    if ((await matches(spec.dest)).ok)
      return { path: spec.dest, fetched: 0, resumedFrom: 0, alreadyPresent: true, verified };
    throw new DownloadError(
      'exists',
      `${spec.dest} already exists and is not the expected file; move it away and try again`,
    );
  }
  await fs.promises.mkdir(dir, { recursive: true });
  const part = partialPath(spec.dest);
  let have = sizeOf(part);
  if (have > spec.size) {
    fs.rmSync(part, { force: true });
    have = 0;
  }
  const resumedFrom = have;
  const free = await (o.freeBytes ?? statfsFree)(dir);
  if (free < spec.size - have) {
    throw new DownloadError(
      'disk-full',
      `not enough disk space in ${dir}: ${MB(spec.size - have)} still to download, ${MB(free)} free`,
    );
  }
  const t0 = performance.now();
  let fetched = 0;
  let lastReport = 0;
  const report = (written: number, force = false): void => {
    const now = performance.now();
    if (!force && now - lastReport < 100) return;
    lastReport = now;
    o.onProgress?.({ bytes: written, total: spec.size, bytesPerSecond: fetched / Math.max(1e-3, (now - t0) / 1000) });
  };
  const onBytes = (n: number, written: number): void => {
    fetched += n;
    report(written);
  };
  for (let attempt = 0; have < spec.size; attempt++) {
    try {
      have = await fetchOnce(spec, part, have, o, onBytes);
    } catch (e) {
      const retry =
        e instanceof DownloadError &&
        e.code === 'network' &&
        attempt < (o.retries ?? 2) &&
        !(o.signal?.aborted ?? false);
      if (!retry) throw e;
      have = sizeOf(part);
      await new Promise((r) => setTimeout(r, o.retryDelayMs ?? 1000));
    }
  }
  report(have, true);
  const got = sizeOf(part);
  const check = await matches(part);
  if (!check.ok) {
    fs.rmSync(part, { force: true });
    throw got !== spec.size
      ? new DownloadError(
          'size-mismatch',
          `the download has ${got} bytes, expected ${spec.size}; the partial file was deleted`,
        )
      : new DownloadError(
          'sha256-mismatch',
          `sha256 of the download is ${check.sha}, expected ${spec.sha256}; the file was deleted — try again, and report it if it persists`,
        );
  }
  await fs.promises.rename(part, spec.dest);
  return { path: spec.dest, fetched, resumedFrom, alreadyPresent: false, verified };
}
