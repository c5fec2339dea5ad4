// VS Code's own chat, served by the local model: the @podlens participant and the "podlens"
// language-model provider, each registered only where this VS Code has its API.
import * as vscode from 'vscode';
import { registerChatParticipant } from './chat-participant';
import { Core } from '../core';
import { LanguageModelChatProvider } from './lm-api';
import { registerLanguageModelProvider } from './lm-provider';

export interface NativeChat {
  readonly participant: vscode.ChatParticipant | null;
  readonly languageModel: LanguageModelChatProvider | null;
}

export function registerNativeChat(context: vscode.ExtensionContext, core: Core): NativeChat {
  return {
    participant: registerChatParticipant(context, core),
    languageModel: registerLanguageModelProvider(context, core),
  };
}
