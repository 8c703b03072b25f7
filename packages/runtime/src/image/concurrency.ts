import { hasCode } from "../ignore.js";
import { ImageErrorCode } from "./errors.js";
/**
 * Runs `work` over `items` with at most `limit` in flight. On the first error no new item starts,
 * the running ones finish (nothing keeps writing after the caller got the error), then it throws.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index] as T, index);
      } catch (err) {
        if (!failed) firstError = err;
        failed = true;
      }
    }
  });
  await Promise.all(workers);
  if (failed) throw firstError;
  return results;
}

interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  /** Callers still waiting on it; the last one to give up (its signal aborted) cancels the work. */
  waiting: number;
  settled: boolean;
}

/**
 * Shares one in-flight promise per key among concurrent callers (pulls, downloads, unpacks). The
 * work gets a signal of its own that aborts only once every caller that passed a signal has given
 * up: one caller's abort rejects that caller alone and never fails the others' shared work.
 */
export class Singleflight<T> {
  private readonly inflight = new Map<string, Flight<T>>();

  run(key: string, work: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    let flight = this.inflight.get(key);
    if (flight === undefined) {
      const controller = new AbortController();
      const created: Flight<T> = {
        promise: Promise.resolve() as Promise<T>,
        controller,
        waiting: 0,
        settled: false,
      };
      created.promise = work(controller.signal).finally(() => {
        created.settled = true;
        if (this.inflight.get(key) === created) this.inflight.delete(key);
      });
      this.inflight.set(key, created);
      flight = created;
    }
    return signal === undefined ? flight.promise : this.join(flight, signal);
  }

  private join(flight: Flight<T>, signal: AbortSignal): Promise<T> {
    flight.waiting++;
    return new Promise<T>((resolve, reject) => {
      let left = false;
      const leave = () => {
        if (left) return false;
        left = true;
        signal.removeEventListener("abort", onAbort);
        flight.waiting--;
        return true;
      };
      const onAbort = () => {
        if (!leave()) return;
        if (flight.waiting === 0 && !flight.settled) flight.controller.abort(signal.reason);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      flight.promise.then(
        (value) => {
          if (leave()) resolve(value);
        },
        (err: unknown) => {
          if (leave()) reject(err);
        },
      );
    });
  }

  has(key: string): boolean {
    return this.inflight.has(key);
  }
}

/**
 * Many shared holders or one exclusive holder, granted in arrival order (an exclusive waiter is
 * not starved by a stream of shared ones). Pulls and imports are shared; garbage collection is
 * exclusive, so it never deletes a blob a pull has just decided to reuse.
 */
export class SharedExclusiveLock {
  private shared = 0;
  private exclusive = false;
  private readonly waiters: { exclusive: boolean; grant: () => void }[] = [];

  get isIdle(): boolean {
    return this.shared === 0 && !this.exclusive && this.waiters.length === 0;
  }

  private pump(): void {
    while (this.waiters.length > 0 && !this.exclusive) {
      const next = this.waiters[0] as { exclusive: boolean; grant: () => void };
      if (next.exclusive) {
        if (this.shared > 0) return;
        this.exclusive = true;
      } else {
        this.shared++;
      }
      this.waiters.shift();
      next.grant();
    }
  }

  private acquire(exclusive: boolean): Promise<void> {
    return new Promise((grant) => {
      this.waiters.push({ exclusive, grant });
      this.pump();
    });
  }

  async withShared<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire(false);
    try {
      return await work();
    } finally {
      this.shared--;
      this.pump();
    }
  }

  async withExclusive<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire(true);
    try {
      return await work();
    } finally {
      this.exclusive = false;
      this.pump();
    }
  }
}

/** Blob transfers: 4 attempts, 250 ms, 500 ms, 1 s apart. */
export const RETRY = { attempts: 4, delayMs: 250 } as const;

/**
 * Content that did not match its digest is not retried like a broken connection (the same bytes
 * would come again), but once: a transfer corrupted on the way (a proxy, a flaky disk on the
 * registry side) deserves a second download before the pull fails.
 */
export async function retryOnceOnMismatch<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!hasCode(err, [ImageErrorCode.DigestMismatch])) throw err;
    return work();
  }
}

/** Errors worth another attempt: the network, not the content or the credentials. */
export function isTransient(err: unknown): boolean {
  if (err instanceof Error && err.name === "AbortError") return false;
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "string") {
    if (err.code === "IMAGE_REGISTRY_UNREACHABLE") return true;
    if (err.code.startsWith("IMAGE_")) return false;
  }
  // undici reports a broken body as TypeError("terminated") with a socket error as cause;
  // node streams as ECONNRESET/EPIPE. Anything else unexpected from the wire is retried too.
  return err instanceof Error;
}

/**
 * Runs `work` up to `attempts` times while it fails with a transient error, waiting `delayMs`,
 * then twice that, … in between (as `docker pull` retries a broken layer download).
 */
export async function withRetries<T>(
  work: (attempt: number) => Promise<T>,
  options: {
    attempts: number;
    delayMs: number;
    signal?: AbortSignal | undefined;
    onRetry?: (err: unknown, attempt: number) => void;
  },
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (err) {
      if (attempt >= options.attempts || !isTransient(err) || options.signal?.aborted === true) throw err;
      options.onRetry?.(err, attempt);
      await new Promise((resolve) => setTimeout(resolve, options.delayMs * 2 ** (attempt - 1)));
    }
  }
}
