// A local HTTP server on 127.0.0.1 for the downloader tests: serves one file with Range support,
// and can be told to ignore Range, send slowly (so a test can cancel mid-way), cut the connection
// after N bytes (once), or redirect. Records every request's path and Range header and the body
// bytes it sent, so tests can prove what was (not) downloaded again.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServerBehaviour {
  ignoreRange: boolean;
  /** Bytes per write and ms between writes (0 = one write). */
  chunk: number;
  delayMs: number;
  /** Destroy the socket after this many body bytes, on the next request only. */
  cutAfter: number | undefined;
}

export interface RequestRecord {
  path: string;
  range: string | undefined;
  sent: number;
}

export class DownloadServer {
  readonly requests: RequestRecord[] = [];
  behaviour: ServerBehaviour = { ignoreRange: false, chunk: 0, delayMs: 0, cutAfter: undefined };
  private readonly server: http.Server;

  constructor(private readonly body: Buffer) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
  }

  url(p: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${p}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  reset(b: Partial<ServerBehaviour> = {}): void {
    this.requests.length = 0;
    this.behaviour = { ignoreRange: false, chunk: 0, delayMs: 0, cutAfter: undefined, ...b };
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const rec: RequestRecord = { path: req.url ?? '', range: req.headers.range, sent: 0 };
    this.requests.push(rec);
    const redirects: Record<string, string> = {
      '/to-remote-http': 'http://example.com/model.gguf',
      '/to-local': '/model.gguf',
      '/to-relative': 'model.gguf',
      '/loop': '/loop',
    };
    const location = redirects[rec.path];
    if (location !== undefined) {
      res.writeHead(302, { location }).end();
      return;
    }
    if (rec.path !== '/model.gguf') {
      res.writeHead(404).end('not found');
      return;
    }
    const b = this.behaviour;
    const m = /^bytes=(\d+)-$/.exec(rec.range ?? '');
    let start = 0;
    if (m && !b.ignoreRange) {
      start = Number(m[1]);
      if (start >= this.body.length) {
        res.writeHead(416, { 'content-range': `bytes */${this.body.length}` }).end();
        return;
      }
      res.writeHead(206, {
        'content-length': this.body.length - start,
        'content-range': `bytes ${start}-${this.body.length - 1}/${this.body.length}`,
      });
    } else {
      res.writeHead(200, { 'content-length': this.body.length });
    }
    const cut = b.cutAfter;
    b.cutAfter = undefined;
    let pos = start;
    const step = (): void => {
      if (res.destroyed) return;
      const end = Math.min(this.body.length, pos + (b.chunk > 0 ? b.chunk : this.body.length));
      const limit = cut !== undefined ? Math.min(end, start + cut) : end;
      res.write(this.body.subarray(pos, limit));
      rec.sent += limit - pos;
      pos = limit;
      if (cut !== undefined && pos >= start + cut) {
        setTimeout(() => res.socket?.destroy(), 20); // let the bytes leave, then reset
        return;
      }
      if (pos >= this.body.length) res.end();
      else setTimeout(step, b.delayMs);
    };
    step();
  }
}
