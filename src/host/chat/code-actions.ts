// The buttons on code blocks in chat answers, carried out by the host: Copy (the host clipboard,
// vscode.env.clipboard — webviews cannot rely on navigator.clipboard), Insert at Cursor (replaces
// the selection of the editor the user was last in, see editor-tracker.ts) and Open in New File
// (an untitled document in the fence's language: "ts" → typescript, "py" → python, …; unknown or
// missing → plaintext). Errors say what to do; the webview shows them.
import * as vscode from 'vscode';
import { CodeParams } from '../../shared/chat-context';
import { EditorTracker } from './editor-tracker';

/** Fence names that are not VS Code language ids. */
const ALIASES: Record<string, string> = {
  js: 'javascript',
  jsx: 'javascriptreact',
  mjs: 'javascript',
  cjs: 'javascript',
  node: 'javascript',
  ts: 'typescript',
  tsx: 'typescriptreact',
  py: 'python',
  python3: 'python',
  rb: 'ruby',
  rs: 'rust',
  sh: 'shellscript',
  bash: 'shellscript',
  zsh: 'shellscript',
  shell: 'shellscript',
  console: 'shellscript',
  ps1: 'powershell',
  pwsh: 'powershell',
  'c++': 'cpp',
  cc: 'cpp',
  hpp: 'cpp',
  cxx: 'cpp',
  h: 'c',
  cs: 'csharp',
  'c#': 'csharp',
  'f#': 'fsharp',
  kt: 'kotlin',
  md: 'markdown',
  yml: 'yaml',
  golang: 'go',
  text: 'plaintext',
  txt: 'plaintext',
  plain: 'plaintext',
  html5: 'html',
  htm: 'html',
  xml: 'xml',
  svg: 'xml',
  dockerfile: 'dockerfile',
  docker: 'dockerfile',
  make: 'makefile',
  tex: 'latex',
  objc: 'objective-c',
  jsonc: 'jsonc',
  json5: 'json',
  proto: 'proto3',
};

/** The VS Code language id for a fence's language name, if VS Code knows it. */
export function languageFor(fence: string | undefined, known: readonly string[]): string {
  const f = (fence ?? '').trim().toLowerCase();
  if (!f) return 'plaintext';
  const id = ALIASES[f] ?? f;
  return known.includes(id) ? id : known.includes(f) ? f : 'plaintext';
}

export async function copyCode(p: CodeParams): Promise<Record<string, never>> {
  await vscode.env.clipboard.writeText(p.code);
  return {};
}

export async function insertCode(p: CodeParams, editors: EditorTracker): Promise<Record<string, never>> {
  const e = editors.editor;
  if (!e) throw new Error('open a file in an editor first, then click Insert at Cursor');
  const ok = await e.edit((b) => {
    for (const s of e.selections) b.replace(s, p.code);
  });
  if (!ok) throw new Error(`could not edit ${vscode.workspace.asRelativePath(e.document.uri, false)} (read-only?)`);
  await vscode.window.showTextDocument(e.document, { viewColumn: e.viewColumn, preserveFocus: false });
  return {};
}

export async function openCode(p: CodeParams): Promise<Record<string, never>> {
  const language = languageFor(p.language, await vscode.languages.getLanguages());
  const doc = await vscode.workspace.openTextDocument({ content: p.code, language });
  await vscode.window.showTextDocument(doc, { preview: false });
  return {};
}
