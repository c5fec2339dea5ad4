// A Disposable base with `_register` (the vscode-pull-request-github shape): an object owns the
// listeners, panels and timers it creates and releases them all in `dispose()`, in reverse order.
// Structural (anything with `dispose()`), so it needs no vscode import.

export interface IDisposable {
  dispose(): unknown;
}

export class Disposable implements IDisposable {
  private readonly disposables: IDisposable[] = [];
  private disposed = false;

  protected get isDisposed(): boolean {
    return this.disposed;
  }

  protected _register<T extends IDisposable>(d: T): T {
    if (this.disposed) d.dispose();
    else this.disposables.push(d);
    return d;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables.splice(0).reverse()) {
      try {
        d.dispose();
      } catch {
        /* keep disposing the rest */
      }
    }
  }
}

/** A disposable from a function. */
export const toDisposable = (f: () => void): IDisposable => ({ dispose: f });
