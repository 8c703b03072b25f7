/** A level-triggered wake-up: `notify` any number of times, `wait` returns once per batch of them. */
export class Wakeup {
  private pending = false;
  private waiter: (() => void) | undefined;

  notify(): void {
    this.pending = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Resolves when notified since the last wait returned, or when `signal` aborts. */
  wait(signal: AbortSignal): Promise<void> {
    if (this.pending || signal.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const onAbort = () => resolve();
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiter = () => {
        signal.removeEventListener("abort", onAbort);
        this.pending = false;
        resolve();
      };
    });
  }
}
