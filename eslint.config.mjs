// ESLint flat config (ESLint 9 + typescript-eslint recommended, not type-aware).
// Besides the usual checks it keeps the layers of docs/architecture honest with
// `no-restricted-imports`, one block per folder:
//   src/engine, src/context, src/shared, src/worker, webview/  never import `vscode`;
//   src/engine/onnx/runtime.ts                     is the only module importing `onnxruntime-node`;
//   webview/                                       imports from src/shared only (never src/<other>);
//   webview/ui/toolkit.ts                          is the only module importing the UI toolkit;
//   src/engine, src/worker                         never import src/cli or src/host.
// ESLint matches import *specifiers* against patterns, so the relative-path rules are
// approximations good enough for editor feedback, and the core rule does not see `require()` or
// `import()`. test/layers.test.ts resolves every import (static, dynamic, require) to a real path
// and is the exact check; it also checks that this config flags the same examples.
// Note: in flat config a later block replaces an earlier block's options for the same rule, so
// every block below lists its folder's complete set of restrictions.
import { defineConfig } from 'eslint/config';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Each restriction is a { paths, patterns } fragment; a block concatenates the ones it needs.
const VSCODE = {
  paths: [{ name: 'vscode', message: 'Only src/host (and src/extension.ts) may import vscode.' }],
};
const ORT_MESSAGE = 'Only src/engine/onnx/runtime.ts talks to onnxruntime-node; go through it.';
const ORT = {
  paths: [{ name: 'onnxruntime-node', message: ORT_MESSAGE }],
  patterns: [{ group: ['onnxruntime-node/*'], message: ORT_MESSAGE }],
};
const noCliHost = (folder) => ({
  patterns: [
    {
      group: ['**/cli', '**/cli/**', '**/host', '**/host/**', '**/extension'],
      message: `${folder} must not depend on src/cli, src/host or src/extension.ts.`,
    },
  ],
});
const NO_CLI_HOST = noCliHost('src/engine');
const TOOLKIT_MESSAGE = 'Only webview/ui/toolkit.ts imports the UI toolkit (so swapping it is a one-module change).';
const TOOLKIT = {
  paths: [{ name: '@vscode/webview-ui-toolkit', message: TOOLKIT_MESSAGE }],
  patterns: [
    { group: ['@vscode/webview-ui-toolkit/*', '@microsoft/fast-*', '@vscode-elements/*'], message: TOOLKIT_MESSAGE },
  ],
};
const WEBVIEW_ONLY_SHARED = {
  patterns: [
    {
      // Any specifier that goes through a `src/` folder other than src/shared ('../src/engine/x').
      regex: '(^|/)src/(?!shared(/|$))',
      message: 'webview/ may import only from src/shared (and from webview/ itself).',
    },
    { group: ['node:*'], message: 'webview/ is a browser bundle: no Node built-ins.' },
  ],
};

/** The rule entry for a folder: all its restrictions at once (see the note above). */
const restrict = (...parts) => [
  'error',
  {
    paths: parts.flatMap((p) => p.paths ?? []),
    patterns: parts.flatMap((p) => p.patterns ?? []),
  },
];

// Minimal Node globals for plain .js/.mjs files (TypeScript files get them from @types/node).
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'URLSearchParams',
    'require',
    'module',
    'exports',
    '__dirname',
    '__filename',
    'performance',
    'TextEncoder',
    'TextDecoder',
    'AbortController',
    'AbortSignal',
    'structuredClone',
    'queueMicrotask',
    'fetch',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'clearImmediate',
  ].map((g) => [g, 'readonly']),
);

export default defineConfig(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'scratch/**', 'models/**', '.cache/**', 'artifacts/**'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.{js,cjs,mjs}'],
    languageOptions: { globals: nodeGlobals },
  },
  {
    files: ['bin/**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },

  // ---- layers -------------------------------------------------------------------------------
  // Everything in src/ (host, cli, extension.ts): onnxruntime-node only through the engine.
  { files: ['src/**/*.{ts,tsx,js,mjs}'], rules: { 'no-restricted-imports': restrict(ORT) } },
  // Pure layers: no vscode, no onnxruntime-node.
  {
    files: ['src/context/**/*.{ts,tsx,js,mjs}', 'src/shared/**/*.{ts,tsx,js,mjs}'],
    rules: { 'no-restricted-imports': restrict(VSCODE, ORT) },
  },
  // The engine: no vscode, no onnxruntime-node, nothing from the cli or the host.
  {
    files: ['src/engine/**/*.{ts,tsx,js,mjs}'],
    rules: { 'no-restricted-imports': restrict(VSCODE, ORT, NO_CLI_HOST) },
  },
  // …except the one runtime module, which is where onnxruntime-node lives.
  {
    files: ['src/engine/onnx/runtime.ts'],
    rules: { 'no-restricted-imports': restrict(VSCODE, NO_CLI_HOST) },
  },
  // The engine worker thread: the engine's side of the host channel; no vscode, no cli/host.
  {
    files: ['src/worker/**/*.{ts,tsx,js,mjs}'],
    rules: { 'no-restricted-imports': restrict(VSCODE, ORT, noCliHost('src/worker')) },
  },
  // The webview bundle: browser code that shares only the protocol types in src/shared…
  {
    files: ['webview/**/*.{ts,tsx,js,mjs}'],
    rules: { 'no-restricted-imports': restrict(VSCODE, ORT, WEBVIEW_ONLY_SHARED, TOOLKIT) },
  },
  // …and the one module that wraps the UI toolkit.
  {
    files: ['webview/ui/toolkit.ts'],
    rules: { 'no-restricted-imports': restrict(VSCODE, ORT, WEBVIEW_ONLY_SHARED) },
  },
);
