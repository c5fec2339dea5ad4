// Build script: esbuild bundles for the CLI, the bench, the VS Code extension host, the engine
// worker thread, the reader worker thread (GGUF header checks, workspace reads) and the two webviews.
//   node (cjs):  dist/cli.js, dist/bench.js (when bench/ exists), dist/extension.js, dist/worker.js, dist/reader.js
//   browser:     dist/webview/chat.js, dist/webview/visualizer.js (iife; import only src/shared)
// Native and heavy packages stay external and are resolved from node_modules at run time
// (`vscode` is provided by the editor). Options: --watch, --production (minify, no sourcemaps).
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const node = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: !production,
  minify: production,
  external: ['onnxruntime-node', 'node-llama-cpp', 'vscode'],
  logLevel: 'warning',
};
const browser = {
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'chrome120',
  sourcemap: production ? false : 'inline',
  minify: production,
  logLevel: 'warning',
};
/** The webview bundles: one entry per view. */
const webviewEntries = { chat: 'webview/chat/main.ts', visualizer: 'webview/visualizer/main.ts' };

const builds = [
  { ...node, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' },
  ...(existsSync('bench/bench.ts') ? [{ ...node, entryPoints: ['bench/bench.ts'], outfile: 'dist/bench.js' }] : []),
  { ...node, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' },
  { ...node, entryPoints: ['src/worker/main.ts'], outfile: 'dist/worker.js' },
  { ...node, entryPoints: ['src/worker/reader-main.ts'], outfile: 'dist/reader.js' },
  { ...browser, entryPoints: webviewEntries, outdir: 'dist/webview' },
];
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
