// Build script: bundles the CLI (and later the extension host and webview) with esbuild.
// Native and heavy packages stay external and are resolved from node_modules at run time.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  external: ['onnxruntime-node', 'node-llama-cpp', 'vscode'],
  logLevel: 'warning',
};
const builds = [
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' },
  ...(existsSync('bench/bench.ts') ? [{ ...common, entryPoints: ['bench/bench.ts'], outfile: 'dist/bench.js' }] : []),
];
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
