// The chat transcript kept per workspace between reloads, in the extension's workspace state
// (a vscode.Memento: get/update). What is read back is validated like any message (an old or
// damaged entry is logged and ignored, never half-used); an answer that was still streaming when
// the window closed comes back as stopped. Capped so the state stays small: the last MAX_TURNS
// turns and at most MAX_CHARS characters of text. Structural (no vscode import), so tests use a Map.
import { array, object, literal } from '../../shared/validate';
import { Turn, turnSchema } from '../../shared/protocol';

export interface MementoLike {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): PromiseLike<void>;
}

export const HISTORY_KEY = 'podlens.chat.history';
export const MAX_TURNS = 200;
export const MAX_CHARS = 1 << 20;

const stored = object({ version: literal(1), turns: array(turnSchema, { maxLength: 10_000 }) });

/** Keep the newest turns, whole question/answer pairs, within the caps. */
export function capTurns(turns: readonly Turn[]): Turn[] {
  let chars = 0,
    from = turns.length;
  while (from > 0 && turns.length - from < MAX_TURNS) {
    const t = turns[from - 1]!;
    if (chars + t.text.length > MAX_CHARS) break;
    chars += t.text.length;
    from--;
  }
  // Do not start with an answer whose question was cut.
  if (turns[from]?.role === 'assistant') from++;
  return turns.slice(from);
}

export class ChatHistoryStore {
  constructor(
    private readonly memento: MementoLike,
    private readonly log: (line: string) => void,
  ) {}

  load(): Turn[] {
    const raw = this.memento.get<unknown>(HISTORY_KEY);
    if (raw === undefined) return [];
    const r = stored.check(raw);
    if (!r.ok) {
      this.log(`chat history ignored (${r.error})`);
      return [];
    }
    return r.value.turns.map((t) => (t.status === 'streaming' ? { ...t, status: 'stopped' } : t));
  }

  save(turns: readonly Turn[]): void {
    const value = {
      version: 1,
      turns: capTurns(turns).map((t) => (t.status === 'streaming' ? { ...t, status: 'stopped' as const } : t)),
    };
    this.memento
      .update(HISTORY_KEY, value)
      .then(undefined, (e: unknown) => this.log(`chat history not saved: ${String(e)}`));
  }
}
