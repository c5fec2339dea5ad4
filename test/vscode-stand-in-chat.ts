// The chat and language-model part of the `vscode` stand-in (re-exported by vscode-stand-in.ts):
// `chat.createChatParticipant`, `lm.registerLanguageModelChatProvider` (absent when
// `chatStandIn.lmAvailable` is false, like a VS Code older than 1.104), the classes those APIs
// use, a recording ChatResponseStream and a CancellationTokenSource. Typed against @types/vscode
// where it has the shape (1.90); the newer provider API is typed by src/host/chat/lm-api.ts.
import type * as vscode from 'vscode';
import { Disposable, EventEmitter } from './vscode-stand-in';

export class ThemeIcon {
  constructor(readonly id: string) {}
}
export enum LanguageModelChatMessageRole {
  User = 1,
  Assistant = 2,
  System = 3,
}
export class LanguageModelTextPart {
  constructor(public value: string) {}
}

export class CancellationTokenSource {
  private readonly emitter = new EventEmitter<void>();
  private cancelled = false;
  readonly token: vscode.CancellationToken;
  constructor() {
    const isCancelled = (): boolean => this.cancelled;
    this.token = {
      get isCancellationRequested() {
        return isCancelled();
      },
      onCancellationRequested: this.emitter.event,
    };
  }
  cancel(): void {
    if (!this.cancelled) {
      this.cancelled = true;
      this.emitter.fire();
    }
  }
  dispose(): void {
    this.emitter.dispose();
  }
}

export class StandInParticipant implements vscode.ChatParticipant {
  iconPath: vscode.ChatParticipant['iconPath'];
  followupProvider: vscode.ChatFollowupProvider | undefined;
  readonly onDidReceiveFeedback = new EventEmitter<vscode.ChatResultFeedback>().event;
  disposed = false;
  constructor(
    readonly id: string,
    public requestHandler: vscode.ChatRequestHandler,
  ) {}
  dispose(): void {
    this.disposed = true;
    chatStandIn.participants.delete(this.id);
  }
}

/** Records what a handler streams: markdown text (joined and in pieces), progress, references. */
export class StandInResponseStream implements vscode.ChatResponseStream {
  readonly pieces: string[] = [];
  readonly progressLines: string[] = [];
  readonly references: unknown[] = [];
  get text(): string {
    return this.pieces.join('');
  }
  markdown(value: string | vscode.MarkdownString): void {
    this.pieces.push(typeof value === 'string' ? value : value.value);
  }
  anchor(): void {
    /* not used */
  }
  button(): void {
    /* not used */
  }
  filetree(): void {
    /* not used */
  }
  progress(value: string): void {
    this.progressLines.push(value);
  }
  reference(value: unknown): void {
    this.references.push(value);
  }
  push(): void {
    /* not used */
  }
}

export const chatStandIn = {
  participants: new Map<string, StandInParticipant>(),
  lmProviders: new Map<string, unknown>(),
  /** false: `lm.registerLanguageModelChatProvider` is missing (VS Code < 1.104). */
  lmAvailable: true,
};

export const chat = {
  createChatParticipant(id: string, handler: vscode.ChatRequestHandler): StandInParticipant {
    if (chatStandIn.participants.has(id)) throw new Error(`participant '${id}' already exists`);
    const p = new StandInParticipant(id, handler);
    chatStandIn.participants.set(id, p);
    return p;
  },
};

export const lm = {
  get registerLanguageModelChatProvider(): ((vendor: string, provider: unknown) => Disposable) | undefined {
    if (!chatStandIn.lmAvailable) return undefined;
    return (vendor, provider) => {
      if (chatStandIn.lmProviders.has(vendor)) throw new Error(`vendor '${vendor}' already registered`);
      chatStandIn.lmProviders.set(vendor, provider);
      return new Disposable(() => chatStandIn.lmProviders.delete(vendor));
    };
  },
};
