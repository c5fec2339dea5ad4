// The host end of the host ⇄ webview protocol (src/shared/protocol.ts) for one webview:
//   - ready handshake: nothing is posted until the webview says `ready`; a webview that was
//     hidden (and so rebuilt) says `ready` again and `onReady` replays the host's state. While not
//     ready, events are dropped, not queued: everything posted is state the replay re-sends.
//   - every incoming message is validated; malformed ones are logged and rejected.
//   - requests are dispatched to typed handlers with an AbortSignal that `abort` frames trigger;
//     each request gets exactly one response (ok with the result, or an error string).
// Structural over `vscode.Webview` (postMessage + onDidReceiveMessage), so tests need no vscode.
import {
  EventMap,
  HostToWebview,
  Method,
  parseWebviewMessage,
  RequestMap,
  Topic,
  ViewName,
} from '../../shared/protocol';
import { Disposable, IDisposable } from '../disposable';

export interface WebviewLike {
  postMessage(message: unknown): PromiseLike<boolean>;
  onDidReceiveMessage(listener: (message: unknown) => void): IDisposable;
}

export type RequestHandlers = {
  [M in Method]?: (params: RequestMap[M]['params'], signal: AbortSignal) => Promise<RequestMap[M]['result']>;
};

export class WebviewChannel extends Disposable {
  private ready = false;
  private readonly inflight = new Map<number, AbortController>();
  /** Messages rejected by validation (for tests and diagnostics). */
  rejected = 0;

  constructor(
    private readonly webview: WebviewLike,
    private readonly view: ViewName,
    private readonly handlers: RequestHandlers,
    private readonly log: (line: string) => void,
    private readonly onReady: () => void,
  ) {
    super();
    this._register(webview.onDidReceiveMessage((m) => this.receive(m)));
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** The panel was hidden: its webview will be rebuilt and must say `ready` again. */
  markNotReady(): void {
    this.ready = false;
  }

  /** Post an event if the webview is ready; returns whether it was posted. */
  post<T extends Topic>(topic: T, data: EventMap[T]): boolean {
    if (!this.ready || this.isDisposed) return false;
    this.send({ kind: 'event', topic, data } as HostToWebview);
    return true;
  }

  private send(frame: HostToWebview): void {
    this.webview
      .postMessage(frame)
      .then(undefined, (e: unknown) => this.log(`${this.view}: postMessage failed: ${String(e)}`));
  }

  private receive(raw: unknown): void {
    const parsed = parseWebviewMessage(raw);
    if (!parsed.ok) {
      this.rejected++;
      this.log(`${this.view}: malformed message rejected: ${parsed.error}`);
      return;
    }
    const m = parsed.value;
    if (m.kind === 'ready') {
      if (m.view !== this.view) {
        this.rejected++;
        this.log(`${this.view}: ready from a '${m.view}' webview rejected`);
        return;
      }
      this.ready = true;
      this.onReady();
      return;
    }
    if (m.kind === 'abort') {
      this.inflight.get(m.id)?.abort();
      return;
    }
    void this.dispatch(m.id, m.method, m.params);
  }

  private async dispatch<M extends Method>(id: number, method: M, params: RequestMap[M]['params']): Promise<void> {
    const handler = this.handlers[method] as RequestHandlers[M] | undefined;
    if (!handler) {
      this.send({ kind: 'response', id, ok: false, method, error: `${this.view} does not handle ${method}` });
      return;
    }
    if (this.inflight.has(id)) {
      this.send({ kind: 'response', id, ok: false, method, error: `request id ${id} is already in flight` });
      return;
    }
    const ac = new AbortController();
    this.inflight.set(id, ac);
    try {
      const result = await handler(params, ac.signal);
      if (this.ready) this.send({ kind: 'response', id, ok: true, method, result } as HostToWebview);
    } catch (e) {
      if (this.ready)
        this.send({ kind: 'response', id, ok: false, method, error: e instanceof Error ? e.message : String(e) });
    } finally {
      this.inflight.delete(id);
    }
  }

  override dispose(): void {
    for (const ac of this.inflight.values()) ac.abort();
    this.inflight.clear();
    super.dispose();
  }
}
