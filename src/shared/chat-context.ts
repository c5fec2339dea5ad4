// What the chat shows about its prompt, as types and runtime validators (src/shared/protocol.ts
// carries them in the `chat/context` event and the `chat/chip` and `code/*` requests):
//   - context chips: workspace, current file, selection — each on or off, and what the host put
//     (or will put) into the prompt for it: files, tokens, lines;
//   - the token meter: tokens the next prompt starts with (system + context + conversation), the
//     context window, the tokens reserved for the answer, and what was left out to fit.
// Types only (and validators); the host builds them (src/host/chat/chat-context.ts), the webview draws them.
import { array, boolean, Infer, number, object, oneOf, optional, string } from './validate';

const int0 = number({ integer: true, min: 0 });

export const CHIP_KINDS = ['workspace', 'file', 'selection'] as const;
export type ChipKind = (typeof CHIP_KINDS)[number];

export const chipSchema = object({
  kind: oneOf(CHIP_KINDS),
  /** The user wants it in the prompt (a removed chip can be added back). */
  enabled: boolean,
  /** There is something to add: a workspace folder, an open file, a non-empty selection. */
  available: boolean,
  /** "Workspace", "predict.ts", "Selection (lines 3–9)". */
  label: string({ maxLength: 256 }),
  /** Tooltip: the files included, or why nothing was. */
  detail: string({ maxLength: 8192 }),
  /** Tokens it puts in the prompt; absent until counted (the model is not loaded yet). */
  tokens: optional(int0),
  /** Files included (the workspace chip). */
  files: optional(int0),
});
export type ContextChip = Infer<typeof chipSchema>;

export const meterSchema = object({
  /** Tokens of the next prompt before the question: system, context chips, conversation. */
  used: int0,
  /** The context window; 0 when no model is loaded (nothing counted yet). */
  window: int0,
  /** Tokens kept free for the answer (podlens.generation.maxTokens). */
  reserved: int0,
  /** ok: fits; warn: above 85% of the window; over: something is left out to fit. */
  level: oneOf(['ok', 'warn', 'over'] as const),
  /** What is left out of the prompt, one line each ("src/big.ts: over the token budget", "2 earliest messages"). */
  leftOut: array(string({ maxLength: 1024 }), { maxLength: 200 }),
});
export type TokenMeter = Infer<typeof meterSchema>;

export const chatContextSchema = object({
  chips: array(chipSchema, { maxLength: CHIP_KINDS.length }),
  meter: meterSchema,
});
export type ChatContextView = Infer<typeof chatContextSchema>;

/** Longest code block a webview may hand to Copy / Insert / Open (1 MB of UTF-16). */
export const MAX_CODE = 1 << 19;
/** A fence's language: letters, digits and a few separators ("ts", "c++", "objective-c"). */
export const languageSchema = string({ maxLength: 64 });
export const codeSchema = object({ code: string({ maxLength: MAX_CODE }), language: optional(languageSchema) });
export type CodeParams = Infer<typeof codeSchema>;
