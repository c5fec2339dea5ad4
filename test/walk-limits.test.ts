// Resource guards of the workspace walk (src/context/walk.ts) on a synthetic tree of 100,000 tiny
// files (1,000 folders × 100): the walk stops at its entry and time limits and says so, never
// reads more than maxFiles, lists a bounded number of exclusions, reports progress, honours
// cancel, and the JS heap stays under a bound. Include globs narrow what is read. Times are
// printed as `# …` lines. The tree is a fake fs layer (SyntheticSource: generated on demand, with
// a macrotask per folder listing like real I/O): creating 100k real files measured 2.7 s on an
// idle disk but 34–50 s while other test runs shared it. PODLENS_REAL_100K=1 runs the same tests
// on real files in a tmp dir (NodeFileSource).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DirEntry, FileSource, FileStat, NodeFileSource } from '../src/context/source';
import { DEFAULT_LIMITS, walkWorkspace, WalkAbortedError } from '../src/context/walk';

const DIRS = 1000,
  PER_DIR = 100;
const REAL = process.env.PODLENS_REAL_100K === '1';
let root = '';
const dirName = (d: number): string => `pkg${String(d).padStart(4, '0')}`;
const content = (d: number, f: number): string => `export const v${f} = ${d * PER_DIR + f};\n`;

/** The same tree without a disk: folders pkgNNNN/ with files mK.ts. */
class SyntheticSource implements FileSource {
  /** `listMs`: time each folder listing takes (a slow disk or network share). */
  constructor(private readonly listMs = 0) {}
  async list(dir: string): Promise<DirEntry[]> {
    await new Promise((r) => (this.listMs > 0 ? setTimeout(r, this.listMs) : setImmediate(r)));
    if (dir === '') return Array.from({ length: DIRS }, (_, d) => ({ name: dirName(d), kind: 'dir' as const }));
    return Array.from({ length: PER_DIR }, (_, f) => ({ name: `m${f}.ts`, kind: 'file' as const }));
  }
  private parse(file: string): [number, number] {
    const m = /^pkg(\d{4})\/m(\d+)\.ts$/.exec(file);
    if (!m) throw new Error(`ENOENT: ${file}`);
    return [Number(m[1]), Number(m[2])];
  }
  async stat(file: string): Promise<FileStat> {
    const [d, f] = this.parse(file);
    return { size: Buffer.byteLength(content(d, f)), mtimeMs: 0 };
  }
  async read(file: string, maxBytes: number): Promise<Uint8Array> {
    const [d, f] = this.parse(file);
    return Buffer.from(content(d, f)).subarray(0, maxBytes);
  }
}
const source = (): FileSource => (REAL ? new NodeFileSource(root) : new SyntheticSource());

before(() => {
  if (!REAL) return;
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-100k-'));
  const t0 = performance.now();
  for (let d = 0; d < DIRS; d++) {
    const dir = path.join(root, dirName(d));
    fs.mkdirSync(dir);
    for (let f = 0; f < PER_DIR; f++) fs.writeFileSync(path.join(dir, `m${f}.ts`), content(d, f));
  }
  console.log(`# created ${DIRS * PER_DIR} files in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});
after(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

/** Peak JS heap growth while `f` runs, sampled from its progress callback. */
async function heapPeak<T>(f: (sample: () => void) => Promise<T>): Promise<{ result: T; peakMb: number; ms: number }> {
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const t0 = performance.now();
  const result = await f(() => {
    const h = process.memoryUsage().heapUsed;
    if (h > peak) peak = h;
  });
  return { result, peakMb: (peak - base) / 2 ** 20, ms: performance.now() - t0 };
}

test('100k files: the default limits stop the walk, bounded in reads, listing and heap', async () => {
  let calls = 0,
    lastSeen = 0;
  const {
    result: w,
    peakMb,
    ms,
  } = await heapPeak((sample) =>
    walkWorkspace(source(), {
      onProgress: (p) => {
        calls++;
        lastSeen = p.filesSeen;
        if ((calls & 1023) === 0) sample();
      },
    }),
  );
  console.log(
    `# ${REAL ? 'real files' : 'synthetic fs'}, default limits: ${w.candidates.length} read, ${w.excluded.length} + ${w.unlisted} excluded, ${lastSeen} files seen, ${ms.toFixed(0)} ms, heap peak +${peakMb.toFixed(1)} MB; ${w.stopped}`,
  );
  assert.equal(w.candidates.length, DEFAULT_LIMITS.maxFiles);
  assert.match(w.stopped ?? '', /^stopped after looking at 50000 files and folders \(limit\)$/);
  assert.ok(lastSeen < DEFAULT_LIMITS.maxEntries, 'folders count toward the limit too');
  assert.equal(w.excluded.length, DEFAULT_LIMITS.maxListedExclusions);
  assert.equal(w.candidates.length + w.excluded.length + w.unlisted, lastSeen, 'every file seen is read or excluded');
  assert.ok(calls === lastSeen && calls > 40_000, 'progress for every file');
  assert.ok(peakMb < 150, `heap grew ${peakMb.toFixed(1)} MB`);
});

test('100k files: with the entry limit raised, the time limit stops it; the whole tree fits in generous limits', async () => {
  // A slow disk (5 ms a folder listing: ≥ 5 s for the tree), so the 300 ms limit is what stops it.
  const t0 = performance.now();
  const t = await walkWorkspace(REAL ? source() : new SyntheticSource(5), { limits: { maxEntries: 1e9, maxMs: 300 } });
  assert.ok(performance.now() - t0 < 2000, 'stopped soon after the limit');
  assert.match(t.stopped ?? '', /^stopped after 300 ms \(time limit\), \d+ files and folders looked at$/);
  const {
    result: all,
    ms,
    peakMb,
  } = await heapPeak(async (sample) => {
    const r = await walkWorkspace(source(), { limits: { maxEntries: 1e9, maxMs: 600_000, maxFiles: 1e9 } });
    sample();
    return r;
  });
  console.log(
    `# whole tree: ${all.candidates.length} files read in ${ms.toFixed(0)} ms, heap +${peakMb.toFixed(1)} MB`,
  );
  assert.equal(all.stopped, undefined);
  assert.equal(all.candidates.length, DIRS * PER_DIR);
});

test('100k files: cancel stops the walk within one file; include globs narrow the read', async () => {
  const ac = new AbortController();
  let seen = 0;
  const t0 = performance.now();
  await assert.rejects(
    walkWorkspace(source(), {
      signal: ac.signal,
      onProgress: (p) => {
        seen = p.filesSeen;
        if (seen === 10_000) ac.abort();
      },
    }),
    WalkAbortedError,
  );
  assert.equal(seen, 10_000);
  console.log(`# cancelled after 10000 files, ${(performance.now() - t0).toFixed(0)} ms`);

  const w = await walkWorkspace(source(), { include: ['pkg000[0-4]/**', 'm7.ts'], limits: { maxEntries: 1e9 } });
  const paths = w.candidates.map((c) => c.path);
  assert.equal(paths.filter((p) => /^pkg000[0-4]\//.test(p)).length, 5 * PER_DIR);
  assert.equal(paths.filter((p) => p.endsWith('/m7.ts')).length, DIRS);
  assert.equal(paths.length, 5 * PER_DIR + DIRS - 5);
  assert.equal(w.excluded.length, 0, 'files outside the include globs are not listed as excluded');
});
