// The host ⇄ webview protocol, as types and as runtime validators (every incoming message is
// checked; a malformed one is logged and dropped by the receiver, never half-handled).
//
// Frames:
//   webview → host   { kind: 'ready', view }                       handshake: the host posts nothing before it
//                    { kind: 'request', id, method, params }       `RequestMap` says params and result per method
//                    { kind: 'abort', id }                         cancel an in-flight request (e.g. a chat answer)
//   host → webview   { kind: 'response', id, ok, result | error }  exactly one per request
//                    { kind: 'event', topic, data }                pushed state and stream events (`EventMap`)
// Streaming: an answer streams as `chat/delta` events keyed by turn id, whether a webview request
// or a command (Summarize) started it, so one render path serves both and a reopened panel is
// replayed from the host's transcript (`chat/transcript`). The `chat/send` response arrives when
// the answer is finished (or stopped), carrying its stats.
// Not here: how the host or the webview act on messages (src/host/webview/webview-channel.ts, webview/).
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
  Schema,
  string,
  tagged,
} from './validate';
import { CacheView, cacheViewSchema } from './cache-view';
import { ProfileEvent, profileEventSchema } from './profile-view';
import { ChatContextView, chatContextSchema, CHIP_KINDS, ChipKind, CodeParams, codeSchema } from './chat-context';

export const VIEWS = ['chat', 'visualizer'] as const;
export type ViewName = (typeof VIEWS)[number];

/** Longest text a webview may send in one request (1 MB of UTF-16). */
export const MAX_TEXT = 1 << 19;
/** Longest link a webview may ask the host to open. */
export const MAX_HREF = 8192;

// ---- values --------------------------------------------------------------------------------

const int0 = number({ integer: true, min: 0 });
const ms = number({ min: 0 });

export const answerStatsSchema = object({
  finishReason: oneOf(['eos', 'stop', 'length', 'context', 'abort'] as const),
  promptTokens: int0,
  reusedTokens: int0,
  generatedTokens: int0,
  ttftMs: ms,
  decodeTokensPerSecond: number({ min: 0 }),
  prefillTokensPerSecond: number({ min: 0 }),
  totalMs: ms,
  contextTokens: int0,
  contextSize: int0,
});
export type AnswerStats = Infer<typeof answerStatsSchema>;

const turnStatus = oneOf(['streaming', 'done', 'stopped', 'error'] as const);
export type TurnStatus = Infer<typeof turnStatus>;

export const turnSchema = object({
  id: int0,
  role: oneOf(['user', 'assistant'] as const),
  text: string({ maxLength: 8 * MAX_TEXT }),
  status: turnStatus,
  /** Extra line under the turn: what a summary covered, what was left out of the context. */
  note: optional(string({ maxLength: 4096 })),
  stats: optional(answerStatsSchema),
  error: optional(string({ maxLength: 4096 })),
  /** 'chat': asked in the chat (can be regenerated); 'command': a command's task (Summarize). */
  origin: optional(oneOf(['chat', 'command'] as const)),
});
export type Turn = Infer<typeof turnSchema>;

/**
 * How the loaded model's KV cache and context size were chosen (podlens.kv.cache and
 * podlens.engine.contextSize, `auto` / 0 by default), in words for the status bar and the
 * visualizer's header, and the memory budget an automatic context had to fit.
 */
export const loadChoiceSchema = object({
  /** The cache and why, one line: "PoD — auto: a profile ships next to the model (x.pod-profile.json)". */
  cache: string({ maxLength: 1024 }),
  /** The context size and why, one line: "32768 tokens — auto: the model's training context, within the 2.4 GB memory budget (…)". */
  context: string({ maxLength: 1024 }),
  /** Bytes an automatic context had to fit (weights + KV + runtime); absent for a fixed context size. */
  budgetBytes: optional(int0),
  /** Estimated memory of the model at its context (weights as ONNX Runtime holds them + KV + runtime). */
  estimateBytes: optional(int0),
});
export type LoadChoice = Infer<typeof loadChoiceSchema>;

export const modelStatusSchema = object({
  state: oneOf(['none', 'loading', 'ready', 'generating', 'error'] as const),
  /** File name of the model (never a full path: webviews do not need it). */
  model: optional(string({ maxLength: 512 })),
  contextSize: optional(int0),
  /** Set once a model is loaded: how its cache and context were chosen. */
  choice: optional(loadChoiceSchema),
  message: optional(string({ maxLength: 4096 })),
  lastTokensPerSecond: optional(number({ min: 0 })),
});
export type ModelStatus = Infer<typeof modelStatusSchema>;

// ---- requests (webview → host) -------------------------------------------------------------

export interface RequestMap {
  /** Ask in the chat; resolves when the answer is finished or stopped. */
  'chat/send': { params: { text: string }; result: { turnId: number; status: TurnStatus; stats?: AnswerStats } };
  /** Stop whatever is generating (same as the Stop Generation command). */
  'chat/stop': { params: Record<string, never>; result: { stopped: boolean } };
  /** Forget the transcript and the chat's cached tokens. */
  'chat/clear': { params: Record<string, never>; result: Record<string, never> };
  /** Drop the last answer (and its question) and ask the question again. */
  'chat/regenerate': {
    params: Record<string, never>;
    result: { turnId: number; status: TurnStatus; stats?: AnswerStats };
  };
  /** Remove a context chip from the prompt, or add it back. */
  'chat/chip': { params: { kind: ChipKind; enabled: boolean }; result: Record<string, never> };
  /** A code block's buttons: host clipboard, insert at the editor's cursor, open as a new file. */
  'code/copy': { params: CodeParams; result: Record<string, never> };
  'code/insert': { params: CodeParams; result: Record<string, never> };
  'code/open': { params: CodeParams; result: Record<string, never> };
  /** A link in rendered markdown was clicked: the host checks the scheme and opens it externally
   *  (VS Code asks about untrusted domains); `opened` is false when the user declined. */
  'link/open': { params: { href: string }; result: { opened: boolean } };
}
export type Method = keyof RequestMap;

const empty = object({});
const paramSchemas: { [M in Method]: Schema<RequestMap[M]['params']> } = {
  'chat/send': object({ text: string({ maxLength: MAX_TEXT }) }),
  'chat/stop': empty,
  'chat/clear': empty,
  'chat/regenerate': empty,
  'chat/chip': object({ kind: oneOf(CHIP_KINDS), enabled: boolean }),
  'code/copy': codeSchema,
  'code/insert': codeSchema,
  'code/open': codeSchema,
  'link/open': object({ href: string({ minLength: 1, maxLength: MAX_HREF }) }),
};
const resultSchemas: { [M in Method]: Schema<RequestMap[M]['result']> } = {
  'chat/send': object({ turnId: int0, status: turnStatus, stats: optional(answerStatsSchema) }),
  'chat/stop': object({ stopped: boolean }),
  'chat/clear': empty,
  'chat/regenerate': object({ turnId: int0, status: turnStatus, stats: optional(answerStatsSchema) }),
  'chat/chip': empty,
  'code/copy': empty,
  'code/insert': empty,
  'code/open': empty,
  'link/open': object({ opened: boolean }),
};

// ---- events (host → webview) ---------------------------------------------------------------

export interface EventMap {
  'model/status': ModelStatus;
  /** The whole transcript: sent after `ready` and after a clear (replay). */
  'chat/transcript': { turns: Turn[] };
  'chat/turn': Turn;
  'chat/delta': { turnId: number; text: string };
  /** Progress line while an answer is on its way (prefill, "part 2 of 3"). */
  'chat/progress': { turnId: number; label: string };
  /** The turn's final state (replaces its status/stats/note/error; text is already streamed). */
  'chat/finish': { turnId: number; status: TurnStatus; stats?: AnswerStats; note?: string; error?: string };
  'cache/view': { view: CacheView | null; updatedAt: number };
  /** The calibration profile named by podlens.kv.profile (the visualizer's heatmap), or null and why. */
  'cache/profile': ProfileEvent;
  /** The context chips and the token meter (after ready, on changes, after each answer). */
  'chat/context': ChatContextView;
}
export type Topic = keyof EventMap;

const eventSchemas: { [T in Topic]: Schema<EventMap[T]> } = {
  'model/status': modelStatusSchema,
  'chat/transcript': object({ turns: array(turnSchema, { maxLength: 10_000 }) }),
  'chat/turn': turnSchema,
  'chat/delta': object({ turnId: int0, text: string({ maxLength: MAX_TEXT }) }),
  'chat/progress': object({ turnId: int0, label: string({ maxLength: 256 }) }),
  'chat/finish': object({
    turnId: int0,
    status: turnStatus,
    stats: optional(answerStatsSchema),
    note: optional(string({ maxLength: 4096 })),
    error: optional(string({ maxLength: 4096 })),
  }),
  'cache/view': object({ view: nullable(cacheViewSchema), updatedAt: ms }),
  'cache/profile': profileEventSchema,
  'chat/context': chatContextSchema,
};

// ---- frames --------------------------------------------------------------------------------

export type RequestFrame = {
  [M in Method]: { kind: 'request'; id: number; method: M; params: RequestMap[M]['params'] };
}[Method];
export type WebviewToHost = { kind: 'ready'; view: ViewName } | RequestFrame | { kind: 'abort'; id: number };

export type ResponseFrame =
  | { [M in Method]: { kind: 'response'; id: number; ok: true; method: M; result: RequestMap[M]['result'] } }[Method]
  | { kind: 'response'; id: number; ok: false; method: Method; error: string };
export type EventFrame = { [T in Topic]: { kind: 'event'; topic: T; data: EventMap[T] } }[Topic];
export type HostToWebview = ResponseFrame | EventFrame;

const reqId = number({ integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
const methodSchema = oneOf(Object.keys(paramSchemas) as Method[]);
const topicSchema = oneOf(Object.keys(eventSchemas) as Topic[]);
/** Accepts anything; the caller validates it with the method's or topic's schema right after. */
const anyValue: Schema<unknown> = { describe: 'any', check: (value) => ({ ok: true, value }) };

const webviewFrame = tagged('kind', {
  ready: object({ kind: literal('ready'), view: oneOf(VIEWS) }),
  request: object({ kind: literal('request'), id: reqId, method: methodSchema, params: anyValue }),
  abort: object({ kind: literal('abort'), id: reqId }),
});

/** Validate a message a webview posted: the frame, then the params against the method's schema. */
export function parseWebviewMessage(v: unknown): Check<WebviewToHost> {
  const frame = webviewFrame.check(v);
  if (!frame.ok) return frame;
  const f = frame.value;
  if (f.kind !== 'request') return frame as Check<WebviewToHost>;
  const p = paramSchemas[f.method].check(f.params, 'params');
  if (!p.ok) return p;
  return { ok: true, value: { kind: 'request', id: f.id, method: f.method, params: p.value } as RequestFrame };
}

const hostFrame = tagged('kind', {
  response: object({
    kind: literal('response'),
    id: reqId,
    ok: boolean,
    method: methodSchema,
    result: optional(anyValue),
    error: optional(string({ maxLength: 4096 })),
  }),
  event: object({ kind: literal('event'), topic: topicSchema, data: anyValue }),
});

/** Validate a message the host posted (the webview's side of the same contract). */
export function parseHostMessage(v: unknown): Check<HostToWebview> {
  const frame = hostFrame.check(v);
  if (!frame.ok) return frame;
  const f = frame.value;
  if (f.kind === 'event') {
    const d = eventSchemas[f.topic].check(f.data, 'data');
    return d.ok ? { ok: true, value: { kind: 'event', topic: f.topic, data: d.value } as EventFrame } : d;
  }
  if (f.ok) {
    if (f.error !== undefined) return { ok: false, error: 'error: a successful response has no error' };
    const r = resultSchemas[f.method].check(f.result, 'result');
    return r.ok
      ? {
          ok: true,
          value: { kind: 'response', id: f.id, ok: true, method: f.method, result: r.value } as ResponseFrame,
        }
      : r;
  }
  if (f.error === undefined) return { ok: false, error: 'error: a failed response needs an error string' };
  return { ok: true, value: { kind: 'response', id: f.id, ok: false, method: f.method, error: f.error } };
}
