// Writes one bench report into bench/results/ as two files side by side: <stem>.json (the machine
// description first, then the mode's own data) and <stem>.md (the machine header first, then the
// mode's markdown). Every bench mode writes through here so no report lacks its machine.
// Not for formatting tables (report.ts, long.ts, session.ts) or describing the machine (machine.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MachineInfo, machineMarkdown } from './machine';

export const RESULTS_DIR = path.resolve(__dirname, '..', 'bench', 'results');

/** Local date-time for file names: 2026-12-05_101814. */
export function stamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/**
 * Write `jsonPath` and the markdown beside it (same name, .md). `data` must not have its own
 * `machine` key. Returns the two paths written.
 */
export function writeReport(
  jsonPath: string,
  title: string,
  machine: MachineInfo,
  data: object,
  markdownBody: string,
): { json: string; md: string } {
  const md = jsonPath.replace(/\.json$/i, '') + '.md';
  fs.mkdirSync(path.dirname(jsonPath), { recursive: true });
  fs.writeFileSync(jsonPath, JSON.stringify({ machine, ...data }, null, 2) + '\n');
  fs.writeFileSync(md, `# ${title}\n\n${machineMarkdown(machine)}\n\n${markdownBody.trim()}\n`);
  return { json: jsonPath, md };
}
