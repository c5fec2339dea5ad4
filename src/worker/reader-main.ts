// Entry point of the reader worker thread (bundled as dist/reader.js): the work that used to block
// the extension host's thread, moved off it. `probe`: a GGUF file's header check for model
// discovery (gguf-probe.ts). `read`: a workspace folder walked, decoded, filtered and counted with
// the model's tokenizer (src/context/read.ts on the disk), posting throttled progress; `abort`
// stops a read within one file (the count loop yields to this thread's event loop every ~20 ms so
// the message gets through; the AbortError says how many files were counted after the host sent it). The tokenizer is built from the GGUF file once and kept while the
// file is unchanged, with the token counts of the blocks it already counted (by content hash), so
// reading the workspace again after an edit re-tokenizes only what changed. Jobs are independent
// (a probe can run while a read waits for the disk); an abort or a failure ends only its own job.
// Not here: vscode, the engine (no ONNX Runtime is loaded in this thread).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { ReadAbortedError, readWorkspace } from '../context/read';
import { NodeFileSource } from '../context/source';
import { GGUFFile } from '../engine/gguf/file';
import { Tokenizer } from '../engine/tokenizer';
import { checkGGUF } from './gguf-probe';
import { FromReader, parseToReader, ToReader } from './reader-protocol';

const port = parentPort;
if (!port) throw new Error('src/worker/reader-main.ts must run in a worker thread');

const post = (m: FromReader): void => port.postMessage(m);
/** A running read: its AbortController, when each file's count ended, and when the host sent its abort (Date.now()). */
interface Job {
  ac: AbortController;
  doneAt: number[];
  sentAt?: number;
}
const aborts = new Map<number, Job>();
/** Aborts that arrived before their read started. */
const abortedEarly = new Set<number>();
/** Counts kept per tokenizer at most (then forgotten all at once). */
const MAX_CACHED_COUNTS = 200_000;
/** Longest stretch of synchronous counting before the thread looks at its messages. */
const YIELD_MS = 20;

let cached: { key: string; tokenizer: Tokenizer; counts: Map<string, number> } | null = null;

/** The model's tokenizer, built once per file version; `ms` is the build time (0 when cached). */
function tokenizerFor(model: string): { tokenizer: Tokenizer; counts: Map<string, number>; ms: number } {
  const st = fs.statSync(model);
  const key = `${model}\0${st.size}\0${st.mtimeMs}`;
  if (cached?.key === key) return { ...cached, ms: 0 };
  cached = null; // the old vocabulary can go before the new one is built
  const t0 = performance.now();
  const f = GGUFFile.open(model);
  let tokenizer: Tokenizer;
  try {
    tokenizer = Tokenizer.fromGGUF(f);
  } finally {
    f.close();
  }
  cached = { key, tokenizer, counts: new Map() };
  return { ...cached, ms: performance.now() - t0 };
}

const heapUsed = (): number => getHeapStatistics().used_heap_size;

/** Tokens of one text, as the engine counts them (src/worker/sessions.ts `count`: no BOS, special-token text is plain text); remembered by content. */
function countOne(tok: { tokenizer: Tokenizer; counts: Map<string, number> }, t: string): number {
  if (t.length === 0) return 0;
  const h = createHash('sha1').update(t).digest('base64');
  const known = tok.counts.get(h);
  if (known !== undefined) return known;
  const n = tok.tokenizer.encode(t, { addBos: false, parseSpecial: false }).length;
  if (tok.counts.size >= MAX_CACHED_COUNTS) tok.counts.clear();
  tok.counts.set(h, n);
  return n;
}

async function read(m: Extract<ToReader, { type: 'read' }>, job: Job): Promise<void> {
  const signal = job.ac.signal;
  let peakHeap = heapUsed();
  const sample = (): void => {
    peakHeap = Math.max(peakHeap, heapUsed());
  };
  const tok = m.model !== undefined ? tokenizerFor(m.model) : undefined;
  sample();
  let lastYield = performance.now();
  const count = tok
    ? (texts: string[]): number[] =>
        texts.map((t) => {
          const n = countOne(tok, t);
          job.doneAt.push(Date.now());
          return n;
        })
    : undefined;
  const result = await readWorkspace(new NodeFileSource(m.root), {
    ...(m.limits ? { limits: m.limits } : {}),
    ...(m.ignore !== undefined ? { ignore: m.ignore } : {}),
    ...(m.include ? { include: m.include } : {}),
    signal,
    ...(count ? { count } : {}),
    ...(m.budgetTokens !== undefined ? { budgetTokens: m.budgetTokens } : {}),
    ...(m.keepTexts ? { keepTexts: m.keepTexts } : {}),
    progressEveryMs: m.progressEveryMs ?? 100,
    onProgress: (progress) => {
      sample();
      post({ type: 'progress', id: m.id, progress });
    },
    breathe: async () => {
      sample();
      if (performance.now() - lastYield < YIELD_MS) return;
      await new Promise((r) => setImmediate(r));
      lastYield = performance.now();
    },
  });
  sample();
  post({
    type: 'read',
    id: m.id,
    result,
    memory: { peakHeapBytes: peakHeap, maxRssBytes: process.resourceUsage().maxRSS * 1024, tokenizerMs: tok?.ms ?? 0 },
  });
}

function errorOf(e: unknown): { name: string; message: string } {
  if (e instanceof ReadAbortedError) return { name: 'AbortError', message: e.message };
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

port.on('message', (raw: unknown) => {
  const parsed = parseToReader(raw);
  const rid = (raw as { id?: unknown } | null)?.id;
  if (!parsed.ok) {
    // With the request's id when it has one, so the host's call fails instead of waiting forever.
    const id = typeof rid === 'number' && Number.isInteger(rid) && rid >= 0 ? rid : 0;
    post({ type: 'error', id, name: 'ProtocolError', message: `malformed message rejected: ${parsed.error}` });
    return;
  }
  const m = parsed.value;
  switch (m.type) {
    case 'abort': {
      const job = aborts.get(m.id);
      if (!job) {
        abortedEarly.add(m.id);
        return;
      }
      job.sentAt ??= m.sentAt;
      job.ac.abort();
      return;
    }
    case 'probe':
      post({ type: 'probed', id: m.id, ...checkGGUF(m.file) });
      return;
    case 'read': {
      const job: Job = { ac: new AbortController(), doneAt: [] };
      aborts.set(m.id, job);
      if (abortedEarly.delete(m.id)) job.ac.abort();
      void read(m, job)
        .catch((e: unknown) => {
          const err = errorOf(e);
          // How promptly it stopped, for the log and the tests: files whose count ended after the host sent the abort.
          const at = job.sentAt;
          if (err.name === 'AbortError' && at !== undefined)
            err.message += ` (${job.doneAt.filter((t) => t > at).length} files counted after the request was sent)`;
          post({ type: 'error', id: m.id, ...err });
        })
        .finally(() => aborts.delete(m.id));
    }
  }
});
