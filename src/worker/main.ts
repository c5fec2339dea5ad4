// Entry point of the engine worker thread (bundled as dist/worker.js). It validates every message
// from the host, runs one job at a time on the engine (load → generate / count / reset /
// summarize; calibrate needs no loaded model: jobs.ts), streams generation events back, posts
// throttled KV-cache snapshots (chat sessions and summaries), forwards the sessions' log lines
// (persisted workspace states: src/context/session.ts), and answers `abort` immediately
// through the job's AbortController. Errors are posted as { name, message }; the host turns the
// name into advice. Not here: anything vscode, anything about panels.
import { parentPort } from 'node:worker_threads';
import { blockTokens } from '../context/session';
import { EngineSessions, newTurnInfo } from './sessions';
import { runCalibrate, runSummarize, wireStats } from './jobs';
import { FromWorker, parseToWorker, ToWorker } from './protocol';

const port = parentPort;
if (!port) throw new Error('src/worker/main.ts must run in a worker thread');

const post = (m: FromWorker): void => port.postMessage(m);
let engine: EngineSessions | null = null;
const aborts = new Map<number, AbortController>();
/** Aborts that arrived while their job was still queued. */
const abortedEarly = new Set<number>();
let queue: Promise<void> = Promise.resolve();

function errorOf(e: unknown): { name: string; message: string } {
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

/** Run an abortable job: its AbortController is found by `abort` messages while it runs. */
async function abortable(id: number, job: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const ac = new AbortController();
  aborts.set(id, ac);
  if (abortedEarly.delete(id)) ac.abort();
  try {
    await job(ac.signal);
  } finally {
    aborts.delete(id);
  }
}

function needEngine(): EngineSessions {
  if (!engine) throw Object.assign(new Error('no model is loaded'), { name: 'NoModelError' });
  return engine;
}

async function run(m: Exclude<ToWorker, { type: 'abort' }>): Promise<void> {
  switch (m.type) {
    case 'load': {
      if (engine) {
        await engine.dispose();
        engine = null;
      }
      engine = await EngineSessions.load(m.path, {
        threads: m.threads,
        contextSize: m.contextSize,
        kv: m.kv,
        log: (message) => post({ type: 'log', message }),
      });
      post({ type: 'loaded', id: m.id, info: engine.info });
      return;
    }
    case 'count':
      post({ type: 'counts', id: m.id, counts: needEngine().count(m.texts) });
      return;
    case 'reset':
      needEngine().reset(m.session);
      post({ type: 'ok', id: m.id });
      return;
    case 'summarize': {
      const e = needEngine();
      await abortable(m.id, (signal) => runSummarize(e.engine, m, signal, post));
      return;
    }
    case 'calibrate':
      await abortable(m.id, (signal) => runCalibrate(m, signal, post));
      return;
    case 'generate':
      await abortable(m.id, (signal) => generate(m, signal));
      return;
  }
}

async function generate(m: Extract<ToWorker, { type: 'generate' }>, signal: AbortSignal): Promise<void> {
  const e = needEngine();
  const info = newTurnInfo();
  let lastSnap = 0;
  const snap = (): void => {
    const s = e.snapshot(m.session);
    if (s) post({ type: 'snapshot', session: m.session, snapshot: s });
    lastSnap = performance.now();
  };
  const stream = e.generate(
    {
      session: m.session,
      system: m.system,
      blocks: m.blocks,
      messages: m.messages,
      maxTokens: m.maxTokens,
      sampler: m.sampler,
      stop: m.stop,
      trimToFit: m.trimToFit,
      signal,
      ...(m.persist ? { persist: m.persist } : {}),
    },
    info,
  );
  for await (const ev of stream) {
    if (ev.type === 'prefill') post({ type: 'prefill', id: m.id, done: ev.done, total: ev.total });
    else if (ev.type === 'token' || ev.type === 'text') {
      if (ev.text) post({ type: 'delta', id: m.id, text: ev.text });
    } else {
      snap();
      post({
        type: 'done',
        id: m.id,
        reason: ev.reason,
        text: ev.text,
        stats: wireStats(ev.stats),
        droppedMessages: info.droppedMessages,
        contextSize: e.info.contextSize,
        ...(info.restoredTokens ? { restoredTokens: info.restoredTokens } : {}),
        ...(info.starts.length > 0 ? { blockTokens: blockTokens(info) } : {}),
      });
      continue;
    }
    if (m.snapshotEveryMs > 0 && performance.now() - lastSnap >= m.snapshotEveryMs) snap();
  }
}

port.on('message', (raw: unknown) => {
  const parsed = parseToWorker(raw);
  if (!parsed.ok) {
    // With the request's id when it has one, so the host's call fails instead of waiting forever.
    const rid = (raw as { id?: unknown } | null)?.id;
    const id = typeof rid === 'number' && Number.isInteger(rid) && rid >= 0 ? rid : null;
    post({ type: 'error', id, name: 'ProtocolError', message: `malformed message rejected: ${parsed.error}` });
    return;
  }
  const m = parsed.value;
  if (m.type === 'abort') {
    const ac = aborts.get(m.id);
    if (ac) ac.abort();
    else abortedEarly.add(m.id);
    return;
  }
  queue = queue.then(() => run(m)).catch((e: unknown) => post({ type: 'error', id: m.id, ...errorOf(e) }));
});
