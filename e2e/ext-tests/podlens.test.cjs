// PodLens inside the real extension host (code-server's Node 24 extension host, native
// onnxruntime-node addon and the engine worker thread included). The workspace is a copy of
// e2e/fixture, whose .vscode/settings.json selects the PoD cache (sinks 4, recent 24, blocks of 5
// layers), a 1024-token context and greedy decoding. The model is the default development model,
// models/SmolLM2-135M-Instruct.Q4_1.gguf inside the extension folder.
/* global suite, test, suiteSetup */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');

const ID = 'podlens.podlens';
let ext;
let api;

// SmolLM2-135M: 30 layers, 3 KV heads of dimension 64; KV stored in f16 by default.
const N_LAYERS = 30;
const N_KV = 3;
const HEAD_DIM = 64;
const BYTES_PER_ELEMENT = 2;

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

  test('loads SmolLM2-135M-Instruct in the engine worker of the real extension host', async () => {
    const client = await api.core.model.ensureLoaded();
    const info = client.info;
    assert.ok(info, 'model info after loading');
    assert.equal(info.nLayers, N_LAYERS);
    assert.equal(info.contextSize, 1024, 'podlens.engine.contextSize from the fixture settings');
    assert.match(String(info.kv), /pod/i, 'PoD cache from podlens.kv.cache');
    assert.equal(api.core.model.status.state, 'ready');
    assert.match(api.core.model.status.model, /SmolLM2-135M-Instruct/);
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
    assert.match(answer.note || '', /^Covered all of README\.md \(lines 1–\d+, \d+ tokens\)/);
    assert.ok(answer.stats && answer.stats.generatedTokens > 0 && answer.stats.generatedTokens <= 48, 'summarize.maxTokens = 48');
    assert.ok(api.chat.panel, 'the chat panel opened to show the summary');
    console.log(`summary: ${answer.text.trim().replace(/\s+/g, ' ').slice(0, 200)}`);
  });

  test('the cache snapshot has the expected layers, heads, blocks and byte counts', async () => {
    const { view, session } = api.core.cache.current;
    assert.ok(view, 'a snapshot arrived from the worker');
    assert.equal(session, 'summarize');
    assert.equal(view.kind, 'pod');
    assert.equal(view.nLayers, N_LAYERS);
    assert.equal(view.nKVHeads, N_KV);
    assert.equal(view.headDim, HEAD_DIM);
    assert.equal(view.grid.length, N_LAYERS * N_KV);
    // Blocks of 5 layers: 6 anchors (layers 0, 5, …, 25) in each of the 3 KV-head columns.
    assert.equal(view.blocks, (N_LAYERS / 5) * N_KV);
    for (const c of view.grid) {
      assert.equal(c.block, c.layer - (c.layer % 5), `block of layer ${c.layer}`);
      assert.equal(c.anchor, c.layer % 5 === 0);
    }
    assert.equal(view.sinkTokens, 4);
    assert.ok(view.tokens > 28, `tokens ${view.tokens}`);
    assert.equal(view.sinkTokens + view.recentTokens + view.distantTokens, view.tokens);
    assert.ok(view.recentTokens <= 24);
    assert.ok(view.distantTokens > 0, 'the summary prompt is longer than sinks + recent');
    // Bytes: a full f16 cache keeps K and V of every token in every layer and KV head.
    const perTokenFull = N_LAYERS * 2 * N_KV * HEAD_DIM * BYTES_PER_ELEMENT;
    assert.equal(view.fullCacheBytes, view.tokens * perTokenFull);
    // PoD: proximal tokens keep K and V everywhere; distant ones keep V everywhere, K in anchors only.
    const unit = HEAD_DIM * BYTES_PER_ELEMENT;
    const prox = view.sinkTokens + view.recentTokens;
    let used = 0;
    for (let l = 0; l < N_LAYERS; l++) {
      const anchorsInLayer = l % 5 === 0 ? N_KV : 0;
      const layerBytes = prox * N_KV * unit * 2 + view.distantTokens * (N_KV + anchorsInLayer) * unit;
      assert.equal(view.layers[l].bytes, layerBytes, `layer ${l} bytes`);
      used += layerBytes;
    }
    assert.equal(view.usedBytes, used);
    assert.ok(view.allocatedBytes >= view.usedBytes);
    assert.equal(view.layers.reduce((a, l) => a + l.allocatedBytes, 0), view.allocatedBytes);
    const saved = (1 - used / view.fullCacheBytes) * 100;
    assert.ok(Math.abs(view.savedPercent - saved) < 1e-9);
    assert.ok(view.savedPercent > 10, `saved ${view.savedPercent}%`);
  });

  test('the cache visualizer panel is open and the chat answered in the same host', () => {
    assert.ok(api.visualizer.panel, 'visualizer panel from the activation test');
    assert.ok(path.isAbsolute(api.core.extensionUri.fsPath));
  });
});
