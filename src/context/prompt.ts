// A chat prompt with a workspace, as the engine session gets it, and its token ids. The prompt is
// structured — system text, workspace blocks (path + text, in cache order: build.ts), the
// conversation — and rendered through the model's chat template as one system message
// "system text, CONTEXT_HEADER, block, block, …" followed by the conversation. This module is
// the one place that tokenizes it: each block is tokenized on its own (memoized by its text, so a
// file is tokenized once however many turns include it), the template around the system message
// and the conversation with the tokenizer's chat parts (template text parsed for control tokens,
// contents never). The ids are therefore the concatenation head | block ids … | tail, and the
// result says where each block starts — the boundaries the session checkpoints at. Not here: the
// KV cache (session.ts), choosing the files (build.ts).
import { ChatMessage, Tokenizer } from '../engine/tokenizer';
import { PromptBlock, renderBlock } from './build';

export interface SessionPrompt {
  /** Text before the workspace in the system message ('' or absent: none). */
  system?: string;
  /** The workspace context, in cache order. */
  blocks?: readonly PromptBlock[];
  /** The conversation: user and assistant turns, the question last. */
  messages: readonly ChatMessage[];
}

export interface PromptIds {
  ids: number[];
  /** Tokens of the system message up to the end of the workspace: the part every turn shares. */
  prefix: number;
  /** Where each block starts (ascending; empty without blocks). */
  starts: number[];
}

/** Ends with one newline, like each block (build.ts fileBlock: why). */
export const CONTEXT_HEADER =
  "The user's workspace follows: files, then the file open in the editor, then the selection.\n";
const MARK = '\u0000PODLENS_WORKSPACE\u0000';

/** The system message's content for a system text and workspace blocks ('' when there is neither). */
export function systemContent(
  system: string | undefined,
  blocks: readonly PromptBlock[],
  mark = blocks.map(renderBlock).join(''),
): string {
  return [system ?? '', blocks.length > 0 ? CONTEXT_HEADER + mark : ''].filter(Boolean).join('\n\n');
}

export class PromptTokenizer {
  private readonly memo = new Map<string, number[]>();

  constructor(
    readonly tokenizer: Tokenizer,
    private readonly maxEntries = 8192,
  ) {}

  /** Ids of a plain text (no BOS, control-token text stays text), remembered by text (least recently used dropped). */
  text(t: string): number[] {
    let ids = this.memo.get(t);
    if (ids) this.memo.delete(t);
    else ids = t.length === 0 ? [] : this.tokenizer.encode(t, { addBos: false, parseSpecial: false });
    this.memo.set(t, ids);
    for (const k of this.memo.keys()) {
      if (this.memo.size <= this.maxEntries) break;
      this.memo.delete(k);
    }
    return ids;
  }

  /** Ids of the whole prompt, ending with the assistant's generation prompt. */
  render(p: SessionPrompt): PromptIds {
    let { system, messages } = p;
    const blocks = p.blocks ?? [];
    // A leading system message (VS Code's chat APIs send one) is the system text.
    if (!system && blocks.length === 0 && messages[0]?.role === 'system') {
      system = messages[0].content;
      messages = messages.slice(1);
    }
    const content = systemContent(system, blocks, MARK);
    const tok = this.tokenizer;
    if (!content) return { ids: tok.encodeChat(messages, { addGenerationPrompt: true }), prefix: 0, starts: [] };
    const withMark = blocks.length > 0 ? content : content + MARK;
    const parts = tok.chatParts([{ role: 'system', content: withMark }, ...messages], { addGenerationPrompt: true });
    const k = parts?.findIndex((x) => !x.special && x.text.includes(MARK)) ?? -1;
    if (!parts || k < 0) {
      if (blocks.length > 0)
        throw new Error("the model's chat template drops or rewrites the system message; it cannot hold a workspace");
      return {
        ids: tok.encodeChat([{ role: 'system', content }, ...messages], { addGenerationPrompt: true }),
        prefix: 0,
        starts: [],
      };
    }
    const at = parts[k]!.text.indexOf(MARK);
    const headParts = [...parts.slice(0, k), { text: parts[k]!.text.slice(0, at), special: false }];
    const key = `\u0001${headParts.map((x) => `${x.special ? 1 : 0}${x.text}`).join('\u0001')}`;
    const head = this.memo.get(key) ?? tok.encodeParts(headParts, { addBos: false });
    this.memo.set(key, head);
    const ids = head.slice();
    const starts: number[] = [];
    const append = (xs: readonly number[]): void => {
      for (const x of xs) ids.push(x);
    };
    for (const b of blocks) {
      starts.push(ids.length);
      append(this.text(renderBlock(b)));
    }
    const prefix = ids.length;
    append(
      tok.encodeParts([{ text: parts[k]!.text.slice(at + MARK.length), special: false }, ...parts.slice(k + 1)], {
        addBos: false,
      }),
    );
    return { ids, prefix, starts };
  }
}
