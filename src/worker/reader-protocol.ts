// The host ⇄ reader-worker message channel: types and runtime validators for both directions.
// The reader worker (src/worker/reader-main.ts) is a small worker_threads thread, separate from
// the engine worker (whose jobs run one at a time, so a read queued there would wait behind a
// generation): it probes GGUF headers for model discovery and reads workspaces (walk, decode,
// exclude, tokenize with the model's own tokenizer) so none of that runs on the extension host's
// thread. The host side is src/host/workspace/reader-client.ts.
//   host → reader: probe (one GGUF file's header check), read (a workspace folder, with progress),
//                  abort (a read)
//   reader → host: probed, progress (a read's ReadProgress), read (the ReadResult and the
//                  reader's memory), error (name + message)
// Not here: vscode, the walking and counting themselves (src/context/read.ts).
import {
  array,
  boolean,
  Infer,
  literal,
  number,
  object,
  oneOf,
  optional,
  string,
  tagged,
  Check,
} from '../shared/validate';

const id = number({ integer: true, min: 0 });
const int0 = number({ integer: true, min: 0 });
const ms = number({ min: 0 });
const filePath = string({ maxLength: 4096 });

const limitsSchema = object({
  maxFileBytes: optional(int0),
  maxFiles: optional(int0),
  maxTotalBytes: optional(int0),
  maxDepth: optional(int0),
  maxEntries: optional(int0),
  maxMs: optional(int0),
  maxListedExclusions: optional(int0),
});

export const toReaderSchema = tagged('type', {
  probe: object({ type: literal('probe'), id, file: filePath }),
  read: object({
    type: literal('read'),
    id,
    /** The folder to read (absolute). */
    root: filePath,
    /** GGUF file whose tokenizer counts the tokens; absent: nothing is counted. */
    model: optional(filePath),
    /** Tokens the prompt has room for; absent: every file is counted. */
    budgetTokens: optional(int0),
    include: optional(array(string({ maxLength: 1024 }), { maxLength: 256 })),
    ignore: optional(string({ maxLength: 256 * 1024 })),
    limits: optional(limitsSchema),
    keepTexts: optional(oneOf(['counted', 'all'] as const)),
    progressEveryMs: optional(ms),
  }),
  /** `sentAt`: the host's Date.now() when it asked (the reader says how many files it counted after that). */
  abort: object({ type: literal('abort'), id, sentAt: optional(number()) }),
});
export type ToReader = Infer<typeof toReaderSchema>;
export type ReadRequest = Omit<Extract<ToReader, { type: 'read' }>, 'type' | 'id'>;

const progressSchema = object({
  phase: oneOf(['scan', 'count'] as const),
  filesSeen: int0,
  filesDone: int0,
  filesTotal: int0,
  tokens: int0,
  elapsedMs: ms,
  etaMs: optional(ms),
});

const exclusionSchema = object({ path: filePath, reason: string({ maxLength: 1024 }), bytes: optional(int0) });

export const readResultSchema = object({
  files: array(
    object({
      path: filePath,
      bytes: int0,
      mtimeMs: number(),
      encoding: string({ maxLength: 32 }),
      tokens: optional(int0),
      text: optional(string({ maxLength: 64 * 2 ** 20 })),
    }),
    { maxLength: 1_000_000 },
  ),
  excluded: array(exclusionSchema, { maxLength: 1_000_000 }),
  unlisted: int0,
  stopped: optional(string({ maxLength: 1024 })),
  skipped: array(
    object({
      rule: oneOf(['built-in list', '.podlensignore', 'podlens.context.exclude'] as const),
      count: int0,
      examples: array(filePath, { maxLength: 16 }),
    }),
    { maxLength: 8 },
  ),
  notRead: array(filePath, { maxLength: 1_000_000 }),
  tokens: int0,
  filesSeen: int0,
  walkMs: ms,
  countMs: ms,
});

/** The reader thread's memory while it worked (its own V8 heap; RSS is the whole process's). */
export const readerMemorySchema = object({
  /** Largest JS heap used by the reader thread, sampled after each file and at the end. */
  peakHeapBytes: int0,
  /** The process's peak resident set (editor + every thread) when the read ended. */
  maxRssBytes: int0,
  /** Time spent building the tokenizer from the GGUF file (0 when it was cached). */
  tokenizerMs: ms,
});
export type ReaderMemory = Infer<typeof readerMemorySchema>;

export const fromReaderSchema = tagged('type', {
  probed: object({ type: literal('probed'), id, supported: boolean, note: string({ maxLength: 8192 }) }),
  progress: object({ type: literal('progress'), id, progress: progressSchema }),
  read: object({ type: literal('read'), id, result: readResultSchema, memory: readerMemorySchema }),
  error: object({ type: literal('error'), id, name: string({ maxLength: 128 }), message: string({ maxLength: 8192 }) }),
});
export type FromReader = Infer<typeof fromReaderSchema>;
export type ReadDone = Extract<FromReader, { type: 'read' }>;

export const parseToReader = (v: unknown): Check<ToReader> => toReaderSchema.check(v);
export const parseFromReader = (v: unknown): Check<FromReader> => fromReaderSchema.check(v);
