// The webview end of the host ⇄ webview protocol (src/shared/protocol.ts): wraps
// acquireVsCodeApi(), validates every message from the host (malformed ones are logged and
// dropped), dispatches events to topic listeners and resolves requests by id. The page says
// `ready` once its listeners are in place; the host posts nothing before that.
import {
  EventMap,
  Method,
  parseHostMessage,
  RequestMap,
  ResponseFrame,
  Topic,
  ViewName,
  WebviewToHost,
} from '../../src/shared/protocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

type Listener<T extends Topic> = (data: EventMap[T]) => void;

export interface PendingRequest<M extends Method> {
  readonly id: number;
  readonly result: Promise<RequestMap[M]['result']>;
  abort(): void;
}

export class HostConnection {
  private readonly api = acquireVsCodeApi();
  private nextId = 1;
  private readonly listeners = new Map<Topic, Set<(d: never) => void>>();
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  /** Messages rejected by validation (shown in tests). */
  rejected = 0;

  constructor(private readonly view: ViewName) {
    window.addEventListener('message', (e: MessageEvent<unknown>) => this.receive(e.data));
  }

  on<T extends Topic>(topic: T, l: Listener<T>): void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(l as (d: never) => void);
  }

  /** Tell the host this page is listening (call after registering listeners). */
  ready(): void {
    this.send({ kind: 'ready', view: this.view });
  }

  request<M extends Method>(method: M, params: RequestMap[M]['params']): PendingRequest<M> {
    const id = this.nextId++;
    const result = new Promise<RequestMap[M]['result']>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    this.send({ kind: 'request', id, method, params } as WebviewToHost);
    return { id, result, abort: () => this.send({ kind: 'abort', id }) };
  }

  private send(m: WebviewToHost): void {
    this.api.postMessage(m);
  }

  private receive(raw: unknown): void {
    const parsed = parseHostMessage(raw);
    if (!parsed.ok) {
      this.rejected++;
      console.warn(`PodLens ${this.view}: malformed message from the host rejected: ${parsed.error}`);
      return;
    }
    const m = parsed.value;
    if (m.kind === 'event') {
      for (const l of this.listeners.get(m.topic) ?? []) (l as (d: unknown) => void)(m.data);
      return;
    }
    this.settle(m);
  }

  private settle(m: ResponseFrame): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.error));
  }
}
