// The model downloader (src/host/models/download.ts, download-http.ts) against a local HTTP server on
// 127.0.0.1 serving the real stories260K GGUF: full download with progress, cancel and resume
// (the Range header sent, bytes not fetched twice), a server that ignores Range, wrong sha256,
// wrong size, a connection cut mid-way (error, then retries that resume), redirects (local ok,
// to http on another host refused, loops bounded), 404, too little disk space, an existing file;
// a spec without sha256 (size only); the catalog's pinned Qwen entries.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  checkDownloadUrl,
  DownloadError,
  downloadFile,
  DownloadProgress,
  DownloadSpec,
  partialPath,
} from '../src/host/models/download';
import { readGGUFHeader } from '../src/engine/gguf/reader';
import { MODEL_CATALOG } from '../src/host/models/model-catalog';
import { DownloadServer } from './download-server';
import { modelPath } from './helpers';

const body = fs.readFileSync(modelPath('stories260K-f32.gguf'));
const sha = createHash('sha256').update(body).digest('hex');
const server = new DownloadServer(body);
let dir: string;
let n = 0;

before(() => server.start());
after(() => server.stop());
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-download-'));
  server.reset();
});

const spec = (p = '/model.gguf', extra: Partial<DownloadSpec> = {}): DownloadSpec => ({
  url: server.url(p),
  dest: path.join(dir, `m${++n}.gguf`),
  size: body.length,
  sha256: sha,
  ...extra,
});
const code =
  (c: string) =>
  (e: unknown): boolean =>
    e instanceof DownloadError && e.code === c;
const sent = (): number => server.requests.reduce((s, r) => s + r.sent, 0);

test('URL policy: https anywhere, plain http only to loopback hosts', () => {
  for (const ok of [
    'https://huggingface.co/a/b/resolve/main/x.gguf',
    'http://127.0.0.1:9/x',
    'http://[::1]:9/x',
    'http://localhost/x',
  ])
    checkDownloadUrl(ok);
  for (const bad of [
    'http://huggingface.co/x.gguf',
    'http://127.0.0.1.example.com/x',
    'http://localhost.example.com/x',
    'ftp://127.0.0.1/x',
    'file:///etc/passwd',
    'not a url',
  ]) {
    assert.throws(() => checkDownloadUrl(bad), code('insecure-url'), bad);
  }
});

test('full download: progress, sha256 checked, renamed into place, a readable GGUF, no partial left', async () => {
  server.reset({ chunk: 64 * 1024, delayMs: 30 });
  const s = spec();
  const seen: DownloadProgress[] = [];
  const r = await downloadFile(s, { onProgress: (p) => seen.push(p) });
  assert.deepEqual(r, {
    path: s.dest,
    fetched: body.length,
    resumedFrom: 0,
    alreadyPresent: false,
    verified: 'sha256',
  });
  assert.ok(fs.readFileSync(s.dest).equals(body));
  assert.equal(fs.existsSync(partialPath(s.dest)), false);
  assert.equal(readGGUFHeader(s.dest).tensors.length > 0, true);
  assert.ok(seen.length >= 2, `${seen.length} progress reports`);
  assert.ok(
    seen.every((p, i) => p.total === body.length && p.bytesPerSecond > 0 && (i === 0 || p.bytes >= seen[i - 1]!.bytes)),
  );
  assert.equal(seen.at(-1)!.bytes, body.length);
  assert.equal(server.requests[0]!.range, undefined);
  // Again: the file is there and correct, nothing is fetched.
  server.reset();
  assert.equal((await downloadFile(s)).alreadyPresent, true);
  assert.equal(server.requests.length, 0);
});

test('cancel mid-way keeps the partial file; the next run resumes with Range and fetches only the rest', async () => {
  server.reset({ chunk: 32 * 1024, delayMs: 15 });
  const s = spec();
  const ac = new AbortController();
  await assert.rejects(
    downloadFile(s, {
      signal: ac.signal,
      onProgress: (p) => {
        if (p.bytes >= 256 * 1024) ac.abort();
      },
    }),
    { name: 'AbortError' },
  );
  const part = partialPath(s.dest);
  const have = fs.statSync(part).size;
  assert.ok(have > 0 && have < body.length, `partial ${have} bytes`); // bytes still in the write queue are dropped
  assert.ok(fs.readFileSync(part).equals(body.subarray(0, have)), 'the partial file is a prefix of the model');
  assert.equal(fs.existsSync(s.dest), false);
  server.reset({ chunk: 64 * 1024, delayMs: 1 });
  const r = await downloadFile(s);
  assert.equal(server.requests.length, 1);
  assert.equal(server.requests[0]!.range, `bytes=${have}-`);
  assert.equal(sent(), body.length - have, 'no byte fetched twice');
  assert.deepEqual([r.resumedFrom, r.fetched], [have, body.length - have]);
  assert.ok(fs.readFileSync(s.dest).equals(body));
});

test('a server that ignores Range (200) restarts the file from byte 0', async () => {
  const s = spec();
  fs.writeFileSync(partialPath(s.dest), Buffer.alloc(4000, 0x55)); // not even a prefix: must be overwritten
  server.reset({ ignoreRange: true });
  const r = await downloadFile(s);
  assert.equal(server.requests[0]!.range, 'bytes=4000-');
  assert.deepEqual([r.resumedFrom, r.fetched], [4000, body.length]);
  assert.ok(fs.readFileSync(s.dest).equals(body));
});

test('wrong sha256: the partial file is deleted, nothing is renamed, the error says both hashes', async () => {
  const s = spec('/model.gguf', { sha256: 'ab'.repeat(32) });
  await assert.rejects(
    downloadFile(s),
    (e: unknown) =>
      code('sha256-mismatch')(e) &&
      (e as Error).message.includes(sha) &&
      (e as Error).message.includes('ab'.repeat(32)),
  );
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('wrong size: refused from Content-Length before writing the file', async () => {
  const s = spec('/model.gguf', { size: body.length + 1 });
  await assert.rejects(downloadFile(s), code('size-mismatch'));
  assert.equal(fs.existsSync(s.dest), false);
});

test('connection cut mid-way: a network error keeping the partial file; with retries it resumes and completes', async () => {
  server.reset({ cutAfter: 100_000 });
  const s = spec();
  await assert.rejects(downloadFile(s, { retries: 0 }), code('network'));
  const have = fs.statSync(partialPath(s.dest)).size;
  assert.ok(have > 0 && have <= 100_000, `${have}`);
  server.reset({ cutAfter: 200_000 });
  const r = await downloadFile(s, { retries: 2, retryDelayMs: 0 });
  assert.deepEqual(
    server.requests.map((q) => q.range),
    [`bytes=${have}-`, `bytes=${have + server.requests[0]!.sent}-`],
  );
  assert.equal(sent(), body.length - have);
  assert.equal(r.fetched, body.length - have);
  assert.ok(fs.readFileSync(s.dest).equals(body));
});

test('redirects: to a loopback path ok; to http on another host refused; loops bounded; 404 reported', async () => {
  for (const p of ['/to-local', '/to-relative']) {
    const s = spec(p);
    await downloadFile(s);
    assert.ok(fs.readFileSync(s.dest).equals(body));
  }
  server.reset();
  await assert.rejects(
    downloadFile(spec('/to-remote-http')),
    (e: unknown) => code('insecure-url')(e) && /example\.com/.test((e as Error).message),
  );
  assert.deepEqual(
    server.requests.map((r) => r.path),
    ['/to-remote-http'],
  );
  await assert.rejects(downloadFile(spec('/loop'), { maxRedirects: 3 }), code('too-many-redirects'));
  await assert.rejects(
    downloadFile(spec('/missing')),
    (e: unknown) => code('http-status')(e) && /HTTP 404/.test((e as Error).message),
  );
  assert.deepEqual(fs.readdirSync(dir).filter((f) => !f.endsWith('.partial')).length, 2);
});

test('refusals before any request: too little disk space, cancelled already, an existing different file, a bad spec', async () => {
  await assert.rejects(
    downloadFile(spec(), { freeBytes: () => Promise.resolve(1000) }),
    (e: unknown) => code('disk-full')(e) && /1\.1 MB still to download/.test((e as Error).message),
  );
  const s = spec();
  fs.writeFileSync(partialPath(s.dest), body.subarray(0, body.length - 500));
  await downloadFile(s, { freeBytes: () => Promise.resolve(600) }); // only the rest must fit
  assert.equal(server.requests.length, 1);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(downloadFile(spec(), { signal: ac.signal }), { name: 'AbortError' });
  const other = spec();
  fs.writeFileSync(other.dest, 'something else');
  await assert.rejects(downloadFile(other), code('exists'));
  await assert.rejects(downloadFile(spec('/model.gguf', { sha256: 'XYZ' })), TypeError);
  assert.equal(server.requests.length, 1);
});

test('no sha256 in the spec: the size alone is checked (and said), a cut download resumes, a wrong size leaves nothing', async () => {
  const { sha256: _none, ...sizeOnly } = spec();
  fs.writeFileSync(partialPath(sizeOnly.dest), body.subarray(0, 300_000));
  const r = await downloadFile(sizeOnly);
  assert.deepEqual(
    [r.verified, r.resumedFrom, r.fetched, server.requests[0]!.range],
    ['size', 300_000, body.length - 300_000, 'bytes=300000-'],
  );
  assert.ok(fs.readFileSync(sizeOnly.dest).equals(body));
  server.reset();
  assert.deepEqual([(await downloadFile(sizeOnly)).alreadyPresent, server.requests.length], [true, 0]);
  // Right size is all it can know: a same-sized different file counts as present; another size does not.
  const other = { ...sizeOnly, dest: path.join(dir, 'other.gguf') };
  fs.writeFileSync(other.dest, Buffer.alloc(body.length));
  assert.equal((await downloadFile(other)).verified, 'size');
  fs.writeFileSync(other.dest, 'short');
  await assert.rejects(downloadFile(other), code('exists'));
  // The server's file is 1 byte shorter than the catalog says: refused, no file.
  const wrong = { ...sizeOnly, dest: path.join(dir, 'wrong.gguf'), size: body.length + 1 };
  await assert.rejects(downloadFile(wrong), code('size-mismatch'));
  assert.deepEqual(
    fs.readdirSync(dir).filter((f) => f.startsWith('wrong')),
    [],
  );
});

test("catalog: Qwen2.5-Coder 0.5B/1.5B/3B/7B Instruct Q4_K_M from Qwen's GGUF repositories at pinned revisions; verified-here entries are the files fetch-models.sh checks", () => {
  const script = fs.readFileSync(path.join(__dirname, '..', '..', 'scripts', 'fetch-models.sh'), 'utf8');
  assert.deepEqual(
    MODEL_CATALOG.map((m) => m.id),
    ['0.5b', '1.5b', '3b', '7b'].map((b) => `qwen2.5-coder-${b}-instruct-q4_k_m`),
  );
  for (const m of MODEL_CATALOG) {
    const u = checkDownloadUrl(m.url);
    const b = /^qwen2\.5-coder-(\d+(?:\.\d+)?b)-instruct-q4_k_m\.gguf$/.exec(m.file)?.[1];
    assert.ok(b, m.file);
    assert.equal(u.host, 'huggingface.co');
    assert.match(
      u.pathname,
      new RegExp(
        `^/Qwen/Qwen2\\.5-Coder-${b.toUpperCase()}-Instruct-GGUF/resolve/[0-9a-f]{40}/${m.file.replace(/\./g, '\\.')}$`,
      ),
      'official repo, fixed revision, single-file GGUF',
    );
    assert.ok(m.sha256 === undefined || /^[0-9a-f]{64}$/.test(m.sha256), m.id);
    assert.ok(Number.isSafeInteger(m.size) && m.size > 0);
    if (m.evidence === 'verified-here')
      assert.ok(
        m.sha256 && script.includes(`${m.sha256} build_qwen`),
        `${m.id}: fetch-models.sh checks the same sha256`,
      );
  }
  assert.deepEqual(
    MODEL_CATALOG.map((m) => m.size),
    [...MODEL_CATALOG.map((m) => m.size)].sort((a, b) => a - b),
    'smallest first',
  );
  // The verified-here 0.5B is the file fetch-models.sh puts in models/ under its short name (always fetched).
  assert.equal(fs.statSync(modelPath('qwen2.5-coder-0.5b-instruct.gguf')).size, MODEL_CATALOG[0]!.size);
});
