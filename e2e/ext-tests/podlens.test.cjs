// PodLens inside the real extension host (code-server's Node 24 extension host, native
// onnxruntime-node addon and the engine worker thread included). The workspace is a copy of
// e2e/fixture, whose .vscode/settings.json selects the PoD cache (sinks, recent window, uniform
// blocks of layers), a 1024-token context, short greedy answers, and (pinned by e2e/run.sh) the
// model $PODLENS_E2E_MODEL: Qwen2.5-Coder-0.5B-Instruct, the default development model. The
// expected shape comes from that file's GGUF header (e2e/gguf-shape.cjs), the PoD parameters
// from the fixture settings. The @podlens participant is asked about a fact only the fixture
// holds (e2e/answer.cjs) and must name it, with the PoD cache on.
/* global suite, test, suiteSetup */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const { ggufShape } = require('../gguf-shape.cjs');
const { QUESTION, FACT_FILE, fixtureFact, checkAnswer, degenerate } = require('../answer.cjs');

const ID = 'podlens.podlens';
let ext;
let api;

const MODEL = process.env.PODLENS_E2E_MODEL || '';
// Layers, KV heads, head dim of the model under test (Qwen2.5-Coder-0.5B: 24, 2, 64); the engine
// stores K/V in f16 by default.
const SHAPE = MODEL ? ggufShape(MODEL) : null;
const BYTES_PER_ELEMENT = 2;
const setting = (k) => vscode.workspace.getConfiguration('podlens').get(k);

async function until(what, cond, ms = 120000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A PoD cache view: the model's shape, blocks from the fixture's kv.groupSize, exact byte counts. */
function checkPodView(view) {
  const { nLayers: L, nKVHeads: H, headDim: D } = SHAPE;
  const g = setting('kv.groupSize');
  assert.equal(view.kind, 'pod');
  assert.equal(view.nLayers, L);
  assert.equal(view.nKVHeads, H);
  assert.equal(view.headDim, D);
  assert.equal(view.grid.length, L * H);
  // Uniform blocks of g layers: anchors at layers 0, g, 2g, … in each KV-head column.
  assert.equal(view.blocks, Math.ceil(L / g) * H);
  for (const c of view.grid) {
    assert.equal(c.block, c.layer - (c.layer % g), `block of layer ${c.layer}`);
    assert.equal(c.anchor, c.layer % g === 0);
  }
  assert.equal(view.sinkTokens, setting('kv.sinks'));
  assert.ok(view.tokens > setting('kv.sinks') + setting('kv.recent'), `tokens ${view.tokens}`);
  assert.equal(view.sinkTokens + view.recentTokens + view.distantTokens, view.tokens);
  assert.ok(view.recentTokens <= setting('kv.recent'));
  // Bytes: a full f16 cache keeps K and V of every token in every layer and KV head.
  const unit = D * BYTES_PER_ELEMENT;
  assert.equal(view.fullCacheBytes, view.tokens * L * 2 * H * unit);
  // PoD: proximal tokens keep K and V everywhere; distant ones keep V everywhere, K in anchors only.
  const prox = view.sinkTokens + view.recentTokens;
  let used = 0;
  for (let l = 0; l < L; l++) {
    const anchorsInLayer = l % g === 0 ? H : 0;
    const layerBytes = prox * H * unit * 2 + view.distantTokens * (H + anchorsInLayer) * unit;
    assert.equal(view.layers[l].bytes, layerBytes, `layer ${l} bytes`);
    used += layerBytes;
  }
  assert.equal(view.usedBytes, used);
  assert.ok(view.allocatedBytes >= view.usedBytes);
  assert.equal(view.layers.reduce((a, l) => a + l.allocatedBytes, 0), view.allocatedBytes);
  const saved = (1 - used / view.fullCacheBytes) * 100;
  assert.ok(Math.abs(view.savedPercent - saved) < 1e-9);
  assert.ok(view.savedPercent > 10, `saved ${view.savedPercent}%`);
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
    assert.equal(vscode.workspace.getConfiguration('podlens').get('kv.cache'), 'pod', 'fixture settings are read');
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

  test('loads the model (Qwen2.5-Coder-0.5B-Instruct) in the engine worker of the real extension host', async () => {
    assert.ok(SHAPE, 'PODLENS_E2E_MODEL names the model e2e/run.sh pinned');
    assert.equal(SHAPE.arch, 'qwen2', `${MODEL} is a Qwen2 model`);
    const client = await api.core.model.ensureLoaded();
    const info = client.info;
    assert.ok(info, 'model info after loading');
    assert.equal(info.nLayers, SHAPE.nLayers);
    assert.equal(info.contextSize, 1024, 'podlens.engine.contextSize from the fixture settings');
    assert.match(String(info.kv), /pod/i, 'PoD cache from podlens.kv.cache');
    assert.equal(api.core.model.status.state, 'ready');
    assert.equal(api.core.model.status.model, path.basename(MODEL));
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
    assert.ok(answer.stats && answer.stats.generatedTokens > 0 && answer.stats.generatedTokens <= 48, 'summarize.maxTokens = 48');
    assert.ok(api.chat.panel, 'the chat panel opened to show the summary');
    console.log(`summary: ${answer.text.trim().replace(/\s+/g, ' ').slice(0, 200)}`);
  });

  test('the cache snapshot has the expected layers, heads, blocks and byte counts', async () => {
    const { view, session } = api.core.cache.current;
    assert.ok(view, 'a snapshot arrived from the worker');
    assert.equal(session, 'summarize');
    checkPodView(view);
    assert.ok(view.distantTokens > 0, 'the summary prompt is longer than sinks + recent');
  });

  test(`@podlens /workspace names a fact only the fixture holds (${FACT_FILE}), with the PoD cache`, async () => {
    const participant = api.native.participant;
    assert.ok(participant, 'this VS Code has the chat participant API');
    // VS Code's chat view is off in the e2e user settings (chat.disableAIFeatures), so the
    // participant's request handler is called the way the chat view calls it.
    const folder = vscode.workspace.workspaceFolders[0].uri.fsPath;
    const fact = fixtureFact(folder);
    const parts = [], progress = [], refs = [];
    const stream = {
      markdown: (t) => parts.push(typeof t === 'string' ? t : t.value),
      progress: (t) => progress.push(t),
      reference: (u) => refs.push(vscode.workspace.asRelativePath(u)),
      anchor() {}, button() {}, filetree() {}, push() {},
    };
    const cts = new vscode.CancellationTokenSource();
    const request = { prompt: QUESTION, command: 'workspace', references: [], toolReferences: [] };
    const t0 = Date.now();
    const result = await participant.requestHandler(request, { history: [] }, stream, cts.token);
    const answer = parts.join('').trim();
    const st = result?.metadata?.stats ?? {};
    console.log(`@podlens /workspace answer (${Date.now() - t0} ms; prompt ${st.promptTokens} tokens, ${st.generatedTokens} generated, ${st.finishReason}): ${JSON.stringify(answer)}`);
    assert.equal(result?.errorDetails, undefined, result?.errorDetails?.message);
    assert.ok(refs.includes(FACT_FILE), `${FACT_FILE} went into the prompt (references: ${refs.join(', ')}; ${progress.join('; ')})`);
    checkAnswer(answer, fact, '@podlens /workspace');
    // The answer came from the PoD cache of the participant's session, with the fixture files
    // among the distant tokens (they are far more than sinks + recent).
    const { view, session } = api.core.cache.current;
    assert.equal(session, 'native');
    checkPodView(view);
    assert.ok(view.distantTokens > 200, `distant tokens ${view.distantTokens}`);
  });

  test('the cache visualizer panel is open and the chat answered in the same host', () => {
    assert.ok(api.visualizer.panel, 'visualizer panel from the activation test');
    assert.ok(path.isAbsolute(api.core.extensionUri.fsPath));
  });
});
