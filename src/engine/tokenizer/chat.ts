// Chat prompt rendering: the model's own Jinja chat template (tokenizer.chat_template) through
// @huggingface/jinja, or a built-in ChatML / Llama-3 template when the file has none.
import { Template } from '@huggingface/jinja';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** ChatML, as llama.cpp's built-in chatml template renders it. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * Llama 3, as llama.cpp's built-in llama3 template renders it: no BOS text (encode() adds the BOS
 * id when the model asks for it), message content trimmed.
 */
export const LLAMA3_TEMPLATE =
  "{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + (message['content'] | trim) + '<|eot_id|>' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

export interface ChatTemplateContext {
  bosToken: string;
  eosToken: string;
}

export class ChatTemplate {
  private compiled: Template | undefined;

  constructor(
    readonly source: string,
    /** 'model' when it comes from the GGUF file, else the name of the built-in fallback. */
    readonly origin: 'model' | 'chatml' | 'llama3',
    private readonly ctx: ChatTemplateContext,
  ) {}

  /** Pick the model's template, else a fallback chosen by vocabulary (<|eot_id|> → Llama 3, else ChatML). */
  static select(modelTemplate: string | undefined, hasEotId: boolean, ctx: ChatTemplateContext): ChatTemplate {
    if (modelTemplate !== undefined && modelTemplate.trim() !== '')
      return new ChatTemplate(modelTemplate, 'model', ctx);
    return hasEotId
      ? new ChatTemplate(LLAMA3_TEMPLATE, 'llama3', ctx)
      : new ChatTemplate(CHATML_TEMPLATE, 'chatml', ctx);
  }

  render(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
    if (!this.compiled) {
      try {
        this.compiled = new Template(this.source);
      } catch (e) {
        throw new Error(`chat template (${this.origin}) does not parse: ${(e as Error).message}`);
      }
    }
    return this.compiled.render({
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: addGenerationPrompt,
      bos_token: this.ctx.bosToken,
      eos_token: this.ctx.eosToken,
    });
  }
}
