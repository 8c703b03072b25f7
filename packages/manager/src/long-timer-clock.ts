// Node fires a timer of more than 2^31 − 1 ms (≈ 24.8 days) after 1 ms. A 90-day certificate is
// renewed 45–72 days out, so the renewer's timer would fire at once and renew in a loop. This
// wraps a Clock so long timers run as a chain of shorter ones. (The fix belongs in base's
// systemClock; until then the manager wraps the clock it gives the renewer.)
import type { Clock, TimerHandle } from "@shoal/base";

/** The longest delay Node's timers honour. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function withLongTimers(clock: Clock): Clock {
  let nextId = 1;
  const inner = new Map<number, TimerHandle>();
  const schedule = (id: number, fn: () => void, dueMs: number) => {
    const remaining = Math.max(0, dueMs - clock.now());
    inner.set(
      id,
      clock.setTimeout(
        () => {
          if (remaining > MAX_TIMER_MS) schedule(id, fn, dueMs);
          else {
            inner.delete(id);
            fn();
          }
        },
        Math.min(remaining, MAX_TIMER_MS),
      ),
    );
  };
  const wrapped: Clock = {
    now: () => clock.now(),
    setTimeout: (fn, delayMs) => {
      const id = nextId++;
      schedule(id, fn, clock.now() + delayMs);
      return { id };
    },
    clearTimeout: (handle) => {
      const h = inner.get(handle.id);
      if (h !== undefined) clock.clearTimeout(h);
      inner.delete(handle.id);
    },
    sleep: (delayMs, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const handle = wrapped.setTimeout(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        }, delayMs);
        const onAbort = () => {
          wrapped.clearTimeout(handle);
          reject(signal?.reason);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
  };
  return wrapped;
}
