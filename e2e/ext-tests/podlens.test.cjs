// PodLens inside the real extension host (code-server's Node 24 extension host, native
// onnxruntime-node addon and the engine worker thread included). The workspace is a copy of
// e2e/fixture plus a vendored source tree (e2e/run.sh add_vendor). Its .vscode/settings.json sets
// only engine threads and short greedy answers: the model is the extension's development model
// (podlens.model.path empty → models/qwen2.5-coder-0.5b-instruct.gguf in the extension folder,
// the file $PODLENS_E2E_MODEL names), the KV cache is the default `auto` (→ PoD with the profile
// shipped beside the model) and the context size the automatic one. The expected shape comes from
// the GGUF header (e2e/gguf-shape.cjs), the expected cache from the shipped profile
// (e2e/pod-view.cjs). The @podlens participant is asked about a fact only the fixture holds
// (e2e/answer.cjs) and must name it, with that fact among the PoD cache's distant tokens.
/* global suite, test, suiteSetup */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const { ggufShape } = require('../gguf-shape.cjs');
const { QUESTION, FACT_FILE, fixtureFact, checkAnswer, degenerate } = require('../answer.cjs');
const { shippedProfilePath, readProfile, checkPodView } = require('../pod-view.cjs');

const ID = 'podlens.podlens';
let ext;
let api;

const MODEL = process.env.PODLENS_E2E_MODEL || '';
// Layers, KV heads, head dim of the model under test (Qwen2.5-Coder-0.5B: 24, 2, 64).
const SHAPE = MODEL ? ggufShape(MODEL) : null;
const PROFILE_FILE = MODEL ? shippedProfilePath(MODEL) : '';

async function until(what, cond, ms = 120000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

suite('PodLens in the real extension host', () => {
  suiteSetup(() => {
    ext = vscode.extensions.getExtension(ID);
    assert.ok(ext, `extension ${ID} is not installed in the extension host`);
  });

  test('runs in a real VS Code extension host (Node, not a stand-in)', () => {
    assert.match(vscode.version, /^1\.\d+\.\d+/);
    assert.ok(typeof process.versions.node === 'string' && Number(process.versions.node.split('.')[0]) >= 20);
    assert.equal(vscode.workspace.workspaceFolders?.length, 1, 'the fixture workspace is open');
    const c = vscode.workspace.getConfiguration('podlens');
    assert.equal(c.get('generation.temperature'), 0, 'fixture settings are read');
    // The defaults under test are not overridden: auto cache, automatic context, development model.
    for (const k of ['kv.cache', 'kv.profile', 'engine.contextSize', 'model.path']) {
      const i = c.inspect(k);
      assert.equal(
        i.workspaceValue ?? i.workspaceFolderValue ?? i.globalValue,
        undefined,
        `podlens.${k} is left at its default`,
      );
    }
    assert.equal(c.get('kv.cache'), 'auto');
    assert.equal(c.get('engine.contextSize'), 0);
  });

  test('activates on a contributed command and returns its API', async () => {
    assert.equal(ext.isActive, false, 'activation is lazy (onCommand only)');
    await vscode.commands.executeCommand('podlens.openVisualizer');
    await until('activation', () => ext.isActive, 30000);
    api = ext.exports;
    assert.ok(api && api.core && api.chat && api.visualizer, 'activate() returns the PodLens API');
    assert.equal(api.core.model.status.state, 'none', 'activation loads no model');
  });

  test('registers every contributed command', async () => {
    const pkg = ext.packageJSON;
    const contributed = pkg.contributes.commands.map((c) => c.command).sort();
    assert.ok(contributed.length >= 6);
    const all = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.filter((c) => !all.has(c));
    assert.deepEqual(missing, [], `contributed but not registered: ${missing.join(', ')}`);
    const ours = [...all].filter((c) => c.startsWith('podlens.')).sort();
    assert.deepEqual(ours, contributed, 'no podlens.* command that package.json does not contribute');
  });

  test('loads the development model (Qwen2.5-Coder-0.5B-Instruct) with PoD from its shipped profile, chosen by auto', async () => {
    assert.ok(SHAPE, 'PODLENS_E2E_MODEL names the development model');
    assert.equal(SHAPE.arch, 'qwen2', `${MODEL} is a Qwen2 model`);
    assert.ok(fs.existsSync(PROFILE_FILE), `${PROFILE_FILE} ships beside the model`);
    const client = await api.core.model.ensureLoaded();
    const info = client.info;
    assert.ok(info, 'model info after loading');
    assert.equal(info.nLayers, SHAPE.nLayers);
    assert.match(String(info.kv), /pod/i, 'PoD cache');
    const status = api.core.model.status;
    assert.equal(status.state, 'ready');
    assert.equal(status.model, path.basename(MODEL));
    console.log(`cache: ${status.choice?.cache}; context: ${status.choice?.context}`);
    assert.match(
      status.choice?.cache ?? '',
      new RegExp(
        `^PoD — auto: a profile ships next to the model \\(${path.basename(PROFILE_FILE).replace(/\./g, '\\.')}\\)`,
      ),
    );
    // The automatic context: at least the workspace plus an answer, at most the training context.
    assert.ok(info.contextSize >= 4096 && info.contextSize <= SHAPE.contextLength, `context ${info.contextSize}`);
    assert.match(status.choice?.context ?? '', /auto/);
    const counts = await client.count(['Hello, world!']);
    assert.ok(counts[0] > 0 && counts[0] < 10, `token count ${counts[0]}`);
  });

  test('Summarize File writes a summary of a fixture file', async () => {
    const folder = vscode.workspace.workspaceFolders[0].uri;
    const uri = vscode.Uri.joinPath(folder, 'README.md');
    assert.ok(fs.existsSync(uri.fsPath));
    const before = api.chat.session.turns.length;
    await vscode.commands.executeCommand('podlens.summarizeFile', uri);
    const turns = api.chat.session.turns;
    assert.equal(turns.length, before + 2, 'a user turn and an assistant turn');
    const user = turns[turns.length - 2];
    const answer = turns[turns.length - 1];
    assert.equal(user.text, 'Summarize README.md');
    assert.equal(answer.status, 'done', answer.error || '');
    assert.ok(answer.text.trim().length >= 20, `summary text: ${JSON.stringify(answer.text)}`);
    assert.equal(degenerate(answer.text), null, `summary text: ${JSON.stringify(answer.text)}`);
    assert.match(answer.note || '', /^Covered all of README\.md \(lines 1–\d+, \d+ tokens\)/);
    assert.ok(
      answer.stats && answer.stats.generatedTokens > 0 && answer.stats.generatedTokens <= 48,
      'summarize.maxTokens = 48',
    );
    assert.ok(api.chat.panel, 'the chat panel opened to show the summary');
    console.log(`summary: ${answer.text.trim().replace(/\s+/g, ' ').slice(0, 200)}`);
  });

  test('the cache snapshot has the expected layers, heads, blocks and byte counts', async () => {
    const { view, session } = api.core.cache.current;
    assert.ok(view, 'a snapshot arrived from the worker');
    assert.equal(session, 'summarize');
    checkPodView(view, readProfile(PROFILE_FILE), SHAPE);
  });

  test(`@podlens /workspace names a fact only the fixture holds (${FACT_FILE}), with the PoD cache`, async () => {
    const participant = api.native.participant;
    assert.ok(participant, 'this VS Code has the chat participant API');
    // VS Code's chat view is off in the e2e user settings (chat.disableAIFeatures), so the
    // participant's request handler is called the way the chat view calls it.
    const folder = vscode.workspace.workspaceFolders[0].uri.fsPath;
    const fact = fixtureFact(folder);
    const parts = [],
      progress = [],
      refs = [];
    const stream = {
      markdown: (t) => parts.push(typeof t === 'string' ? t : t.value),
      progress: (t) => progress.push(t),
      reference: (u) => refs.push(vscode.workspace.asRelativePath(u)),
      anchor() {},
      button() {},
      filetree() {},
      push() {},
    };
    const cts = new vscode.CancellationTokenSource();
    const request = { prompt: QUESTION, command: 'workspace', references: [], toolReferences: [] };
    const t0 = Date.now();
    const result = await participant.requestHandler(request, { history: [] }, stream, cts.token);
    const answer = parts.join('').trim();
    const st = result?.metadata?.stats ?? {};
    console.log(
      `@podlens /workspace answer (${Date.now() - t0} ms; prompt ${st.promptTokens} tokens, ${st.generatedTokens} generated, ${st.finishReason}): ${JSON.stringify(answer)}`,
    );
    assert.equal(result?.errorDetails, undefined, result?.errorDetails?.message);
    assert.ok(
      refs.includes(FACT_FILE),
      `${FACT_FILE} went into the prompt (references: ${refs.join(', ')}; ${progress.join('; ')})`,
    );
    checkAnswer(answer, fact, '@podlens /workspace');
    // The answer came from the PoD cache of the participant's session, with the fixture files
    // among the distant tokens (they are far more than sinks + recent).
    const { view, session } = api.core.cache.current;
    assert.equal(session, 'native');
    checkPodView(view, readProfile(PROFILE_FILE), SHAPE);
    // The fixture's files (older) come first in the prompt, the vendored tree after them: with
    // more than the recent window behind it, src/harbours.ts is among the distant tokens.
    console.log(
      `cache: ${view.tokens} tokens (sinks ${view.sinkTokens}, distant ${view.distantTokens}, recent ${view.recentTokens}), ${view.usedBytes} of ${view.fullCacheBytes} bytes, ${view.savedPercent.toFixed(1)}% saved`,
    );
    assert.ok(view.distantTokens > 500, `distant tokens ${view.distantTokens}`);
  });

  test('the cache visualizer panel is open and the chat answered in the same host', () => {
    assert.ok(api.visualizer.panel, 'visualizer panel from the activation test');
    assert.ok(path.isAbsolute(api.core.extensionUri.fsPath));
  });
});
