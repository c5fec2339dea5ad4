// Bench (issue 5 item 2): event-loop delay of the REAL extension host (code-server) while PodLens
// generates. Run by `npm run bench:ext-host-lag` (e2e/run.sh --bench-lag), not by CI: only files
// named *.bench.cjs, selected by PODLENS_E2E_SUITE=bench. With the chat and the cache visualizer
// open (so every token is also posted to a real webview and snapshots are drawn), it asks a
// question with a long prompt (prefill) and a 200-token answer (decode) through the chat session,
// sampling the host's event loop with perf_hooks.monitorEventLoopDelay (10 ms resolution; lag =
// interval − 10 ms) over the whole answer, after an idle baseline. Writes the numbers to $PODLENS_E2E_BENCH_OUT and prints
// them; the target (p99 ≤ 50 ms) is reported, not asserted (timings are not test assertions).
/* global suite, test */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const vscode = require('vscode');

const TARGET_P99_MS = 50;
const RESOLUTION_MS = 10;
const ms = (ns) => Math.round(ns / 1e4) / 100;
/** The histogram records the interval between its 10 ms timer ticks; the lag is what exceeds 10 ms. */
const lag = (ns) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);
const sleep = (t) => new Promise((r) => setTimeout(r, t));

async function until(what, cond, limit = 120000) {
  const end = Date.now() + limit;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function measure(h) {
  return {
    p50: lag(h.percentile(50)),
    p90: lag(h.percentile(90)),
    p99: lag(h.percentile(99)),
    max: lag(h.max),
    mean: lag(h.mean),
    samples: h.count,
    rawP99IntervalMs: ms(h.percentile(99)),
  };
}

suite('extension-host event-loop lag while generating', () => {
  test('p99 of the event-loop delay during prefill and decode', async () => {
    const ext = vscode.extensions.getExtension('podlens.podlens');
    assert.ok(ext);
    await vscode.commands.executeCommand('podlens.openChat');
    await vscode.commands.executeCommand('podlens.openVisualizer');
    await until('activation', () => ext.isActive);
    const api = ext.exports;
    // PODLENS_E2E_BENCH_THREADS=N overrides podlens.engine.threads (the fixture says 2).
    const threads = Number(process.env.PODLENS_E2E_BENCH_THREADS || 0);
    if (threads > 0)
      await vscode.workspace
        .getConfiguration('podlens')
        .update('engine.threads', threads, vscode.ConfigurationTarget.Workspace);
    await api.core.model.ensureLoaded();
    await api.chat.session.ask('Say hello.'); // warm-up: graph, arenas, webview

    const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    h.enable();
    await sleep(3000);
    h.disable();
    const idle = measure(h);

    const text = fs.readFileSync(require.resolve('../fixture/src/predict.ts'), 'utf8').slice(0, 2400);
    const question = `Here is a file:\n\n${text}\n\nExplain what it does, step by step, in detail.`;
    h.reset();
    h.enable();
    const t0 = performance.now();
    const r = await api.chat.session.ask(question);
    const wall = performance.now() - t0;
    h.disable();
    const busy = measure(h);
    const s = r.stats || {};
    const result = {
      vscode: vscode.version,
      node: process.version,
      kv: api.core.client.info && api.core.client.info.kv,
      threads: vscode.workspace.getConfiguration('podlens').get('engine.threads'),
      cpus: os.cpus().length,
      loadAverage1m: os.loadavg()[0], // other processes' load skews the numbers: report it
      idle,
      generating: busy,
      targetP99Ms: TARGET_P99_MS,
      withinTarget: busy.p99 <= TARGET_P99_MS,
      promptTokens: s.promptTokens,
      reusedTokens: s.reusedTokens,
      generatedTokens: s.generatedTokens,
      prefillTokensPerSecond: s.prefillTokensPerSecond,
      decodeTokensPerSecond: s.decodeTokensPerSecond,
      wallMs: Math.round(wall),
    };
    console.log(
      `ext-host event-loop lag while generating (${s.promptTokens} prompt + ${s.generatedTokens} generated tokens, ${Math.round(wall)} ms): ` +
        `p50 ${busy.p50} ms, p99 ${busy.p99} ms, max ${busy.max} ms (idle p99 ${idle.p99} ms); target p99 ≤ ${TARGET_P99_MS} ms: ${result.withinTarget ? 'met' : 'NOT met'}; load average ${result.loadAverage1m.toFixed(1)} on ${result.cpus} CPUs`,
    );
    if (process.env.PODLENS_E2E_BENCH_OUT)
      fs.writeFileSync(process.env.PODLENS_E2E_BENCH_OUT, `${JSON.stringify(result, null, 2)}\n`);
    assert.equal(r.status, 'done');
    assert.ok(s.generatedTokens >= 16, `${s.generatedTokens} tokens: too short an answer to measure`);
    assert.ok(busy.samples > 50);
  });
});
