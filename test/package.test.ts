// `npm run package` (scripts/package.ts): builds the production bundles, writes the linux-x64
// VSIX and reads it back — a valid OPC zip (CRC of every entry checked), a manifest with the target
// platform, only linux-x64 onnxruntime-node binaries, the native addon present, no weights, no
// source maps or sources, no dev dependencies; the packaged onnxruntime-node loads from the
// unpacked VSIX. Prints the VSIX size. Also: every other target selects only its own binaries.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packVsix, PackResult } from '../scripts/package';
import { collectFiles, TARGETS } from '../scripts/vsix/files';
import { listZip, readZipEntry, ZipEntry } from '../scripts/vsix/zip';
import { ROOT } from './helpers';

const ORT_BIN = 'extension/node_modules/onnxruntime-node/bin/';
let dir: string;
let vsix: PackResult;
let zip: Buffer;
let entries: ZipEntry[];
const names = (): string[] => entries.map((e) => e.name);
const text = (name: string): string => {
  const e = entries.find((x) => x.name === name);
  assert.ok(e, `${name} is in the VSIX`);
  return readZipEntry(zip, e).toString('utf8');
};

before(() => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'esbuild.mjs'), '--production'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  assert.equal(r.status, 0, 'esbuild.mjs --production failed');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'podlens-vsix-'));
  vsix = packVsix(ROOT, 'linux-x64', path.join(dir, 'podlens-linux-x64.vsix'));
  zip = fs.readFileSync(vsix.file);
  entries = listZip(zip);
  console.log(
    `# VSIX linux-x64: ${(vsix.bytes / 2 ** 20).toFixed(1)} MB (${vsix.bytes} bytes), ${vsix.entries} entries, ` +
      `${(entries.reduce((a, e) => a + e.size, 0) / 2 ** 20).toFixed(1)} MB unpacked`,
  );
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the VSIX is a valid OPC zip: content types, manifest with the target platform, every entry readable', () => {
  assert.equal(entries.length, vsix.entries);
  assert.deepEqual(names().slice(0, 2), ['[Content_Types].xml', 'extension.vsixmanifest']);
  assert.ok(
    names()
      .slice(2)
      .every((n) => n.startsWith('extension/')),
  );
  assert.equal(new Set(names()).size, entries.length, 'no duplicate entries');
  for (const e of entries) readZipEntry(zip, e); // size and CRC checked
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    publisher: string;
    engines: { vscode: string };
  };
  const manifest = text('extension.vsixmanifest');
  assert.match(
    manifest,
    new RegExp(
      `<Identity Language="en-US" Id="${pkg.name}" Version="${pkg.version}" Publisher="${pkg.publisher}" TargetPlatform="linux-x64" />`,
    ),
  );
  assert.ok(manifest.includes(`<Property Id="Microsoft.VisualStudio.Code.Engine" Value="${pkg.engines.vscode}" />`));
  assert.match(manifest, /Type="Microsoft.VisualStudio.Code.Manifest" Path="extension\/package.json"/);
  assert.deepEqual(
    JSON.parse(text('extension/package.json')),
    JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')),
  );
  const types = text('[Content_Types].xml');
  for (const n of names().slice(1)) {
    // the content-types part does not describe itself
    const ext = path.posix.extname(n);
    if (ext.length > 1) assert.ok(types.includes(`Extension="${ext}"`), `content type for ${ext}`);
  }
});

test('the VSIX carries the bundles, media and only the linux-x64 native runtime', () => {
  for (const f of [
    'extension/dist/extension.js',
    'extension/dist/worker.js',
    'extension/dist/reader.js',
    'extension/dist/webview/chat.js',
    'extension/dist/webview/visualizer.js',
    'extension/media/chat.css',
    'extension/node_modules/onnxruntime-node/dist/index.js',
    'extension/node_modules/onnxruntime-common/dist/cjs/index.js',
  ]) {
    assert.ok(names().includes(f), `${f} missing`);
  }
  const bins = names().filter((n) => n.startsWith(ORT_BIN));
  assert.ok(bins.length >= 2);
  assert.ok(
    bins.every((n) => /^extension\/node_modules\/onnxruntime-node\/bin\/napi-v\d+\/linux\/x64\/[^/]+$/.test(n)),
    bins.join('\n'),
  );
  assert.ok(
    bins.some((n) => n.endsWith('/onnxruntime_binding.node')),
    'the native addon',
  );
  assert.ok(
    bins.some((n) => n.endsWith('/libonnxruntime.so.1')),
    'the ONNX Runtime shared library',
  );
  assert.ok(!names().some((n) => /\.(dll|dylib)$|\/(darwin|win32)\/|\/arm64\//.test(n)), 'no other platform binaries');
});

test('no weights, sources, source maps, tests or dev dependencies; the shipped PoD profiles are in', () => {
  const bad = names().filter(
    (n) =>
      /\.(gguf|onnx|ort|safetensors|map|ts|vsix)$/i.test(n) ||
      /^extension\/(src|test|webview|scripts|bench|e2e|out|scratch|artifacts|docs|bin)\//.test(n) ||
      (/^extension\/models\//.test(n) && !/^extension\/models\/[^/]+\.pod-profile\.json$/.test(n)) ||
      /^extension\/dist\/(cli|bench)\.js$/.test(n),
  );
  assert.deepEqual(bad, []);
  // Every profile the checkout ships (podlens.kv.cache auto finds them for the catalog's models).
  const shipped = fs
    .readdirSync(path.join(ROOT, 'models'))
    .filter((n) => n.endsWith('.pod-profile.json'))
    .map((n) => `extension/models/${n}`);
  assert.ok(shipped.length >= 1);
  assert.deepEqual(
    names()
      .filter((n) => n.startsWith('extension/models/'))
      .sort(),
    shipped.sort(),
  );
  const modules = new Set(
    names()
      .filter((n) => n.startsWith('extension/node_modules/'))
      .map((n) => n.split('/')[2]),
  );
  assert.deepEqual([...modules].sort(), ['onnxruntime-common', 'onnxruntime-node']);
  assert.ok(
    vsix.bytes < 30 * 2 ** 20,
    `VSIX ${vsix.bytes} bytes: expected < 30 MB (linux-x64 ONNX Runtime is ~17 MB deflated)`,
  );
});

test('the packaged onnxruntime-node loads from the unpacked VSIX on its own', () => {
  const out = path.join(dir, 'unpacked');
  for (const e of entries) {
    const f = path.join(out, e.name);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, readZipEntry(zip, e));
  }
  const ort = path.join(out, 'extension/node_modules/onnxruntime-node');
  const r = spawnSync(
    process.execPath,
    ['-e', `const o = require(${JSON.stringify(ort)}); console.log(typeof o.InferenceSession.create, typeof o.Tensor)`],
    { cwd: dir, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'function function');
});

test('every target selects only its own binaries', () => {
  for (const [target, t] of Object.entries(TARGETS)) {
    const bins = collectFiles(ROOT, target)
      .filter((f) => f.rel.includes('/onnxruntime-node/bin/'))
      .map((f) => f.rel);
    assert.ok(bins.length > 0, target);
    assert.ok(
      bins.every((b) => b.includes(`/${t.platform}/${t.arch}/`)),
      `${target}: ${bins.join(', ')}`,
    );
  }
  assert.throws(() => collectFiles(ROOT, 'sunos-sparc'), /unknown target/);
});
