// What goes into a platform-specific PodLens VSIX: an allowlist, not a denylist. The extension
// needs its manifest and docs, media/, the esbuild bundles (dist/extension.js, dist/worker.js,
// dist/reader.js, dist/webview/*.js; no source maps, no CLI or bench bundle), the PoD profiles
// shipped for the catalog's models (models/*.pod-profile.json, no weights), and at run time only one external
// package: onnxruntime-node (its dist/*.js and the native binaries of ONE platform) with
// onnxruntime-common (its CommonJS build). Every other dependency is inlined by esbuild; dev
// dependencies, sources, tests and model weights are never listed. (.vscodeignore says the same
// for anyone packaging with vsce.)
import * as fs from 'node:fs';
import * as path from 'node:path';

/** VS Code target platform → onnxruntime-node's bin/napi-vN/<platform>/<arch> folder. */
export const TARGETS: Readonly<Record<string, { platform: string; arch: string }>> = {
  'linux-x64': { platform: 'linux', arch: 'x64' },
  'linux-arm64': { platform: 'linux', arch: 'arm64' },
  'darwin-arm64': { platform: 'darwin', arch: 'arm64' },
  'win32-x64': { platform: 'win32', arch: 'x64' },
  'win32-arm64': { platform: 'win32', arch: 'arm64' },
};

export interface PackFile {
  /** Path relative to the extension root, '/'-separated. */
  rel: string;
  abs: string;
}

/** Files never packaged, whatever folder they are in. */
export const FORBIDDEN = /\.(gguf|onnx|ort|safetensors|bin|pt|vsix|map|ts)$/i;

function walk(root: string, rel: string, keep: (rel: string) => boolean, out: PackFile[]): void {
  const abs = path.join(root, rel);
  if (!fs.existsSync(abs)) return;
  const st = fs.statSync(abs);
  if (st.isFile()) {
    if (keep(rel) && !FORBIDDEN.test(rel)) out.push({ rel, abs });
    return;
  }
  for (const name of fs.readdirSync(abs).sort()) walk(root, `${rel}/${name}`, keep, out);
}

/** The files of the VSIX for `target`, relative to the extension root `root`. */
export function collectFiles(root: string, target: string): PackFile[] {
  const t = TARGETS[target];
  if (!t) throw new Error(`unknown target '${target}' (known: ${Object.keys(TARGETS).join(', ')})`);
  const out: PackFile[] = [];
  const all = (): boolean => true;
  for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'LICENSE.md', 'SECURITY.md'])
    walk(root, f, all, out);
  walk(root, 'media', all, out);
  walk(root, 'models', (r) => /^models\/[^/]+\.pod-profile\.json$/.test(r), out);
  for (const f of ['dist/extension.js', 'dist/worker.js', 'dist/reader.js']) walk(root, f, all, out);
  walk(root, 'dist/webview', (r) => r.endsWith('.js') || r.endsWith('.css'), out);
  const ort = 'node_modules/onnxruntime-node';
  walk(root, `${ort}/package.json`, all, out);
  walk(root, `${ort}/dist`, (r) => r.endsWith('.js'), out);
  const bin = path.join(root, ort, 'bin');
  for (const napi of fs.existsSync(bin) ? fs.readdirSync(bin).sort() : [])
    walk(root, `${ort}/bin/${napi}/${t.platform}/${t.arch}`, all, out);
  const common = 'node_modules/onnxruntime-common';
  walk(root, `${common}/package.json`, all, out);
  walk(root, `${common}/dist/cjs`, (r) => r.endsWith('.js') || r.endsWith('package.json'), out);
  for (const need of ['package.json', 'dist/extension.js', 'dist/worker.js', 'dist/reader.js']) {
    if (!out.some((f) => f.rel === need)) throw new Error(`${need} is missing (run the build first)`);
  }
  if (!out.some((f) => f.rel.endsWith('/onnxruntime_binding.node'))) {
    throw new Error(`no onnxruntime-node binary for ${target} in ${ort}/bin (npm ci first)`);
  }
  return out;
}
