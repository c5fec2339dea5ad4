// The only module in PodLens that opens network connections (test/network-policy.test.ts holds
// every other file to that): one GET for a model download, optionally from a byte offset (Range),
// following a bounded number of redirects. URL policy: https only. Plain http is accepted for
// loopback hosts (127.0.0.1, ::1, localhost) and nothing else — it exists so tests can serve a
// model from a local server without certificates; it never reaches another machine. A redirect
// is held to the same policy, so https → http://anything-remote is refused. No vscode import.
import * as http from 'node:http';
import * as https from 'node:https';

export type DownloadErrorCode =
  | 'insecure-url'
  | 'too-many-redirects'
  | 'http-status'
  | 'network'
  | 'size-mismatch'
  | 'sha256-mismatch'
  | 'disk-full'
  | 'exists';

export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  constructor(
    readonly code: DownloadErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** The parsed URL when PodLens may fetch from it; throws DownloadError('insecure-url') otherwise. */
export function checkDownloadUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new DownloadError('insecure-url', `not a valid URL: ${raw}`);
  }
  if (u.protocol === 'https:') return u;
  if (u.protocol === 'http:' && LOOPBACK.has(u.hostname)) return u;
  throw new DownloadError('insecure-url', `refusing ${u.protocol}//${u.host}: model downloads use https only`);
}

export interface OpenedResponse {
  status: number;
  /** The URL that answered (after redirects). */
  url: string;
  body: http.IncomingMessage;
}

export interface GetOptions {
  /** Ask for bytes from this offset on (Range: bytes=N-). */
  offset: number;
  signal?: AbortSignal;
  maxRedirects: number;
  /** No bytes for this long ends the request (ms). */
  idleTimeoutMs: number;
}

function getOnce(u: URL, o: GetOptions): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'user-agent': 'PodLens', 'accept-encoding': 'identity' };
    if (o.offset > 0) headers.range = `bytes=${o.offset}-`;
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.get(u, { headers, signal: o.signal }, resolve);
    req.setTimeout(o.idleTimeoutMs, () =>
      req.destroy(new DownloadError('network', `no response from ${u.host} for ${o.idleTimeoutMs / 1000} s`)),
    );
    req.on('error', (e) =>
      reject(
        e.name === 'AbortError' || e instanceof DownloadError
          ? e
          : new DownloadError('network', `${u.host}: ${e.message}`),
      ),
    );
  });
}

/** GET with redirects (each hop checked by checkDownloadUrl); the caller consumes or destroys the body. */
export async function openDownload(url: string, o: GetOptions): Promise<OpenedResponse> {
  let u = checkDownloadUrl(url);
  for (let hop = 0; ; hop++) {
    const res = await getOnce(u, o);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location !== undefined) {
      res.resume(); // discard the redirect's body
      if (hop >= o.maxRedirects)
        throw new DownloadError('too-many-redirects', `more than ${o.maxRedirects} redirects from ${url}`);
      u = checkDownloadUrl(new URL(location, u).toString());
      continue;
    }
    res.setTimeout(o.idleTimeoutMs, () =>
      res.destroy(new DownloadError('network', `the download from ${u.host} stalled for ${o.idleTimeoutMs / 1000} s`)),
    );
    return { status, url: u.toString(), body: res };
  }
}
