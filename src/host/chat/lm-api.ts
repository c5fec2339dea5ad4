// The language-model chat provider API (vscode.lm.registerLanguageModelChatProvider, finalized in
// VS Code 1.104), declared here because the pinned @types/vscode (1.90, matching engines.vscode
// ^1.90.0) predates it. Only the members PodLens uses, copied in shape from @types/vscode 1.105.
// `languageModelApi()` feature-detects it at run time: on an older VS Code it returns null and
// the extension activates without the provider (the @podlens chat participant is 1.90 API).
import * as vscode from 'vscode';

/** vscode.LanguageModelChatInformation */
export interface LanguageModelChatInformation {
  readonly id: string;
  readonly name: string;
  readonly family: string;
  readonly tooltip?: string;
  readonly detail?: string;
  readonly version: string;
  readonly maxInputTokens: number;
  readonly maxOutputTokens: number;
  readonly capabilities: { readonly imageInput?: boolean; readonly toolCalling?: boolean | number };
}

/** vscode.LanguageModelChatRequestMessage: content parts are text parts ({ value }) or others we ignore. */
export interface LanguageModelChatRequestMessage {
  readonly role: vscode.LanguageModelChatMessageRole;
  readonly content: ReadonlyArray<unknown>;
  readonly name: string | undefined;
}

/** vscode.ProvideLanguageModelChatResponseOptions (tools are not supported, so not declared). */
export interface ProvideLanguageModelChatResponseOptions {
  readonly modelOptions?: { readonly [name: string]: unknown };
}

/** vscode.LanguageModelTextPart (the one response part PodLens reports). */
export interface LanguageModelTextPart {
  value: string;
}

export interface LanguageModelChatProvider<T extends LanguageModelChatInformation = LanguageModelChatInformation> {
  readonly onDidChangeLanguageModelChatInformation?: vscode.Event<void>;
  provideLanguageModelChatInformation(
    options: { readonly silent: boolean },
    token: vscode.CancellationToken,
  ): vscode.ProviderResult<T[]>;
  provideLanguageModelChatResponse(
    model: T,
    messages: readonly LanguageModelChatRequestMessage[],
    options: ProvideLanguageModelChatResponseOptions,
    progress: vscode.Progress<LanguageModelTextPart>,
    token: vscode.CancellationToken,
  ): Thenable<void>;
  provideTokenCount(
    model: T,
    text: string | LanguageModelChatRequestMessage,
    token: vscode.CancellationToken,
  ): Thenable<number>;
}

export interface LanguageModelApi {
  registerLanguageModelChatProvider(vendor: string, provider: LanguageModelChatProvider): vscode.Disposable;
  TextPart: new (value: string) => LanguageModelTextPart;
}

/** The provider API of this VS Code, or null when it is too old to have it. */
export function languageModelApi(api: unknown = vscode): LanguageModelApi | null {
  const v = api as { lm?: { registerLanguageModelChatProvider?: unknown }; LanguageModelTextPart?: unknown };
  const register = v.lm?.registerLanguageModelChatProvider;
  const TextPart = v.LanguageModelTextPart;
  if (typeof register !== 'function' || typeof TextPart !== 'function') return null;
  return {
    registerLanguageModelChatProvider: (vendor, provider) =>
      (register as LanguageModelApi['registerLanguageModelChatProvider']).call(v.lm, vendor, provider),
    TextPart: TextPart as LanguageModelApi['TextPart'],
  };
}
