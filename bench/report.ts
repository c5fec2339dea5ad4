// Result types, medians, and the engine bench's tables: the terminal table and its markdown form
// (one row per model × threads, both engines and their ratios side by side). The machine header
// above them comes from machine.ts. Not for running engines (bench.ts, pool.ts, worker.ts).
import { EngineName, MemoryStats, RunResult } from './protocol';

export interface RunSample {
  prefillMs: number;
  decodeMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  /** CPU cores the engine kept busy during the run (CPU time ÷ wall time). */
  engineCores: number;
  /** CPU cores other processes on the machine used during the run (contention: this VM is shared). */
  otherCores: number;
  /** Time spent waiting for other processes to go quiet before the run (--settle). */
  settleMs?: number;
}

export interface EngineResult {
  engine: EngineName;
  ok: boolean;
  /** One line, when the worker failed (results measured before the failure are kept). */
  error?: string;
  /** The worker's own import + model load time. */
  loadMs?: number;
  /** Wall time from spawning the worker process to its engine being loaded. */
  startMs?: number;
  /** startMs + the first (cold) prefill: process start to the first token of the prompt's answer. */
  firstTokenMs?: number;
  info?: Record<string, unknown>;
  runs: RunSample[];
  /** Medians over `runs`. */
  prefillTokensPerSecond?: number;
  decodeTokensPerSecond?: number;
  memory?: MemoryStats;
  /** Greedy ids of the first measured run (for the agreement check). */
  ids?: number[];
}

export interface CellResult {
  model: {
    key: string;
    name: string;
    type: string;
    synthetic: boolean;
    path: string;
    fileBytes: number;
    /** GGUF bytes of the matmul weights one decoded token reads (llama.cpp reads them in place). */
    decodeWeightBytes: number;
  };
  threads: number;
  engines: EngineResult[];
  /** PodLens ÷ llama.cpp (speed: > 1 means PodLens is faster; RSS: > 1 means PodLens uses more). */
  ratios?: { prefill?: number; decode?: number; peakRss?: number };
  /** Mean CPU cores used by other processes during this cell's measured runs. */
  otherCores?: number;
  /** 1/5/15-minute load average when this cell started. */
  loadAverage?: number[];
  /** Leading greedy ids (of decode + 1) on which both engines agree. */
  greedyAgreement?: { common: number; of: number };
}

export function sample(r: RunResult, promptTokens: number, otherCores: number): RunSample {
  return {
    prefillMs: r.prefillMs,
    decodeMs: r.decodeMs,
    prefillTokensPerSecond: (promptTokens / r.prefillMs) * 1000,
    decodeTokensPerSecond: (r.decodeTokens / r.decodeMs) * 1000,
    engineCores: r.cpuMs / (r.prefillMs + r.decodeMs),
    otherCores,
  };
}

export function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1]! + s[m]!) / 2;
}

/** Half the min–max range relative to the median, in percent (a rough noise figure). */
export function spread(xs: readonly number[]): number | undefined {
  const m = median(xs);
  if (m === undefined || xs.length < 2 || m === 0) return undefined;
  return ((Math.max(...xs) - Math.min(...xs)) / 2 / m) * 100;
}

export function summarize(e: EngineResult): void {
  e.prefillTokensPerSecond = median(e.runs.map((r) => r.prefillTokensPerSecond));
  e.decodeTokensPerSecond = median(e.runs.map((r) => r.decodeTokensPerSecond));
}

const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a !== undefined && b ? a / b : undefined;
const secs = (ms: number | undefined): string => (ms === undefined ? '—' : (ms / 1000).toFixed(1));

export function computeRatios(c: CellResult): void {
  const p = c.engines.find((e) => e.engine === 'podlens');
  const l = c.engines.find((e) => e.engine === 'llamacpp');
  if (!p || !l) return;
  c.ratios = {
    prefill: ratio(p.prefillTokensPerSecond, l.prefillTokensPerSecond),
    decode: ratio(p.decodeTokensPerSecond, l.decodeTokensPerSecond),
    peakRss: ratio(p.memory?.peakRss, l.memory?.peakRss),
  };
  if (p.ids && l.ids) {
    let n = 0;
    while (n < p.ids.length && n < l.ids.length && p.ids[n] === l.ids[n]) n++;
    c.greedyAgreement = { common: n, of: Math.min(p.ids.length, l.ids.length) };
  }
}

/** A run during which other processes used more than this many cores is marked noisy (*). */
export const NOISY_CORES = 0.25;

const ENGINE_LABEL: Record<EngineName, string> = { podlens: 'PodLens', llamacpp: 'llama.cpp' };

export function formatTable(cells: readonly CellResult[]): string {
  const header = [
    'model',
    'type',
    'thr',
    'engine',
    'prefill tok/s',
    'decode tok/s',
    'peak RSS MB',
    'end RSS MB',
    'start s',
    '1st tok s',
    'greedy',
  ];
  const rows: string[][] = [];
  const num = (x: number | undefined, digits = 1): string => (x === undefined ? '—' : x.toFixed(digits));
  const withSpread = (x: number | undefined, s: number | undefined): string =>
    x === undefined ? '—' : `${x.toFixed(1)}${s === undefined ? '' : s > 99 ? ' ±>99%' : ` ±${s.toFixed(0)}%`}`;
  const mb = (b: number | undefined): string => (b === undefined ? '—' : (b / 2 ** 20).toFixed(0));
  for (const c of cells) {
    const p = c.engines.find((e) => e.engine === 'podlens'),
      l = c.engines.find((e) => e.engine === 'llamacpp');
    c.engines.forEach((e, i) => {
      rows.push([
        i === 0 ? c.model.name : '',
        i === 0 ? c.model.type : '',
        i === 0 ? String(c.threads) : '',
        ENGINE_LABEL[e.engine] + (e.ok ? '' : ' ✗') + (e.runs.some((r) => r.otherCores > NOISY_CORES) ? ' *' : ''),
        withSpread(e.prefillTokensPerSecond, spread(e.runs.map((r) => r.prefillTokensPerSecond))),
        withSpread(e.decodeTokensPerSecond, spread(e.runs.map((r) => r.decodeTokensPerSecond))),
        mb(e.memory?.peakRss),
        mb(e.memory?.rss),
        secs(e.startMs),
        secs(e.firstTokenMs),
        '',
      ]);
    });
    if (c.ratios) {
      const x = (r: number | undefined): string => (r === undefined ? '—' : `${num(r, 2)}×`);
      const g = c.greedyAgreement ? `${c.greedyAgreement.common}/${c.greedyAgreement.of}` : '—';
      rows.push([
        '',
        '',
        '',
        'PodLens/llama',
        x(c.ratios.prefill),
        x(c.ratios.decode),
        x(c.ratios.peakRss),
        '',
        x(ratio(p?.startMs, l?.startMs)),
        x(ratio(p?.firstTokenMs, l?.firstTokenMs)),
        g,
      ]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = (i: number): boolean => i >= 4;
  const line = (r: string[]): string =>
    r
      .map((v, i) => (numeric(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The cells as a markdown table: one row per model × threads, PodLens / llama.cpp and their ratio. */
export function formatMarkdown(cells: readonly CellResult[]): string {
  const out = [
    "| model | type | threads | prefill tok/s PodLens / llama.cpp (×) | decode tok/s PodLens / llama.cpp (×) | peak RSS MB PodLens / llama.cpp (×) | start s | first token s | greedy | others' cores | load avg |",
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const n = (x: number | undefined, d: number): string => (x === undefined ? '—' : x.toFixed(d));
  const x = (r: number | undefined): string => (r === undefined ? '' : ` (**${r.toFixed(2)}×**)`);
  for (const c of cells) {
    const p = c.engines.find((e) => e.engine === 'podlens'),
      l = c.engines.find((e) => e.engine === 'llamacpp');
    const star = (e: EngineResult | undefined): string =>
      e?.runs.some((r) => r.otherCores > NOISY_CORES) ? '\\*' : '';
    const pair = (f: (e: EngineResult) => number | undefined, d: number, r?: number): string =>
      `${n(p && f(p), d)}${star(p)} / ${n(l && f(l), d)}${star(l)}${x(r)}`;
    const mb = (e: EngineResult): number | undefined => (e.memory ? e.memory.peakRss / 2 ** 20 : undefined);
    const s = (f: (e: EngineResult) => number | undefined): string => `${secs(p && f(p))} / ${secs(l && f(l))}`;
    out.push(
      `| ${c.model.name} | ${c.model.type} | ${c.threads} | ${pair((e) => e.prefillTokensPerSecond, 1, c.ratios?.prefill)} | ` +
        `${pair((e) => e.decodeTokensPerSecond, 1, c.ratios?.decode)} | ${pair(mb, 0, c.ratios?.peakRss)} | ` +
        `${s((e) => e.startMs)} | ${s((e) => e.firstTokenMs)} | ${c.greedyAgreement ? `${c.greedyAgreement.common}/${c.greedyAgreement.of}` : '—'} | ` +
        `${n(c.otherCores, 2)} | ${c.loadAverage ? c.loadAverage.map((v) => v.toFixed(2)).join(' ') : '—'} |`,
    );
  }
  return out.join('\n');
}

/** What one decoded token reads in each engine: a bandwidth-bound decode ratio tends to the inverse. */
export function weightBytesNote(packedBytes: number, ggufBytes: number): string {
  const r = packedBytes / ggufBytes;
  return (
    `a decoded token reads ${(packedBytes / 2 ** 20).toFixed(0)} MB of packed weights in PodLens, ` +
    `${(ggufBytes / 2 ** 20).toFixed(0)} MB of GGUF weights in llama.cpp (${r.toFixed(2)}×; a bandwidth-bound decode ratio tends to ${(1 / r).toFixed(2)}×).`
  );
}
