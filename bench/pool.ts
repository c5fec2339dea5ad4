// Parent side of the worker protocol: spawn `node dist/bench.js --worker <job file>` with an IPC
// channel, wait for it to load, send 'run'/'finish' commands one at a time, and turn crashes,
// timeouts and error messages into rejected promises with one readable line.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryStats, ParentMessage, RunResult, WorkerJob, WorkerMessage } from './protocol';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Pause between two workers' runs so the previous engine's spinning pool threads have parked. */
export const SWITCH_PAUSE_MS = 150;

const LOAD_TIMEOUT_MS = 240_000;
const RUN_TIMEOUT_MS = 240_000;

export class WorkerHandle {
  private pending:
    { resolve: (m: WorkerMessage) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private tail = '';
  private exited: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly label: string,
  ) {
    const keep = (d: Buffer): void => {
      this.tail = (this.tail + d.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('message', (m) => this.settle(m as WorkerMessage));
    child.on('error', (e) => this.fail(`could not start: ${e.message}`));
    child.on('exit', (code, signal) => {
      this.exited = signal ? `killed by ${signal}` : `exited with code ${code}`;
      this.fail(`worker ${this.exited}${this.lastLine() ? ` — ${this.lastLine()}` : ''}`);
    });
  }

  /**
   * Spawn a worker for `job` and wait until its engine is loaded. `loadMs` is the worker's own
   * import + load time; `startMs` the wall time from spawning the process to its 'ready'.
   */
  static async start(
    job: WorkerJob,
    label: string,
  ): Promise<{ worker: WorkerHandle; loadMs: number; startMs: number; info: Record<string, unknown> }> {
    // The job goes through a file: a long prompt as a command-line argument (≈ 50 KB for 8K
    // tokens) made the worker die with SIGSEGV while loading ONNX Runtime (measured, Node 20).
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-bench-job-'));
    const jobFile = path.join(dir, 'job.json');
    fs.writeFileSync(jobFile, JSON.stringify(job));
    const t0 = performance.now();
    const child = spawn(process.execPath, [__filename, '--worker', jobFile], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    const w = new WorkerHandle(child, label);
    try {
      const m = await w.wait(LOAD_TIMEOUT_MS, 'loading');
      if (m.type !== 'ready') throw new Error(`unexpected '${m.type}' message while loading`);
      return { worker: w, loadMs: m.loadMs, startMs: performance.now() - t0, info: m.info };
    } catch (e) {
      w.kill();
      throw e;
    }
  }

  /** One prefill + decode run; `timeoutMs` for long prompts (a long-context prefill takes minutes). */
  async run(decodeTokens: number, timeoutMs = RUN_TIMEOUT_MS): Promise<RunResult> {
    const m = await this.request({ cmd: 'run', decodeTokens }, timeoutMs, 'a run');
    if (m.type !== 'result') throw new Error(`unexpected '${m.type}' reply to run`);
    return m.result;
  }

  /** More decode steps continuing the last run. */
  async decode(decodeTokens: number): Promise<RunResult> {
    const m = await this.request({ cmd: 'decode', decodeTokens }, RUN_TIMEOUT_MS, 'decoding');
    if (m.type !== 'result') throw new Error(`unexpected '${m.type}' reply to decode`);
    return m.result;
  }

  /** Ask for the memory figures; the worker then disposes its engine and exits. */
  async finish(): Promise<MemoryStats> {
    const m = await this.request({ cmd: 'finish' }, 60_000, 'finishing');
    if (m.type !== 'finished') throw new Error(`unexpected '${m.type}' reply to finish`);
    setTimeout(() => this.kill(), 5000).unref(); // in case native threads keep it alive
    return m.memory;
  }

  kill(): void {
    if (this.exited === undefined && this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private request(msg: ParentMessage, timeoutMs: number, what: string): Promise<WorkerMessage> {
    if (this.exited) return Promise.reject(new Error(`worker ${this.exited}`));
    const p = this.wait(timeoutMs, what);
    this.child.send(msg);
    return p;
  }

  private wait(timeoutMs: number, what: string): Promise<WorkerMessage> {
    if (this.pending) throw new Error('one request at a time');
    return new Promise<WorkerMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(`timed out after ${Math.round(timeoutMs / 1000)} s ${what}`);
        this.kill();
      }, timeoutMs);
      this.pending = { resolve, reject, timer };
    });
  }

  private settle(m: WorkerMessage): void {
    if (m.type === 'error') return this.fail(m.message);
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.resolve(m);
  }

  private fail(message: string): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.reject(new Error(message));
  }

  private lastLine(): string {
    const lines = this.tail
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    return (lines[lines.length - 1] ?? '').slice(0, 200);
  }
}
