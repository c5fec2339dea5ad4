// Mode C (e2e/run.sh): PodLens installed from the packaged VSIX (npm run package, then
// code-server --install-extension), in the real extension host. The extension under development
// is the empty e2e/vsix-probe, so podlens.podlens here is the installed copy, not the repo. It
// must activate lazily, load the model (Qwen2.5-Coder-0.5B-Instruct, path from $PODLENS_E2E_MODEL:
// the VSIX has no weights) with the packaged linux-x64 onnxruntime-node, and answer through VS
// Code's language-model API (vscode.lm.selectChatModels → our provider) where this VS Code has
// the provider API: asked about a fact in a fixture file the request carries, it must name the
// fact (e2e/answer.cjs). The model is reached as a user has it — the same file under the
// catalog's name in a folder with no profile beside it — and podlens.kv.cache stays `auto`: the
// profile the VSIX ships in models/ (found by the model's size, checked by sha256) gives PoD.
/* global suite, test, suiteSetup */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vscode = require('vscode');
const { ggufShape } = require('../gguf-shape.cjs');
const { QUESTION, FACT_FILE, fixtureFact, checkAnswer } = require('../answer.cjs');

let ext;
let api;

async function until(what, cond, ms = 60000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

suite('PodLens from the installed VSIX', () => {
  suiteSetup(() => {
    ext = vscode.extensions.getExtension('podlens.podlens');
    assert.ok(ext, 'podlens.podlens is installed');
  });

  test('is the installed copy: bundles, linux-x64 runtime and PoD profiles only, no sources, no weights', () => {
    const root = ext.extensionPath;
    assert.ok(!root.startsWith(path.resolve(__dirname, '..', '..')), `${root} is the repo, not the installed VSIX`);
    for (const f of [
      'dist/extension.js',
      'dist/worker.js',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
    ]) {
      assert.ok(fs.existsSync(path.join(root, f)), `${f} missing`);
    }
    for (const f of [
      'src',
      'test',
      'node_modules/onnxruntime-node/bin/napi-v6/darwin',
      'node_modules/onnxruntime-node/bin/napi-v6/win32',
      'node_modules/typescript',
    ]) {
      assert.ok(!fs.existsSync(path.join(root, f)), `${f} should not be installed`);
    }
    const models = fs.readdirSync(path.join(root, 'models'));
    assert.ok(
      models.length > 0 && models.every((n) => n.endsWith('.pod-profile.json')),
      `models/: ${models.join(', ')}`,
    );
    assert.equal(ext.isActive, false, 'nothing activated it yet');
  });

  test('activates on a command and loads the model with the packaged onnxruntime-node', async () => {
    assert.ok(process.env.PODLENS_E2E_MODEL, 'PODLENS_E2E_MODEL');
    // As a user has it: the same GGUF under the catalog's name in a folder of its own (a download,
    // LM Studio's cache), no profile beside it. `auto` must find the profile the VSIX ships.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-user-models-'));
    const userModel = path.join(dir, 'qwen2.5-coder-0.5b-instruct-q4_k_m.gguf');
    fs.symlinkSync(process.env.PODLENS_E2E_MODEL, userModel);
    await vscode.workspace
      .getConfiguration('podlens')
      .update('model.path', userModel, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('podlens.openVisualizer');
    await until('activation', () => ext.isActive);
    api = ext.exports;
    const client = await api.core.model.ensureLoaded();
    const shape = ggufShape(process.env.PODLENS_E2E_MODEL);
    assert.equal(client.info.nLayers, shape.nLayers);
    assert.equal(client.info.nKVHeads, shape.nKVHeads);
    assert.equal(client.info.headDim, shape.headDim);
    assert.match(client.info.kv, /pod/i, 'auto: PoD with the profile the VSIX ships');
    assert.match(
      api.core.model.status.choice?.cache ?? '',
      /^PoD — auto: PodLens ships a profile for this model \(qwen2\.5-coder-0\.5b-instruct\.pod-profile\.json\)$/,
    );
    const [n] = await client.count(['Hello, world!']);
    assert.ok(n > 0 && n < 10);
  });

  test(`answers through vscode.lm (the language-model provider), streamed, naming a fact from ${FACT_FILE}`, async function () {
    if (!api.native.languageModel) this.skip(); // VS Code without the provider API (< 1.104)
    const models = await vscode.lm.selectChatModels({ vendor: 'podlens' });
    assert.equal(models.length, 1, 'one PodLens model offered');
    assert.equal(models[0].vendor, 'podlens');
    // What a calling extension does: put the file in the request, then ask about it.
    const folder = vscode.workspace.workspaceFolders[0].uri.fsPath;
    const file = fs.readFileSync(path.join(folder, FACT_FILE), 'utf8');
    const fact = fixtureFact(folder);
    const prompt = `This is ${FACT_FILE} of my project Tide Tables:\n\n\`\`\`ts\n${file}\`\`\`\n\n${QUESTION}`;
    const cts = new vscode.CancellationTokenSource();
    const t0 = Date.now();
    const res = await models[0].sendRequest([vscode.LanguageModelChatMessage.User(prompt)], {}, cts.token);
    const pieces = [];
    for await (const t of res.text) pieces.push(t);
    const text = pieces.join('').trim();
    console.log(`vscode.lm answer (${Date.now() - t0} ms, ${pieces.length} pieces): ${JSON.stringify(text)}`);
    assert.ok(pieces.length > 1 && text.length > 10, `streamed in pieces: ${JSON.stringify(pieces)}`);
    checkAnswer(text, fact, 'vscode.lm');
    const { view } = api.core.cache.current;
    assert.equal(view.kind, 'pod');
    // Token counts come from the model's tokenizer once it is loaded.
    const [exact] = await api.core.client.count(['Hello, world!']);
    assert.equal(await models[0].countTokens('Hello, world!'), exact);
  });
});
