// Transient bus failures (pure test + a retry shell): while a nats-server dies or a stream elects a
// new leader, JetStream requests time out or find no responder for a few seconds. A reader that
// is just starting retries through that instead of failing the user's command.
import { type Clock, systemClock } from "@shoal/base";

/** How long a reader's setup requests are retried before the error reaches the caller. */
export const DEFAULT_TRANSIENT_RETRY_MS = 20_000;

const TRANSIENT = new Set(["TimeoutError", "NoResponders", "RequestError", "JetStreamNotEnabled"]);

/** Whether `err` is one the bus recovers from on its own (timeout, no responders, 503). */
export function isTransientBusError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (TRANSIENT.has(err.name)) return true;
  return err.name === "JetStreamApiError" && (err as { status?: number }).status === 503;
}

/** `fn()`, again after a growing pause while it fails transiently, for up to `retryMs`. */
export async function retryTransient<T>(
  fn: () => Promise<T>,
  options: { signal?: AbortSignal | undefined; retryMs?: number; clock?: Clock } = {},
): Promise<T> {
  const clock = options.clock ?? systemClock;
  const deadline = clock.now() + (options.retryMs ?? DEFAULT_TRANSIENT_RETRY_MS);
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransientBusError(err) || clock.now() >= deadline || options.signal?.aborted) throw err;
      await clock.sleep(Math.min(2_000, 200 * 2 ** attempt), options.signal).catch(() => undefined);
    }
  }
}
