/**
 * A `Disposable` base with `register`: whatever a component creates is registered once and
 * disposed in reverse order, exactly once. Structurally compatible with `vscode.Disposable`, so it
 * needs no `vscode` import.
 */

export interface DisposableLike {
  dispose(): unknown;
}

export abstract class Disposable implements DisposableLike {
  private readonly disposables: DisposableLike[] = [];
  private disposedFlag = false;

  protected get isDisposed(): boolean {
    return this.disposedFlag;
  }

  /** Registers `d` for disposal with this object; disposes it at once if this is already gone. */
  protected register<T extends DisposableLike>(d: T): T {
    if (this.disposedFlag) d.dispose();
    else this.disposables.push(d);
    return d;
  }

  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    while (this.disposables.length > 0) {
      try {
        this.disposables.pop()?.dispose();
      } catch {
        // One failing disposal must not keep the others alive.
      }
    }
  }
}

/** A tiny typed event emitter with disposable subscriptions (no `vscode` needed). */
export class Emitter<T> implements DisposableLike {
  private listeners = new Set<(value: T) => void>();

  readonly event = (listener: (value: T) => void): DisposableLike => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };

  fire(value: T): void {
    for (const l of [...this.listeners]) l(value);
  }

  dispose(): void {
    this.listeners.clear();
  }
}
