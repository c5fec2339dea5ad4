// Result types, medians and the printed table.
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
  loadMs?: number;
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
  model: { key: string; name: string; type: string; synthetic: boolean; path: string; fileBytes: number };
  threads: number;
  engines: EngineResult[];
  /** PodLens ÷ llama.cpp (speed: > 1 means PodLens is faster; RSS: > 1 means PodLens uses more). */
  ratios?: { prefill?: number; decode?: number; peakRss?: number };
  /** Mean CPU cores used by other processes during this cell's measured runs. */
  otherCores?: number;
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

export function computeRatios(c: CellResult): void {
  const p = c.engines.find((e) => e.engine === 'podlens');
  const l = c.engines.find((e) => e.engine === 'llamacpp');
  if (!p || !l) return;
  const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b ? a / b : undefined);
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
  const header = ['model', 'type', 'thr', 'engine', 'prefill tok/s', 'decode tok/s', 'peak RSS MB', 'end RSS MB', 'load s', 'greedy'];
  const rows: string[][] = [];
  const num = (x: number | undefined, digits = 1): string => (x === undefined ? '—' : x.toFixed(digits));
  const withSpread = (x: number | undefined, s: number | undefined): string =>
    (x === undefined ? '—' : `${x.toFixed(1)}${s === undefined ? '' : s > 99 ? ' ±>99%' : ` ±${s.toFixed(0)}%`}`);
  const mb = (b: number | undefined): string => (b === undefined ? '—' : (b / 2 ** 20).toFixed(0));
  for (const c of cells) {
    c.engines.forEach((e, i) => {
      rows.push([
        i === 0 ? c.model.name : '', i === 0 ? c.model.type : '', i === 0 ? String(c.threads) : '',
        ENGINE_LABEL[e.engine] + (e.ok ? '' : ' ✗') + (e.runs.some((r) => r.otherCores > NOISY_CORES) ? ' *' : ''),
        withSpread(e.prefillTokensPerSecond, spread(e.runs.map((r) => r.prefillTokensPerSecond))),
        withSpread(e.decodeTokensPerSecond, spread(e.runs.map((r) => r.decodeTokensPerSecond))),
        mb(e.memory?.peakRss), mb(e.memory?.rss),
        e.loadMs === undefined ? '—' : (e.loadMs / 1000).toFixed(1),
        '',
      ]);
    });
    if (c.ratios) {
      const x = (r: number | undefined): string => (r === undefined ? '—' : `${num(r, 2)}×`);
      const g = c.greedyAgreement ? `${c.greedyAgreement.common}/${c.greedyAgreement.of}` : '—';
      rows.push(['', '', '', 'PodLens/llama', x(c.ratios.prefill), x(c.ratios.decode), x(c.ratios.peakRss), '', '', g]);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = (i: number): boolean => i >= 4;
  const line = (r: string[]): string => r.map((v, i) => (numeric(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
