// The local model as a VS Code language model (vendor "podlens", contributes
// .languageModelChatProviders): VS Code's chat view and any extension calling
// vscode.lm.selectChatModels({ vendor: 'podlens' }) get answers from the engine worker, streamed
// as text parts, cancellable. One model is offered: the configured GGUF file (nothing is listed
// while no file is configured or found). The model loads on the first request, not on listing.
// Registered only when this VS Code has the provider API (1.104+, see lm-api.ts).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Core } from '../core';
import { LanguageModelApi, languageModelApi, LanguageModelChatInformation, LanguageModelChatProvider } from './lm-api';
import { lmMessages, partsText, streamAnswer, withModelOptions } from './native-chat-core';
import { resolveModelPath } from '../settings';

/** contributes.languageModelChatProviders[0].vendor */
export const LM_VENDOR = 'podlens';
export const LM_MODEL_ID = 'podlens-local';

export function registerLanguageModelProvider(
  context: vscode.ExtensionContext,
  core: Core,
  api: LanguageModelApi | null = languageModelApi(),
): LanguageModelChatProvider | null {
  if (!api) {
    core.log(
      'this VS Code has no language-model provider API (1.104+): the PodLens model is offered through @podlens only',
    );
    return null;
  }
  const changed = new vscode.EventEmitter<void>();
  context.subscriptions.push(
    changed,
    core.model.onDidChangeStatus((s) => {
      if (s.state !== 'generating') changed.fire();
    }),
  );
  const provider: LanguageModelChatProvider = {
    onDidChangeLanguageModelChatInformation: changed.event,
    provideLanguageModelChatInformation(): LanguageModelChatInformation[] {
      const s = core.settings();
      const file = resolveModelPath(s, core.extensionUri.fsPath, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
      if (!file) return [];
      const info = core.client.info;
      const window = info?.contextSize ?? (s.contextSize > 0 ? s.contextSize : 4096);
      const output = Math.min(s.maxTokens, Math.floor(window / 2));
      return [
        {
          id: LM_MODEL_ID,
          name: `PodLens ${path.basename(file, '.gguf')}`,
          family: info?.arch ?? 'gguf',
          version: info?.name ?? path.basename(file),
          detail: 'local',
          tooltip: `${file} on this machine (ONNX Runtime${info ? `, KV cache ${info.kv}` : ''}); nothing leaves the machine`,
          maxInputTokens: window - output,
          maxOutputTokens: output,
          capabilities: {},
        },
      ];
    },
    async provideLanguageModelChatResponse(_model, messages, options, progress, token): Promise<void> {
      const engineMessages = lmMessages(messages);
      if (engineMessages.length === 0) throw new Error('PodLens: the request has no text messages');
      const client = await core.model.ensureLoaded();
      const s = core.settings();
      const o = withModelOptions(s.sampler, s.maxTokens, options.modelOptions);
      const done = await streamAnswer(
        client,
        { messages: engineMessages, ...o },
        (t) => progress.report(new api.TextPart(t)),
        token,
      );
      core.log(
        `language model: ${done.stats.generatedTokens} tokens (${done.reason}), ${done.stats.reusedTokens} of ${done.stats.promptTokens} prompt tokens reused`,
      );
    },
    async provideTokenCount(_model, text): Promise<number> {
      const t = typeof text === 'string' ? text : partsText(text.content);
      // Without a loaded model, an estimate (never load a model just to count).
      if (!core.client.info) return Math.ceil(t.length / 4);
      const [n = 0] = await core.client.count([t]);
      return n;
    },
  };
  context.subscriptions.push(api.registerLanguageModelChatProvider(LM_VENDOR, provider));
  return provider;
}
