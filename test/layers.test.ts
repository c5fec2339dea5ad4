// Layer rules (docs/architecture "imports point one way"), enforced by the test command as well as
// by `npm run lint`. Every import in src/ and webview/ (static, `import type`, `export … from`,
// dynamic `import()`, `require()`) is found with TypeScript's pre-processor, relative ones are
// resolved to repo paths, and the rules below are checked:
//   - src/engine, src/context, src/shared, src/worker and webview/ never import `vscode`;
//   - only src/engine/onnx/runtime.ts imports `onnxruntime-node` (or a subpath of it);
//   - webview/ imports from the repo only webview/ itself and src/shared (no Node built-ins);
//   - only webview/ui/toolkit.ts imports the UI toolkit (@vscode/webview-ui-toolkit, FAST, @vscode-elements);
//   - src/engine and src/worker never import src/cli, src/host or src/extension.ts.
// The same rules live in eslint.config.mjs as `no-restricted-imports` patterns; the last test
// checks that ESLint flags the same static examples, so the two cannot drift apart silently.
// Not covered: imports built from non-literal strings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { ESLint } from 'eslint';
import { ROOT, sourceFiles } from './helpers';

const SCANNED = ['src', 'webview'];
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const ORT_MODULE = 'src/engine/onnx/runtime.ts';
const TOOLKIT_MODULE = 'webview/ui/toolkit.ts';
const isToolkit = (pkg: string | null | undefined): boolean =>
  pkg === '@vscode/webview-ui-toolkit' ||
  (pkg ?? '').startsWith('@microsoft/fast-') ||
  (pkg ?? '').startsWith('@vscode-elements/');

/** Module specifiers imported by a source text (comments and strings are skipped). */
function importSpecifiers(code: string): string[] {
  return ts.preProcessFile(code, true, true).importedFiles.map((f) => f.fileName);
}

/** `a/b/c` is `dir` or inside it (repo-relative posix paths). */
const within = (p: string, dir: string): boolean => p === dir || p.startsWith(`${dir}/`);
const stripExt = (p: string): string => p.replace(SOURCE, '');

/** The rule violations of one import in `file` (repo-relative, posix), as readable strings. */
function importViolations(file: string, spec: string): string[] {
  const out: string[] = [];
  const bad = (why: string): void => {
    out.push(`${file}: '${spec}' — ${why}`);
  };
  const pure = ['src/engine', 'src/context', 'src/shared', 'src/worker', 'webview'].some((d) => within(file, d));
  const relative = spec.startsWith('.');
  const pkg = relative ? null : spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
  const target = relative ? path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)) : null;

  if (pkg === 'vscode' && pure) bad('only src/host and src/extension.ts may import vscode');
  if (pkg === 'onnxruntime-node' && file !== ORT_MODULE) bad(`only ${ORT_MODULE} may import onnxruntime-node`);
  if (within(file, 'webview')) {
    if (target !== null && !within(target, 'webview') && !within(target, 'src/shared')) {
      bad('webview/ may import only from src/shared');
    }
    if (spec.startsWith('node:')) bad('webview/ is a browser bundle: no Node built-ins');
    if (isToolkit(pkg) && file !== TOOLKIT_MODULE) bad(`only ${TOOLKIT_MODULE} may import the UI toolkit`);
  }
  for (const layer of ['src/engine', 'src/worker']) {
    if (within(file, layer) && target !== null) {
      if (within(target, 'src/cli') || within(target, 'src/host') || stripExt(target) === 'src/extension') {
        bad(`${layer} must not import src/cli, src/host or src/extension.ts`);
      }
    }
  }
  return out;
}

function fileViolations(file: string, code: string): string[] {
  return importSpecifiers(code).flatMap((spec) => importViolations(file, spec));
}

// [file, code, should it be flagged?] — static imports only, so ESLint can be held to the same.
const EXAMPLES: [string, string, boolean][] = [
  ['src/engine/generate.ts', "import * as vscode from 'vscode';", true],
  ['src/context/pack.ts', "import type { Uri } from 'vscode';", true],
  ['src/shared/protocol.ts', "export type { Uri } from 'vscode';", true],
  ['webview/main.ts', "import * as vscode from 'vscode';", true],
  ['src/host/webview/panel.ts', "import * as vscode from 'vscode';", false],
  ['src/extension.ts', "import * as vscode from 'vscode';", false],
  [ORT_MODULE, "import * as ort from 'onnxruntime-node';", false],
  ['src/engine/kv/pod.ts', "import type { Tensor } from 'onnxruntime-node';", true],
  ['src/cli/commands.ts', "import * as ort from 'onnxruntime-node';", true],
  ['src/host/engine-host.ts', "import { Tensor } from 'onnxruntime-node/dist/index';", true],
  ['webview/main.ts', "import * as ort from 'onnxruntime-node';", true],
  ['webview/main.ts', "import type { Msg } from '../src/shared/protocol';", false],
  ['webview/ui/chat.ts', "import { render } from '../render';", false],
  ['webview/main.ts', "import { Engine } from '../src/engine/engine';", true],
  ['webview/ui/chat.ts', "import { x } from '../../src/host/webview/panel';", true],
  ['webview/main.ts', "import * as fs from 'node:fs';", true],
  ['src/engine/gguf/reader.ts', "import { main } from '../../cli/main';", true],
  ['src/engine/engine.ts', "export { Panel } from './../host/panel';", true],
  ['src/engine/engine.ts', "import { activate } from '../extension';", true],
  ['src/engine/engine.ts', "import { Sampler } from './sampler';", false],
  ['src/cli/main.ts', "import { Engine } from '../engine/engine';", false],
  ['src/worker/main.ts', "import * as vscode from 'vscode';", true],
  ['src/worker/main.ts', "import { ChatPanel } from '../host/chat-panel';", true],
  ['src/worker/main.ts', "import { Engine } from '../engine/engine';", false],
  ['src/host/engine-client.ts', "import { parseFromWorker } from '../worker/protocol';", false],
  [TOOLKIT_MODULE, "import { vsCodeButton } from '@vscode/webview-ui-toolkit';", false],
  ['webview/chat/main.ts', "import { vsCodeButton } from '@vscode/webview-ui-toolkit';", true],
  ['webview/chat/main.ts', "import { FoundationElement } from '@microsoft/fast-foundation';", true],
  ['webview/chat/main.ts', "import { button } from '../ui/toolkit';", false],
];

test('no file in src/ or webview/ breaks the layer rules', () => {
  const files = SCANNED.flatMap(sourceFiles);
  assert.ok(files.includes(ORT_MODULE), `scan found ${files.length} files but not ${ORT_MODULE}`);
  const found = files.flatMap((f) => fileViolations(f, fs.readFileSync(path.join(ROOT, f), 'utf8')));
  assert.deepEqual(found, []);
});

test('the checker flags violations (in-memory examples)', () => {
  for (const [file, code, flagged] of EXAMPLES) {
    assert.equal(fileViolations(file, code).length > 0, flagged, `${file}: ${code}`);
  }
  // Forms the ESLint rule cannot see are still caught here.
  assert.equal(fileViolations('src/engine/x.ts', "const v = await import('vscode');").length, 1);
  assert.equal(fileViolations('src/engine/x.ts', "const c = require('../cli/args');").length, 1);
  assert.equal(fileViolations('src/shared/x.ts', "// import * as v from 'vscode'").length, 0);
});

test('eslint.config.mjs flags the same examples', async () => {
  const eslint = new ESLint({ cwd: ROOT });
  for (const [file, code, flagged] of EXAMPLES) {
    const [result] = await eslint.lintText(`${code}\n`, { filePath: path.join(ROOT, file) });
    const rules = (result?.messages ?? []).map((m) => m.ruleId);
    assert.equal(rules.includes('no-restricted-imports'), flagged, `${file}: ${code} → ${rules.join(', ')}`);
  }
});
