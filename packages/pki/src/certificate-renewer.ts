import { type Clock, type Logger, type Random, silentLogger } from "@shoal/base";
import { type CertificateValidity, nextRenewalAtMs } from "./renewal-schedule.js";

/** First wait after a failed renewal; doubled per failure (with jitter) up to the maximum. */
export const DEFAULT_RENEW_RETRY_MIN_MS = 1000;
export const DEFAULT_RENEW_RETRY_MAX_MS = 5 * 60 * 1000;

export interface CertificateRenewerOptions<T extends CertificateValidity> {
  clock: Clock;
  random: Random;
  /** The certificate in use when the loop starts. */
  current: T;
  /** Asks the CA for a new certificate (a new key and CSR each time). */
  renew: (signal: AbortSignal) => Promise<T>;
  /** Makes a new certificate the one in use (writes it to disk, swaps TLS credentials). */
  store: (renewed: T) => Promise<void> | void;
  logger?: Logger;
  retryMinMs?: number;
  retryMaxMs?: number;
}

/**
 * Keeps a node certificate fresh: sleeps until the scheduled renewal point, renews, stores, and
 * schedules again from the new certificate; a failed attempt is retried with backoff until it works.
 * `renewNow()` (after a role change) skips the wait.
 */
export class CertificateRenewer<T extends CertificateValidity> {
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly renew: (signal: AbortSignal) => Promise<T>;
  private readonly store: (renewed: T) => Promise<void> | void;
  private readonly logger: Logger;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private currentCert: T;
  private wake: (() => void) | undefined;
  private forced = false;
  private accept: ((renewed: T) => boolean) | undefined;

  constructor(options: CertificateRenewerOptions<T>) {
    this.clock = options.clock;
    this.random = options.random;
    this.renew = options.renew;
    this.store = options.store;
    this.logger = options.logger ?? silentLogger();
    this.retryMinMs = options.retryMinMs ?? DEFAULT_RENEW_RETRY_MIN_MS;
    this.retryMaxMs = options.retryMaxMs ?? DEFAULT_RENEW_RETRY_MAX_MS;
    this.currentCert = options.current;
  }

  /** The certificate in use now. */
  get current(): T {
    return this.currentCert;
  }

  /**
   * Renew as soon as possible, e.g. after the node's role changed. With `accept`, a certificate it
   * rejects (the CA has not applied the new role yet) is not stored, and renewal is retried with
   * backoff until one is accepted — Swarm's "expected role".
   */
  renewNow(accept?: (renewed: T) => boolean): void {
    this.forced = true;
    this.accept = accept;
    this.wake?.();
  }

  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const dueMs = failures > 0 ? this.clock.now() + this.retryDelayMs(failures) : this.scheduledAtMs();
      this.logger.debug({ dueMs, failures }, "certificate renewal scheduled");
      try {
        await this.sleepUntil(dueMs, signal);
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      }
      this.forced = false;
      try {
        const renewed = await this.renew(signal);
        if (this.accept !== undefined && !this.accept(renewed)) {
          failures++;
          this.logger.info({ failures }, "renewed certificate not accepted yet; retrying");
          continue;
        }
        await this.store(renewed);
        this.accept = undefined;
        this.currentCert = renewed;
        failures = 0;
        this.logger.info({ notAfterMs: renewed.notAfterMs }, "certificate renewed");
      } catch (err) {
        // A renewal cut short by shutdown is not a failure worth a warning.
        if (signal.aborted) return;
        failures++;
        this.logger.warn({ err, failures }, "certificate renewal failed; retrying");
      }
    }
  }

  private scheduledAtMs(): number {
    if (this.forced) return this.clock.now();
    return nextRenewalAtMs(this.currentCert, this.random);
  }

  /** Doubling from the minimum, capped, with "equal jitter" so a fleet's retries spread out. */
  private retryDelayMs(failures: number): number {
    const ceiling = Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(failures - 1, 30));
    return Math.floor(ceiling / 2 + (ceiling / 2) * this.random.next());
  }

  /** Sleeps until `dueMs`, or until `renewNow()` or the signal wakes it. */
  private sleepUntil(dueMs: number, signal: AbortSignal): Promise<void> {
    if (this.forced) return Promise.resolve();
    const delayMs = Math.max(0, dueMs - this.clock.now());
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        this.clock.clearTimeout(handle);
        signal.removeEventListener("abort", onAbort);
        this.wake = undefined;
      };
      const onAbort = () => {
        done();
        reject(signal.reason);
      };
      const handle = this.clock.setTimeout(() => {
        done();
        resolve();
      }, delayMs);
      this.wake = () => {
        done();
        resolve();
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
