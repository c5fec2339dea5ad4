// Where the context builder gets files from: an injected FileSource (paths relative to the
// workspace root, '/'-separated), so src/context never touches vscode and tests can use memory.
// NodeFileSource reads a folder on disk; MemoryFileSource holds files in a map (tests, editor
// buffers). Not here: ignore rules, encodings, ordering (walk.ts, text.ts, build.ts).
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

export interface DirEntry {
  name: string;
  kind: 'file' | 'dir' | 'other';
}

export interface FileStat {
  size: number;
  mtimeMs: number;
}

export interface FileSource {
  /** Entries of a folder ('' = the root). */
  list(dir: string): Promise<DirEntry[]>;
  stat(file: string): Promise<FileStat>;
  /** At most `maxBytes` bytes from the start of the file. */
  read(file: string, maxBytes: number): Promise<Uint8Array>;
}

export class NodeFileSource implements FileSource {
  constructor(readonly root: string) {}

  private abs(rel: string): string {
    return path.join(this.root, ...rel.split('/').filter(Boolean));
  }

  async list(dir: string): Promise<DirEntry[]> {
    const ents = await fs.readdir(this.abs(dir), { withFileTypes: true });
    // Symbolic links are not followed (cycles, files outside the workspace).
    return ents.map((e) => ({ name: e.name, kind: e.isFile() ? 'file' : e.isDirectory() ? 'dir' : 'other' }));
  }

  async stat(file: string): Promise<FileStat> {
    const s = await fs.stat(this.abs(file));
    return { size: s.size, mtimeMs: s.mtimeMs };
  }

  async read(file: string, maxBytes: number): Promise<Uint8Array> {
    const h = await fs.open(this.abs(file), 'r');
    try {
      const { size } = await h.stat();
      const buf = Buffer.alloc(Math.min(size, maxBytes));
      const { bytesRead } = await h.read(buf, 0, buf.length, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await h.close();
    }
  }
}

/** Files in memory: path → content (string = UTF-8) and optional mtime. */
export class MemoryFileSource implements FileSource {
  private readonly files = new Map<string, { data: Uint8Array; mtimeMs: number }>();

  constructor(files: Record<string, string | Uint8Array | { data: string | Uint8Array; mtimeMs: number }> = {}) {
    for (const [p, f] of Object.entries(files)) {
      if (typeof f === 'string' || f instanceof Uint8Array) this.set(p, f);
      else this.set(p, f.data, f.mtimeMs);
    }
  }

  set(p: string, data: string | Uint8Array, mtimeMs = 0): void {
    this.files.set(p, { data: typeof data === 'string' ? new TextEncoder().encode(data) : data, mtimeMs });
  }

  async list(dir: string): Promise<DirEntry[]> {
    const pre = dir === '' ? '' : `${dir}/`;
    const out = new Map<string, DirEntry>();
    for (const p of this.files.keys()) {
      if (!p.startsWith(pre)) continue;
      const rest = p.slice(pre.length);
      const i = rest.indexOf('/');
      const name = i < 0 ? rest : rest.slice(0, i);
      out.set(name, { name, kind: i < 0 ? 'file' : 'dir' });
    }
    if (out.size === 0 && dir !== '') throw new Error(`ENOENT: ${dir}`);
    return [...out.values()];
  }

  async stat(file: string): Promise<FileStat> {
    const f = this.files.get(file);
    if (!f) throw new Error(`ENOENT: ${file}`);
    return { size: f.data.length, mtimeMs: f.mtimeMs };
  }

  async read(file: string, maxBytes: number): Promise<Uint8Array> {
    const f = this.files.get(file);
    if (!f) throw new Error(`ENOENT: ${file}`);
    return f.data.subarray(0, maxBytes);
  }
}
