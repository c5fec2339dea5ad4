// Saving and loading a session's KV state (src/engine/kv/state.ts) on disk. File layout:
//   "PODLENSK" | u32 LE header length | header JSON | token ids (i32 LE) | ints (i32 LE) |
//   buffers (f32 or f16 raw, LE) | sha256 of everything before (32 bytes)
// The header carries the format version, the model file's sha256, the plan hash, the dtype, the
// cache kind, the sha256 of the token ids and every section's size. Writes are atomic (a temp file
// with a unique name — pid plus random — in the same folder, fsync, rename), so two processes
// saving the same file concurrently leave one writer's complete file, never a mix; a failed write
// (a full disk) removes its temp file and leaves the previously saved file untouched. A load checks size, magic, header, model, plan, dtype, the
// checksum and the ids hash, and returns a one-line reason instead of a state on any mismatch —
// the caller rebuilds; a bad file is never used. The folder is capped with LRU eviction (a load
// refreshes the file's mtime). Not here: what to save when (session.ts).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KVArray } from '../engine/kv/dtype';
import { KVState } from '../engine/kv/state';

export const FORMAT_VERSION = 1;
const MAGIC = Buffer.from('PODLENSK', 'latin1');
export const STATE_EXT = '.kvstate';

export interface StateIdentity {
  modelSha256: string;
  planHash: string;
}

interface Header extends StateIdentity {
  format: number;
  endian: 'le';
  kind: string;
  dtype: 'f32' | 'f16';
  length: number;
  idsHash: string;
  tokenIds: number;
  ints: number;
  /** Element count of each buffer. */
  buffers: number[];
  createdAt: string;
}

export type LoadResult = { ok: true; ids: number[]; state: KVState } | { ok: false; reason: string };

const sha = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');
export const idsHash = (ids: readonly number[]): string => sha(Buffer.from(Int32Array.from(ids).buffer));
export const planHash = (plan: unknown): string => sha(JSON.stringify(plan)).slice(0, 32);
const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const shaCache = new Map<string, { size: number; mtimeMs: number; hash: string }>();
/** sha256 of a file (streamed; remembered per path, size and mtime for this process). */
export async function fileSha256(file: string): Promise<string> {
  const st = fs.statSync(file);
  const c = shaCache.get(file);
  if (c && c.size === st.size && c.mtimeMs === st.mtimeMs) return c.hash;
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  const hash = h.digest('hex');
  shaCache.set(file, { size: st.size, mtimeMs: st.mtimeMs, hash });
  return hash;
}

/** The write used by saveState (tests inject a failing one to simulate a full disk). */
export type WriteFn = (fd: number, data: Uint8Array) => void;
const writeAll: WriteFn = (fd, data) => {
  for (let off = 0; off < data.length;) off += fs.writeSync(fd, data, off);
};

/** Thrown when a state could not be saved; the previously saved file (if any) is unchanged. */
export class SaveStateError extends Error {
  override readonly name = 'SaveStateError';
  constructor(
    file: string,
    readonly code: string | undefined,
    detail: string,
  ) {
    super(
      `could not save the KV state ${path.basename(file)}: ${code === 'ENOSPC' ? 'the disk is full (ENOSPC)' : detail}; the previously saved state is kept`,
    );
  }
}

/** Write atomically: unique temp file beside the target, fsync, rename. Returns the file's size. */
export function saveState(
  file: string,
  id: StateIdentity,
  ids: readonly number[],
  s: KVState,
  write: WriteFn = writeAll,
): number {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1)
    throw new Error('KV state files are little-endian; this machine is not');
  const header: Header = {
    format: FORMAT_VERSION,
    endian: 'le',
    ...id,
    kind: s.kind,
    dtype: s.dtype,
    length: s.length,
    idsHash: idsHash(ids),
    tokenIds: ids.length,
    ints: s.ints.length,
    buffers: s.buffers.map((b) => b.length),
    createdAt: new Date().toISOString(),
  };
  const hb = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(hb.length);
  const parts: Buffer[] = [MAGIC, len, hb, bytesOf(Int32Array.from(ids)), bytesOf(s.ints), ...s.buffers.map(bytesOf)];
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  let size = 0;
  let fd = -1;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fd = fs.openSync(tmp, 'wx');
    const h = createHash('sha256');
    for (const p of parts) {
      h.update(p);
      write(fd, p);
      size += p.length;
    }
    write(fd, h.digest());
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      if (fd >= 0) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
    } catch {
      /* nothing was created, or the folder is gone */
    }
    const err = e as NodeJS.ErrnoException;
    throw new SaveStateError(file, err.code, err.message.split('\n')[0] ?? String(e));
  }
  return size + 32;
}

/** Load and verify; any problem is a one-line reason. */
export function loadState(file: string, expect: StateIdentity & { kind: string; dtype: string }): LoadResult {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    return { ok: false, reason: `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})` };
  }
  if (buf.length < MAGIC.length + 4 + 32) return { ok: false, reason: `truncated (${buf.length} bytes)` };
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC))
    return { ok: false, reason: 'not a PodLens KV state file (bad magic)' };
  const hlen = buf.readUInt32LE(MAGIC.length);
  const hstart = MAGIC.length + 4;
  let h: Header | undefined;
  try {
    if (hstart + hlen + 32 <= buf.length)
      h = JSON.parse(buf.subarray(hstart, hstart + hlen).toString('utf8')) as Header;
  } catch {
    /* reported below */
  }
  const bpe = h?.dtype === 'f32' ? 4 : 2;
  const sizes = h && Array.isArray(h.buffers) && Number.isInteger(h.tokenIds) && Number.isInteger(h.ints);
  const expectSize =
    h && sizes ? hstart + hlen + 4 * h.tokenIds + 4 * h.ints + h.buffers.reduce((a, n) => a + n * bpe, 0) + 32 : -1;
  // The checksum covers everything, header included, so it is checked before any header field is trusted.
  const body = buf.subarray(0, buf.length - 32);
  if (
    !createHash('sha256')
      .update(body)
      .digest()
      .equals(buf.subarray(buf.length - 32))
  ) {
    if (expectSize > buf.length) return { ok: false, reason: `truncated (${buf.length} of ${expectSize} bytes)` };
    if (expectSize >= 0 && expectSize < buf.length)
      return { ok: false, reason: `trailing bytes (${buf.length} for ${expectSize})` };
    if (hstart + hlen + 32 > buf.length) return { ok: false, reason: 'truncated (header runs past the end)' };
    return { ok: false, reason: 'checksum mismatch (corrupt file)' };
  }
  if (!h || !sizes) return { ok: false, reason: 'corrupt header' };
  if (h.format !== FORMAT_VERSION)
    return { ok: false, reason: `format version ${h.format}, this PodLens reads ${FORMAT_VERSION}` };
  if (h.modelSha256 !== expect.modelSha256)
    return { ok: false, reason: 'saved for a different model file (sha256 differs)' };
  if (h.planHash !== expect.planHash) return { ok: false, reason: 'saved for a different KV cache plan' };
  if (h.kind !== expect.kind || h.dtype !== expect.dtype)
    return { ok: false, reason: `saved as ${h.kind}/${h.dtype}, expected ${expect.kind}/${expect.dtype}` };
  if (expectSize !== buf.length)
    return { ok: false, reason: `size ${buf.length} does not match the header (${expectSize})` };
  let off = hstart + hlen;
  const take = (n: number, b: number): ArrayBuffer => {
    const out = new ArrayBuffer(n * b);
    new Uint8Array(out).set(buf.subarray(off, off + n * b));
    off += n * b;
    return out;
  };
  const ids = Array.from(new Int32Array(take(h.tokenIds, 4)));
  if (idsHash(ids) !== h.idsHash) return { ok: false, reason: 'token ids hash mismatch' };
  const ints = new Int32Array(take(h.ints, 4));
  const buffers: KVArray[] = h.buffers.map((n) =>
    h.dtype === 'f32' ? new Float32Array(take(n, 4)) : new Uint16Array(take(n, 2)),
  );
  if (h.length !== ids.length) return { ok: false, reason: `holds ${h.length} tokens but ${ids.length} token ids` };
  try {
    const now = new Date();
    fs.utimesSync(file, now, now); // LRU: recently used
  } catch {
    /* read-only folder: LRU order just stays */
  }
  return { ok: true, ids, state: { kind: h.kind, dtype: h.dtype, length: h.length, ints, buffers } };
}

/** Temp files older than this are left over from a crash and may be deleted. */
const STALE_TMP_MS = 3600_000;

/** Delete the least recently used state files until the folder holds at most maxBytes (never `keep`); also stale temp files. */
export function enforceCap(dir: string, maxBytes: number, keep?: string): string[] {
  let files: { p: string; size: number; mtimeMs: number }[];
  try {
    for (const n of fs.readdirSync(dir)) {
      if (!n.endsWith('.tmp') || !n.includes(STATE_EXT)) continue;
      const p = path.join(dir, n);
      const st = fs.statSync(p, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > STALE_TMP_MS) fs.rmSync(p, { force: true });
    }
    files = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith(STATE_EXT))
      .map((n) => {
        const p = path.join(dir, n);
        const st = fs.statSync(p);
        return { p, size: st.size, mtimeMs: st.mtimeMs };
      });
  } catch {
    return [];
  }
  files.sort((a, b) => a.mtimeMs - b.mtimeMs);
  let total = files.reduce((a, f) => a + f.size, 0);
  const removed: string[] = [];
  for (const f of files) {
    if (total <= maxBytes) break;
    if (keep && path.resolve(f.p) === path.resolve(keep)) continue;
    fs.rmSync(f.p, { force: true });
    total -= f.size;
    removed.push(f.p);
  }
  return removed;
}
