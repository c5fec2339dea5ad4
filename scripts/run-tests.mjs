// The test command (npm test): type-check and compile with tsc, type-check the webview bundle
// against its own tsconfig (DOM lib; the webview tests bundle it with esbuild themselves), run
// every test file with node's test runner (spec output on the terminal, TAP to
// out/test-results.tap), then print the one closing line CI reads: "N passed, N failed".
// Exit code is non-zero on any failure.
// Usage: node scripts/run-tests.mjs [name-filter ...]
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tscBin = join(root, 'node_modules/typescript/bin/tsc');
const tsc = spawnSync(process.execPath, [tscBin, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
const tscWebview =
  tsc.status === 0
    ? spawnSync(process.execPath, [tscBin, '-p', join(root, 'webview/tsconfig.json'), '--noEmit'], { stdio: 'inherit' })
    : tsc;
if (tsc.status !== 0 || tscWebview.status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const filters = process.argv.slice(2);
const dir = join(root, 'out/test');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()
  .map((f) => join(dir, f));
// `node --test` with no files runs every test it finds: a filter that matches nothing is an error.
if (files.length === 0) {
  console.log(`no test file in out/test matches ${filters.join(' or ')}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const tap = join(root, 'out/test-results.tap');
const r = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=1',
    '--test-timeout=1200000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...files,
  ],
  // Converted models (src/engine/onnx/model-cache.ts) go under out/, not the user's ~/.cache.
  { stdio: 'inherit', cwd: root, env: { PODLENS_ONNX_CACHE: join(root, 'out/onnx-cache'), ...process.env } },
);
let pass = 0,
  fail = 0;
if (existsSync(tap)) {
  const text = readFileSync(tap, 'utf8');
  pass = Number(/^# pass (\d+)/m.exec(text)?.[1] ?? 0);
  fail = Number(/^# fail (\d+)/m.exec(text)?.[1] ?? 0) + Number(/^# cancelled (\d+)/m.exec(text)?.[1] ?? 0);
}
if (r.status !== 0 && fail === 0) fail = 1;
console.log(`${pass} passed, ${fail} failed`);
process.exit(fail > 0 || pass === 0 ? 1 : 0);
