// The worker's long jobs besides chat generation: `summarize` (the one map-reduce summarizer,
// src/context/summarize.ts, on the loaded engine) and `calibrate` (src/engine/calibrate.ts on its
// own full-f32 engine; the profile is written to the file the host chose). Both report one-line
// progress and stop on the job's AbortSignal: a stopped summary still returns what was covered,
// a stopped calibration throws (half a measurement is no profile). A summary also posts throttled
// snapshots of its cache (session SUMMARY_SESSION: the visualizer and status bar stay live) and
// returns its last generation's stats, like a chat answer. Also `engineKV`: the settings'
// KV cache with a profile file resolved into per-KV-head blocks. Not here: the message channel (main.ts).
import { Engine } from '../engine/engine';
import { calibrate } from '../engine/calibrate';
import { GenerateStats } from '../engine/generate';
import { loadProfile, writeProfile } from '../engine/eval/profile';
import { KVSpec } from '../engine/kv/plan';
import { KVCache } from '../engine/kv/types';
import { summarizeTexts } from '../context/summarize';
import { FromWorker, KVSettings, SUMMARY_SESSION, ToWorker, WorkerStats } from './protocol';
import { toSnapshotWire } from './snapshot';

type Post = (m: FromWorker) => void;
type SummaryMessage = Extract<FromWorker, { type: 'summary' }>;

/** The engine's stats on the wire (KV bytes as an integer). */
export function wireStats(s: GenerateStats): WorkerStats {
  const { kvBytes, ...rest } = s;
  return { ...rest, kvBytes: Math.round(kvBytes) };
}

/** The engine's KV spec for the settings: a profile's blocks, S and R replace the uniform groups. */
export function engineKV(kv: KVSettings, modelPath: string): KVSpec {
  const { profile, ...spec } = kv;
  if (!profile || kv.kind !== 'pod') return spec;
  // anchors, sinks, recent (and whatever else the profile calibrated, e.g. a distant bias)
  const { profile: _file, kind: _kind, ...fromProfile } = loadProfile(profile, modelPath);
  const { groupSize: _uniform, ...rest } = spec;
  return { ...rest, ...fromProfile };
}

export async function runSummarize(
  engine: Engine,
  m: Extract<ToWorker, { type: 'summarize' }>,
  signal: AbortSignal,
  post: Post,
): Promise<void> {
  const every = m.snapshotEveryMs ?? 0;
  let lastSnap = 0;
  let last: SummaryMessage['last'];
  const snap = (cache: KVCache): void => {
    post({ type: 'snapshot', session: SUMMARY_SESSION, snapshot: toSnapshotWire(cache.snapshot()) });
    lastSnap = performance.now();
  };
  const r = await summarizeTexts(engine, m.docs, {
    maxTokens: m.maxTokens,
    sampler: m.sampler,
    subject: m.subject,
    signal,
    onProgress: (message) => post({ type: 'progress', id: m.id, message }),
    onEvent: (ev, cache) => {
      if (ev.type === 'done') {
        last = { reason: ev.reason, stats: wireStats(ev.stats), contextSize: engine.contextSize };
        snap(cache); // each step's final state, as a chat answer's
      } else if (every > 0 && performance.now() - lastSnap >= every) snap(cache);
    },
  });
  post({
    type: 'summary',
    id: m.id,
    summary: r.summary,
    note: r.note,
    parts: r.parts,
    partsDone: r.partsDone,
    rounds: r.rounds,
    complete: r.complete,
    inputTokens: r.inputTokens,
    covered: r.covered,
    ...(last ? { last } : {}),
  });
}

export async function runCalibrate(
  m: Extract<ToWorker, { type: 'calibrate' }>,
  signal: AbortSignal,
  post: Post,
): Promise<void> {
  const t0 = performance.now();
  let done = 0;
  const profile = await calibrate(m.model, m.texts, {
    contextSize: m.contextSize,
    threads: m.threads,
    signal,
    onProgress: (line) => {
      if (!line.startsWith('skip ')) done++;
      post({
        type: 'progress',
        id: m.id,
        message: `text ${Math.min(done, m.texts.length)} of ${m.texts.length}: ${line}`,
      });
    },
  });
  writeProfile(m.out, profile);
  post({
    type: 'calibrated',
    id: m.id,
    out: m.out,
    nonAnchorShare: profile.nonAnchorShare,
    texts: profile.texts,
    anchors: profile.anchors,
    seconds: (performance.now() - t0) / 1000,
  });
}
