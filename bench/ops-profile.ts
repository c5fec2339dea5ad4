// Reads ONNX Runtime profile files (the JSON `enableProfiling` writes, one per session) and sums
// kernel time per graph node group for the last measured run: its prefill runs and its decode
// runs apart. A group is a node's name without its layer number ("gate_up_17" → "gate_up",
// "down_3.corr" → "down.corr"), so one row covers that node in every layer; nodes ORT named
// itself (fusions, unnamed ops) group by operator. Time between kernels inside a run (the
// executor allocating and scheduling) is reported as its own figure. Used by `npm run bench -- --ops`.
import * as fs from 'node:fs';

export interface ProfileEvent {
  cat?: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

export interface OpRow {
  /** Node name without layer numbers, or the operator when ORT named the node. */
  group: string;
  op: string;
  /** Kernel time summed over the phase's runs (ms). */
  ms: number;
  /** Nodes of this group in one run (layers × segments). */
  nodes: number;
}

export interface PhaseProfile {
  runs: number;
  /** Wall time of the runs as ORT measured them (ms). */
  runMs: number;
  /** Sum of kernel times (ms); runMs − kernelMs is spent between kernels. */
  kernelMs: number;
  /** Slowest first. */
  rows: OpRow[];
}

const KERNEL = '_kernel_time';

/** "gate_up_17" → "gate_up", "down_3.corr" → "down.corr"; undefined for names ORT made up. */
export function nodeGroup(node: string): string | undefined {
  if (node.includes('/') || /^[A-Z]/.test(node)) return undefined;
  return node.replace(/_\d+(?=$|\.)/g, '');
}

export function readProfile(file: string): ProfileEvent[] {
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(data)) throw new Error(`${file}: not an ONNX Runtime profile (expected a JSON array of events)`);
  return data as ProfileEvent[];
}

/**
 * Split one session's events into the last `prefillRuns + decodeRuns` runs (the measured run: its
 * prefill steps, then its decode steps) and sum each phase. Earlier runs (warm-up) are ignored.
 */
export function summarizeSession(
  events: readonly ProfileEvent[],
  prefillRuns: number,
  decodeRuns: number,
): { prefill: PhaseProfile; decode: PhaseProfile } {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  if (runs.length < prefillRuns + decodeRuns)
    throw new Error(`profile has ${runs.length} runs, fewer than the ${prefillRuns + decodeRuns} measured`);
  const measured = runs.slice(runs.length - prefillRuns - decodeRuns);
  const kernels = events.filter((e) => e.cat === 'Node' && e.name.endsWith(KERNEL)).sort((a, b) => a.ts - b.ts);
  const phase = (rs: readonly ProfileEvent[]): PhaseProfile => {
    const rows = new RowTable();
    let kernelMs = 0;
    for (const [i, r] of rs.entries()) {
      for (const k of kernels) {
        if (k.ts < r.ts || k.ts + k.dur > r.ts + r.dur) continue;
        const op = k.args?.op_name ?? '?';
        rows.add(nodeGroup(k.name.slice(0, -KERNEL.length)) ?? op, op, k.dur / 1000, i === 0 ? 1 : 0);
        kernelMs += k.dur / 1000;
      }
    }
    return { runs: rs.length, runMs: rs.reduce((s, r) => s + r.dur / 1000, 0), kernelMs, rows: rows.sorted() };
  };
  return { prefill: phase(measured.slice(0, prefillRuns)), decode: phase(measured.slice(prefillRuns)) };
}

/** Several sessions (a model split into decoder segments) run one after another per step: add them up. */
export function mergePhases(parts: readonly PhaseProfile[]): PhaseProfile {
  const rows = new RowTable();
  for (const p of parts) for (const r of p.rows) rows.add(r.group, r.op, r.ms, r.nodes);
  return {
    runs: Math.max(0, ...parts.map((p) => p.runs)),
    runMs: parts.reduce((s, p) => s + p.runMs, 0),
    kernelMs: parts.reduce((s, p) => s + p.kernelMs, 0),
    rows: rows.sorted(),
  };
}

/** Rows keyed by (operator, group), summed. */
class RowTable {
  private readonly rows = new Map<string, OpRow>();

  add(group: string, op: string, ms: number, nodes: number): void {
    const key = `${op}\u0000${group}`;
    const row = this.rows.get(key) ?? { group, op, ms: 0, nodes: 0 };
    row.ms += ms;
    row.nodes += nodes;
    this.rows.set(key, row);
  }

  /** Slowest first. */
  sorted(): OpRow[] {
    return [...this.rows.values()].sort((a, b) => b.ms - a.ms);
  }
}
