// The workspace commands: `podlens summarize PATH` (a file or a folder, map-reduce when it does not
// fit the context) and `podlens chat` (a REPL over a workspace prefix that is read once, reused on
// every turn — only the changed suffix is recomputed when files change — and persisted between
// runs). Both use src/context: the chat is the same PromptSession (src/context/session.ts) the
// extension's engine worker hosts, here in process.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Engine } from '../engine/engine';
import { ChatMessage } from '../engine/tokenizer';
import { buildContext, formatManifest, WorkspaceContext } from '../context/build';
import { PromptTokenizer } from '../context/prompt';
import { PromptSession, reuseLine } from '../context/session';
import { NodeFileSource } from '../context/source';
import { FilePrefixStore } from '../context/store';
import { summarizeTexts, SourceText } from '../context/summarize';
import { folderSubject } from '../context/summary-prompts';
import { decodeText } from '../context/text';
import { walkWorkspace } from '../context/walk';
import { FlagSpecs, ParsedFlags, UsageError } from './args';
import { Command, KV_FLAGS, kvChoice } from './commands';
import { MODEL_FLAG } from './default-model';

export const DEFAULT_SYSTEM =
  'You are a helpful assistant for the code and documents below. Answer concisely and cite file paths.';
const str = (f: ParsedFlags, k: string): string | undefined => f[k] as string | undefined;
const num = (f: ParsedFlags, k: string): number | undefined => f[k] as number | undefined;

const ENGINE_FLAGS: FlagSpecs = {
  threads: { type: 'int', min: 1, max: 256, help: 'CPU threads (default min(2, cores))' },
  ctx: { type: 'int', min: 256, help: 'context size (default min(training context, 8192))' },
  ...KV_FLAGS,
};

async function loadEngine(f: ParsedFlags, io: { err: (s: string) => void }, model: string): Promise<Engine> {
  if (!fs.existsSync(model)) throw new Error(`model file ${model} not found`);
  const ctx = num(f, 'ctx') ?? 8192;
  const { kv, note } = kvChoice(f);
  const engine = await Engine.load(model, { threads: num(f, 'threads'), contextSize: ctx, kv });
  if (note) io.err(note);
  io.err(`loaded ${path.basename(model)} (context ${engine.contextSize}, ${engine.decoder.plan.kind} KV cache)`);
  return engine;
}

const summarize: Command = {
  summary: 'summarize a file or a folder (map-reduce when larger than the context)',
  positional: 'PATH',
  flags: {
    model: MODEL_FLAG,
    'max-tokens': {
      type: 'int',
      min: 16,
      help: 'longest summary in tokens; each of n parts gets about 1/n of it (default 256)',
    },
    json: { type: 'bool', help: 'print one JSON object' },
    ...ENGINE_FLAGS,
  },
  async run(f, io, positional = []) {
    const target = positional[0];
    if (target === undefined) throw new UsageError('give a file or folder to summarize');
    if (!fs.existsSync(target)) throw new Error(`${target} does not exist`);
    const docs: SourceText[] = [];
    let excluded: { path: string; reason: string }[] = [];
    let subject: string | undefined; // for the reduce step: "the folder src/engine" (a file's is its name)
    if (fs.statSync(target).isDirectory()) {
      const rel = path.relative(process.cwd(), path.resolve(target));
      subject = folderSubject(
        rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : path.basename(path.resolve(target)),
      );
      const w = await walkWorkspace(new NodeFileSource(target), {
        signal: io.signal,
        onProgress: (p) => {
          if (p.filesSeen % 500 === 0) io.err(`reading files… ${p.filesSeen}`);
        },
      });
      docs.push(...w.candidates.map((c) => ({ path: c.path, text: c.text })));
      excluded = w.excluded;
      if (docs.length === 0) throw new Error(`${target} has no text files to summarize (${excluded.length} excluded)`);
    } else {
      const d = decodeText(fs.readFileSync(target));
      if (!d.ok) throw new Error(`${target}: ${d.reason}`);
      docs.push({ path: path.basename(target), text: d.text });
    }
    const engine = await loadEngine(f, io, str(f, 'model')!);
    try {
      const r = await summarizeTexts(engine, docs, {
        maxTokens: num(f, 'max-tokens') ?? 256,
        subject,
        signal: io.signal,
        onProgress: (m) => io.err(m),
      });
      if (f.json) io.out(JSON.stringify({ ...r, excluded }));
      else {
        // A folder: the overview, then what each file does.
        const files = r.covered.filter((c) => c.summary).map((c) => `- ${c.path}: ${c.summary}`);
        const body = [r.summary, files.length ? `Files:\n${files.join('\n')}` : ''].filter(Boolean).join('\n\n');
        io.out(`${body}\n\n${r.note}${excluded.length ? ` ${excluded.length} files excluded.` : ''}`);
      }
    } finally {
      await engine.dispose();
    }
  },
};

const chat: Command = {
  summary: 'chat over a workspace (read once, reused every turn, persisted between runs)',
  flags: {
    model: MODEL_FLAG,
    workspace: { type: 'string', help: 'folder whose files form the prompt prefix' },
    budget: {
      type: 'int',
      min: 0,
      help: 'workspace token budget (default: context − min(1024, context/4) − max tokens)',
    },
    'max-tokens': { type: 'int', min: 1, help: 'longest answer in tokens (default 256)' },
    temperature: { type: 'number', min: 0, help: '0 = greedy (default 0)' },
    seed: { type: 'int', help: 'sampler seed (default 0)' },
    'no-persist': { type: 'bool', help: "don't load or save the workspace KV state" },
    'cache-dir': { type: 'string', help: 'folder for saved KV states (default ~/.cache/podlens/kv)' },
    manifest: { type: 'bool', help: 'print every included and excluded file' },
    json: { type: 'bool', help: 'one JSON object per answer' },
    ...ENGINE_FLAGS,
  },
  async run(f, io) {
    const ws = str(f, 'workspace');
    if (ws !== undefined && !fs.statSync(ws, { throwIfNoEntry: false })?.isDirectory())
      throw new UsageError(`--workspace ${ws} is not a folder`);
    const engine = await loadEngine(f, io, str(f, 'model')!);
    const maxTokens = num(f, 'max-tokens') ?? 256;
    // Room for the conversation: a quarter of the context, at most 1024 tokens, besides the answer.
    const budget =
      num(f, 'budget') ??
      Math.max(0, engine.contextSize - Math.min(1024, Math.floor(engine.contextSize / 4)) - maxTokens);
    const tokens = new PromptTokenizer(engine.tokenizer);
    // Counted with the session's memoized tokenizer: each block is tokenized once, for the budget and the prompt.
    const count = (t: string): number => tokens.text(t).length;
    const build = async (): Promise<WorkspaceContext | undefined> =>
      ws === undefined
        ? undefined
        : buildContext(new NodeFileSource(ws), { count, budgetTokens: budget, signal: io.signal });
    try {
      const store =
        ws !== undefined && !f['no-persist']
          ? await FilePrefixStore.open(engine, ws, { dir: str(f, 'cache-dir'), log: io.err })
          : undefined;
      const session = new PromptSession(engine, tokens, io.err);
      const history: ChatMessage[] = [];
      let ctx = await build();
      if (ctx) io.err(f.manifest ? formatManifest(ctx) : formatManifest(ctx).split('\n')[0]!);
      const rl = readline.createInterface({ input: process.stdin, terminal: false });
      const tty = process.stdin.isTTY === true;
      if (tty) process.stdout.write('> ');
      for await (const raw of rl) {
        const q = raw.trim();
        if (q === '/exit' || q === '/quit') break;
        if (q === '') {
          if (tty) process.stdout.write('> ');
          continue;
        }
        if (ctx) ctx = await build(); // picks up edits; only changed blocks are recomputed
        const r = await session.ask(
          { system: DEFAULT_SYSTEM, blocks: ctx?.blocks ?? [], messages: [...history, { role: 'user', content: q }] },
          {
            maxTokens,
            sampler: { temperature: num(f, 'temperature') ?? 0, seed: num(f, 'seed') ?? 0 },
            signal: io.signal,
            ...(store ? { store } : {}),
          },
          f.json ? undefined : (t) => process.stdout.write(t),
        );
        if (r.reason !== 'abort')
          history.push({ role: 'user', content: q }, { role: 'assistant', content: r.text.trim() });
        const ttftMs = r.stats.ttftMs;
        if (f.json)
          io.out(
            JSON.stringify({
              answer: r.text,
              reason: r.reason,
              reused: r.reused,
              computed: r.computed,
              ttftMs,
              how: r.how,
            }),
          );
        else {
          io.out('');
          io.err(`[${reuseLine(r)}; TTFT ${ttftMs.toFixed(0)} ms; ${r.how}; ${r.reason}]`);
        }
        if (io.signal.aborted) break;
        if (tty) process.stdout.write('> ');
      }
      rl.close();
    } finally {
      await engine.dispose();
    }
  },
};

export const SESSION_COMMANDS: Record<string, Command> = { summarize, chat };
