// `npm run bench -- --session`: the workspace session on ~8K tokens of PodLens's own sources
// (a copy of src/ in a temp folder, SmolLM2-135M Q4_1, context 8192), for the full and the PoD
// cache: cold TTFT (whole prefix computed), follow-up TTFT (prefix reused), TTFT after a restart
// from the persisted state (new session and cache; the state file read, verified and imported),
// and the cost of an edit near the top of the last (active) file. Targets (issue 4): follow-up and
// restored TTFT ≤ 0.1× cold; the edit costs in proportion to that file's tokens. Prints a table,
// writes bench/results/session-<date>.json and .md under the machine header (machine.ts).
// Not a test: nothing is asserted.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../src/engine/engine';
import { KVSpec } from '../src/engine/kv/plan';
import { buildContext } from '../src/context/build';
import { NodeFileSource } from '../src/context/source';
import { PromptTokenizer } from '../src/context/prompt';
import { AskResult, PromptSession } from '../src/context/session';
import { FilePrefixStore } from '../src/context/store';
import { describeMachine, finishMachine, formatMachineHeader } from './machine';
import { ROOT } from './models';
import { RESULTS_DIR, writeReport } from './output';

const USAGE = `usage: npm run bench -- --session [--kv full,pod] [--threads N] [--budget N] [--active PATH]

  --kv full,pod    caches to measure                                   (default full,pod)
  --threads N      CPU threads                                         (default min(2, cores))
  --budget N       workspace tokens (copy of src/, oldest files first) (default 7600)
  --active PATH    file under src/ placed last and edited              (default context/session.ts)`;

interface Row {
  kind: string;
  phase: string;
  ttftMs: number;
  reused: number;
  computed: number;
  note?: string;
}

function opts(argv: readonly string[]): { kinds: string[]; threads?: number; budget: number; active: string } {
  const o = {
    kinds: ['full', 'pod'],
    threads: undefined as number | undefined,
    budget: 7600,
    active: 'context/session.ts',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!,
      v = argv[i + 1];
    if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
    if (a === '--kv') o.kinds = v.split(',');
    else if (a === '--threads') o.threads = Number(v);
    else if (a === '--budget') o.budget = Number(v);
    else if (a === '--active') o.active = v;
    else throw new Error(`unknown option ${a}\n${USAGE}`);
    i++;
  }
  return o;
}

async function measure(
  kind: string,
  o: ReturnType<typeof opts>,
  model: string,
): Promise<{ rows: Row[]; prefixTokens: number; fileTokens: number; stateBytes: number; restoreMs: number }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-bench-ws-'));
  fs.cpSync(path.join(ROOT, 'src'), work, { recursive: true, preserveTimestamps: true });
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-bench-kv-'));
  const engine = await Engine.load(model, { threads: o.threads, contextSize: 8192, kv: { kind } as KVSpec });
  const rows: Row[] = [];
  const row = (phase: string, r: AskResult, note?: string) => {
    const ttftMs = r.stats.ttftMs;
    rows.push({ kind, phase, ttftMs, reused: r.reused, computed: r.computed, note: note ?? r.how });
    console.log(
      `  ${kind.padEnd(5)} ${phase.padEnd(22)} TTFT ${ttftMs.toFixed(0).padStart(7)} ms   ${r.reused} reused, ${r.computed} computed (${note ?? r.how})`,
    );
  };
  try {
    const tokens = new PromptTokenizer(engine.tokenizer);
    const build = () =>
      buildContext(new NodeFileSource(work), {
        count: (t) => tokens.text(t).length,
        budgetTokens: o.budget,
        activeFile: o.active,
      });
    let ctx = await build();
    const last = ctx.blocks[ctx.blocks.length - 1]!;
    if (last.path !== o.active) throw new Error(`${o.active} did not fit the budget`);
    const store = await FilePrefixStore.open(engine, work, { dir: cacheDir });
    const history: { role: 'user' | 'assistant'; content: string }[] = [];
    const ask = async (s: PromptSession, q: string): Promise<AskResult> => {
      const r = await s.ask(
        { blocks: ctx.blocks, messages: [...history, { role: 'user', content: q }] },
        { maxTokens: 16, sampler: { temperature: 0 }, store },
      );
      history.push({ role: 'user', content: q }, { role: 'assistant', content: r.text.trim() });
      return r;
    };
    const s = new PromptSession(engine, tokens);
    row('cold', await ask(s, 'Which module keeps the KV cache between turns?'));
    row('follow-up', await ask(s, 'What does a new question prefill?'));
    const stateBytes = fs.statSync(store.file).size;

    // Restart: a new session and cache; the persisted state is read, verified and imported (part of the TTFT).
    const restoreLog: string[] = [];
    const s2 = new PromptSession(engine, new PromptTokenizer(engine.tokenizer), (l) => restoreLog.push(l));
    history.length = 0;
    const r3 = await ask(s2, 'Which module keeps the KV cache between turns?');
    if (r3.restoredTokens === 0) throw new Error(`restore failed: ${restoreLog.join('; ')}`);
    const restoreMs = Number(/, (\d+) ms$/.exec(restoreLog[0] ?? '')?.[1] ?? NaN);
    row('restart (persisted)', r3, `${r3.how}; restore ${restoreMs.toFixed(0)} ms`);

    // Edit near the top of the last file (worst case for that file: nearly all of it changes position).
    const f = path.join(work, o.active);
    const text = fs.readFileSync(f, 'utf8');
    const nl = text.indexOf('\n') + 1;
    fs.writeFileSync(f, `${text.slice(0, nl)}// edited by the session benchmark\n${text.slice(nl)}`);
    ctx = await build();
    const fileTokens = ctx.blocks[ctx.blocks.length - 1]!.tokens;
    const r4 = await ask(s2, 'What changed in the last file?');
    row('edit last file', r4, `file ${fileTokens} tokens`);
    return { rows, prefixTokens: r4.prefix, fileTokens, stateBytes, restoreMs };
  } finally {
    await engine.dispose();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

export async function sessionMain(argv: readonly string[]): Promise<number> {
  const o = opts(argv);
  const model = path.join(ROOT, 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');
  if (!fs.existsSync(model)) throw new Error(`${model} is missing: run scripts/fetch-models.sh`);
  const machine = describeMachine();
  console.log(`${formatMachineHeader(machine)}\n`);
  console.log(
    `session benchmark: SmolLM2-135M Q4_1, context 8192, workspace budget ${o.budget} tokens of src/, threads ${o.threads ?? 'default'}`,
  );
  const results = [];
  for (const kind of o.kinds) {
    const m = await measure(kind, o, model);
    const get = (p: string) => m.rows.find((r) => r.phase === p)!;
    const cold = get('cold').ttftMs;
    const summary = {
      kind,
      prefixTokens: m.prefixTokens,
      stateBytes: m.stateBytes,
      restoreMs: m.restoreMs,
      followUpOverCold: get('follow-up').ttftMs / cold,
      restoredOverCold: get('restart (persisted)').ttftMs / cold,
      editOverCold: get('edit last file').ttftMs / cold,
      editComputedOverFileTokens: get('edit last file').computed / m.fileTokens,
      fileTokens: m.fileTokens,
    };
    console.log(
      `  ${kind}: prefix ${m.prefixTokens} tokens, state file ${(m.stateBytes / 2 ** 20).toFixed(1)} MB; follow-up ${summary.followUpOverCold.toFixed(3)}× cold, restored ${summary.restoredOverCold.toFixed(3)}× cold (target ≤ 0.1), ` +
        `edit ${summary.editOverCold.toFixed(3)}× cold, computing ${get('edit last file').computed} tokens for a ${m.fileTokens}-token file`,
    );
    results.push({ ...summary, rows: m.rows });
  }
  finishMachine(machine);
  const date = new Date().toISOString();
  const out = path.join(RESULTS_DIR, `session-${date.replace(/[:.]/g, '-')}.json`);
  const md = [
    `SmolLM2-135M Q4_1, context 8192, workspace budget ${o.budget} tokens of src/, threads ${o.threads ?? 'default'} (target: follow-up and restored TTFT ≤ 0.1× cold).`,
    '',
    '| cache | phase | TTFT ms | reused | computed | note |',
    '|---|---|---|---|---|---|',
    ...results.flatMap((r) =>
      r.rows.map(
        (x) => `| ${x.kind} | ${x.phase} | ${x.ttftMs.toFixed(0)} | ${x.reused} | ${x.computed} | ${x.note ?? ''} |`,
      ),
    ),
    '',
    ...results.map(
      (r) =>
        `- ${r.kind}: follow-up ${r.followUpOverCold.toFixed(3)}× cold, restored ${r.restoredOverCold.toFixed(3)}× cold, edit ${r.editOverCold.toFixed(3)}× cold`,
    ),
  ].join('\n');
  const w = writeReport(out, `bench --session — ${date}`, machine, { date, cpus: os.cpus().length, results }, md);
  console.log(`results: ${path.relative(ROOT, w.json)} and ${path.basename(w.md)}`);
  return 0;
}
