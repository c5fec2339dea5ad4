// The host ⇄ engine-worker message channel: types and runtime validators for both directions.
// The engine runs in a worker_threads worker (src/worker/main.ts) so that prefill and decode never
// block the extension host's event loop; the host side is src/host/engine-client.ts.
//   host → worker: load, generate (a structured chat prompt — system text, workspace blocks as
//                  path + file text, the conversation — in a named session that tokenizes it and
//                  keeps its KV cache for prefix reuse, src/context/session.ts; with `persist`, the
//                  workspace prefix's KV state is saved in and restored from a store folder),
//                  count (token counts for budgets and chunking), reset (drop a session),
//                  summarize (map-reduce over texts, src/context/summarize.ts), calibrate (a PoD
//                  profile written to a file, src/engine/calibrate.ts), abort (generate,
//                  summarize, calibrate)
//   worker → host: loaded, prefill, delta, done, counts, snapshot (throttled KV-cache snapshots),
//                  progress (one line, summarize/calibrate), summary, calibrated,
//                  log (one line for the output channel: a persisted state restored, rejected
//                  and why, saved, evicted), ok, error (typed: name + message that says what to do)
// Not here: vscode (this folder never imports it), rendering, settings.
import {
  array,
  boolean,
  Check,
  Infer,
  literal,
  nullable,
  number,
  object,
  oneOf,
  optional,
  string,
  tagged,
} from '../shared/validate';
import { snapshotWireSchema } from '../shared/cache-view';

const id = number({ integer: true, min: 0 });
const int0 = number({ integer: true, min: 0 });
const text = string({ maxLength: 64 * 2 ** 20 });

export const samplerSchema = object({
  temperature: number({ min: 0 }),
  topK: int0,
  topP: number({ min: 0, max: 1 }),
  minP: number({ min: 0, max: 1 }),
  repeatPenalty: number({ min: 0 }),
  seed: number({ integer: true }),
});
export type SamplerSettings = Infer<typeof samplerSchema>;

/** The KV cache the model is loaded for (src/engine/kv/plan.ts `KVSpec`; the graph is built for it). */
export const kvSpecSchema = object({
  kind: oneOf(['full', 'pod', 'streaming'] as const),
  sinks: optional(number({ integer: true, min: 0 })),
  recent: optional(number({ integer: true, min: 1 })),
  groupSize: optional(number({ integer: true, min: 1 })),
  mode: optional(oneOf(['scores', 'keys'] as const)),
  /** PoD profile file (podlens calibrate): its blocks, sinks and recent window replace the uniform ones. */
  profile: optional(string({ maxLength: 4096 })),
  /** PoD: distant keys/values in low-bit storage with per-(token, head) scales (kv/plan.ts DistantQuant). */
  distantQuant: optional(oneOf(['int8', 'int4'] as const)),
});
export type KVSettings = Infer<typeof kvSpecSchema>;

const message = object({ role: oneOf(['system', 'user', 'assistant'] as const), content: text });
const filePath = string({ maxLength: 4096 });
/** A workspace block (src/context/build.ts `PromptBlock`): the worker renders and tokenizes it. */
const block = object({
  path: filePath,
  role: oneOf(['file', 'active', 'selection'] as const),
  text,
  lines: optional(object({ start: number({ integer: true, min: 1 }), end: number({ integer: true, min: 1 }) })),
});

/**
 * Where a session's workspace prefix (system text and workspace blocks) is persisted: the store of
 * src/context/store.ts for this workspace folder (file names start with its hash, so Clear
 * Workspace Cache finds them), in `dir` (podlens.cache.directory resolved), capped at `capBytes`
 * (podlens.cache.maxSizeMB) with the least recently used states evicted.
 */
export const persistSchema = object({
  workspace: filePath,
  dir: filePath,
  capBytes: int0,
});
export type PersistTarget = Infer<typeof persistSchema>;

/** The session name on the snapshots of a summarize job's cache (what the visualizer says it shows). */
export const SUMMARY_SESSION = 'summarize';

export const toWorkerSchema = tagged('type', {
  load: object({
    type: literal('load'),
    id,
    path: string({ maxLength: 4096 }),
    threads: optional(number({ integer: true, min: 1, max: 256 })),
    /** Tokens (≥ 16); 0: automatic, the largest that fits the memory budget (Engine.load); absent: the engine's default. */
    contextSize: optional(number({ integer: true, min: 0 })),
    kv: optional(kvSpecSchema),
  }),
  generate: object({
    type: literal('generate'),
    id,
    /** Session name: its KV cache and token ids are kept so the next prompt reuses the common prefix. */
    session: string({ maxLength: 64 }),
    /** The system text, before the workspace (absent: a leading system message in `messages`, or none). */
    system: optional(text),
    /** The workspace context in cache order; an edit recomputes from the edited block on. */
    blocks: optional(array(block, { maxLength: 1_000_000 })),
    /** The conversation, the question last. */
    messages: array(message, { maxLength: 10_000 }),
    maxTokens: number({ integer: true, min: 1 }),
    sampler: samplerSchema,
    stop: array(string({ maxLength: 256 }), { maxLength: 16 }),
    /** Drop the oldest conversation messages (keeping the last) until prompt + maxTokens fits. */
    trimToFit: boolean,
    /** Minimum time between cache snapshots while generating (0 = only at the end). */
    snapshotEveryMs: number({ min: 0 }),
    /** Save the workspace prefix's KV state here, and restore it into a new (empty) session. */
    persist: optional(persistSchema),
  }),
  count: object({ type: literal('count'), id, texts: array(text, { maxLength: 1_000_000 }) }),
  reset: object({ type: literal('reset'), id, session: string({ maxLength: 64 }) }),
  summarize: object({
    type: literal('summarize'),
    id,
    /** `firstLine`: the 1-based line of the text's first line in its file (a selection). */
    docs: array(object({ path: filePath, text, firstLine: optional(number({ integer: true, min: 1 })) }), {
      maxLength: 1_000_000,
    }),
    maxTokens: number({ integer: true, min: 1 }),
    sampler: optional(samplerSchema),
    /** What the texts are, for the reduce step's prompt ("the folder src/engine"); default: the file, or "a folder of N files". */
    subject: optional(string({ maxLength: 1024 })),
    /** Minimum time between snapshots of the summary's cache (session SUMMARY_SESSION) while it runs (0 = only after each step). */
    snapshotEveryMs: optional(number({ min: 0 })),
  }),
  calibrate: object({
    type: literal('calibrate'),
    id,
    /** The model file to calibrate (loaded again with a full f32 cache, beside any loaded model). */
    model: filePath,
    texts: array(object({ name: filePath, text }), { maxLength: 10_000 }),
    /** Where the profile JSON is written. */
    out: filePath,
    contextSize: optional(number({ integer: true, min: 16 })),
    threads: optional(number({ integer: true, min: 1, max: 256 })),
  }),
  abort: object({ type: literal('abort'), id }),
});
export type ToWorker = Infer<typeof toWorkerSchema>;

export const modelInfoSchema = object({
  name: string({ maxLength: 512 }),
  arch: string({ maxLength: 64 }),
  nLayers: int0,
  nKVHeads: int0,
  headDim: int0,
  contextSize: int0,
  /** The engine's one-line description of the KV cache ("full", "PoD scores (sinks 16, …)"). */
  kv: string({ maxLength: 256 }),
  weightBytes: int0,
  kvBytes: int0,
  /** Estimated memory at this context: weights as ONNX Runtime holds them + KV cache + runtime. */
  estimateBytes: optional(int0),
  /** The model's training context. */
  trainContext: optional(int0),
  /** Present when the context size was automatic: the budget it had to fit and what stopped it. */
  autoContext: optional(
    object({
      budgetBytes: int0,
      /** Free memory the budget was taken from. */
      freeBytes: int0,
      /** 'training': the training context fits; 'memory': the budget stopped it below. */
      limit: oneOf(['training', 'memory'] as const),
    }),
  ),
  loadMs: number({ min: 0 }),
});
export type ModelInfo = Infer<typeof modelInfoSchema>;

const statsSchema = object({
  promptTokens: int0,
  reusedTokens: int0,
  generatedTokens: int0,
  ttftMs: number({ min: 0 }),
  prefillMs: number({ min: 0 }),
  prefillTokensPerSecond: number({ min: 0 }),
  decodeMs: number({ min: 0 }),
  decodeTokensPerSecond: number({ min: 0 }),
  totalMs: number({ min: 0 }),
  kvBytes: int0,
  contextTokens: int0,
});
export type WorkerStats = Infer<typeof statsSchema>;
const finishReason = oneOf(['eos', 'stop', 'length', 'context', 'abort'] as const);

export const fromWorkerSchema = tagged('type', {
  loaded: object({ type: literal('loaded'), id, info: modelInfoSchema }),
  prefill: object({ type: literal('prefill'), id, done: int0, total: int0 }),
  delta: object({ type: literal('delta'), id, text }),
  done: object({
    type: literal('done'),
    id,
    reason: finishReason,
    text,
    stats: statsSchema,
    /** Messages left out (oldest first) so the prompt fit the context. */
    droppedMessages: int0,
    contextSize: int0,
    /** Prompt tokens whose KV state was restored from disk (`persist`) instead of computed. */
    restoredTokens: optional(int0),
    /** Tokens of each workspace block as the session tokenized it (prompt order): what the chips and meter must show. */
    blockTokens: optional(array(int0, { maxLength: 1_000_000 })),
  }),
  counts: object({ type: literal('counts'), id, counts: array(int0, { maxLength: 1_000_000 }) }),
  snapshot: object({ type: literal('snapshot'), session: string({ maxLength: 64 }), snapshot: snapshotWireSchema }),
  progress: object({ type: literal('progress'), id, message: string({ maxLength: 1024 }) }),
  summary: object({
    type: literal('summary'),
    id,
    summary: text,
    note: string({ maxLength: 8192 }),
    parts: int0,
    partsDone: int0,
    rounds: int0,
    complete: boolean,
    inputTokens: int0,
    /** With a folder's files, each file's own summary (summarize.ts Coverage). */
    covered: array(
      object({ path: filePath, startLine: int0, endLine: int0, totalLines: int0, summary: optional(text) }),
      { maxLength: 1_000_000 },
    ),
    /** The last generation (the step that wrote the summary, or where it stopped); absent when none ran. */
    last: optional(object({ reason: finishReason, stats: statsSchema, contextSize: int0 })),
  }),
  calibrated: object({
    type: literal('calibrated'),
    id,
    out: filePath,
    nonAnchorShare: number({ min: 0, max: 1 }),
    texts: array(object({ name: filePath, tokens: int0 }), { maxLength: 10_000 }),
    /** anchors[layer][kvHead] (the profile's blocks). */
    anchors: array(array(int0, { maxLength: 4096 }), { maxLength: 4096 }),
    seconds: number({ min: 0 }),
  }),
  log: object({ type: literal('log'), message: string({ maxLength: 8192 }) }),
  ok: object({ type: literal('ok'), id }),
  error: object({
    type: literal('error'),
    id: nullable(id),
    name: string({ maxLength: 128 }),
    message: string({ maxLength: 8192 }),
  }),
});
export type FromWorker = Infer<typeof fromWorkerSchema>;

export const parseToWorker = (v: unknown): Check<ToWorker> => toWorkerSchema.check(v);
export const parseFromWorker = (v: unknown): Check<FromWorker> => fromWorkerSchema.check(v);
