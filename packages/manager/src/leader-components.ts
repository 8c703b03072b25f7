// The leader-only components (DESIGN.md §4; swarmkit's becomeLeader): the orchestrators, the
// allocator, the scheduler and the dispatcher's liveness sweep run on the Raft leader only. One
// AbortController per leadership term: a gain starts every registered component's run(signal),
// a loss (or a new term, or the end of the leadership stream) aborts that signal at once — in
// the same turn the change is published, which is within the tick that carried it — and waits
// for the components to return. A component that fails, or returns while its term lasts, is
// logged and started again after a delay, so one bad loop cannot take the others down.
import { type Clock, isAbortError, type Logger, ShoalError, silentLogger, systemClock } from "@shoal/base";
import type { LeadershipState } from "@shoal/raft/node";
import { ManagerErrorCode } from "./errors.js";

/** What the orchestrators, allocator and scheduler implement to run on the leader only. */
export interface LeaderComponent {
  /** Unique among registered components; used in logs. */
  readonly name: string;
  /** Runs until `signal` aborts (leadership lost), then returns promptly. */
  run(signal: AbortSignal): Promise<void>;
}

/** What drives the components: RaftNode's leadership signal, or anything shaped like it. */
export interface LeadershipSource {
  leadershipChanges(signal?: AbortSignal): AsyncIterable<LeadershipState>;
}

/** A component that failed or returned during its term starts again after this long. */
export const DEFAULT_COMPONENT_RESTART_DELAY_MS = 1_000;

export interface LeaderComponentsOptions {
  logger?: Logger;
  clock?: Clock;
  restartDelayMs?: number;
}

interface Term {
  term: number;
  controller: AbortController;
  running: Map<string, Promise<void>>;
}

export class LeaderComponents {
  private readonly components = new Map<string, LeaderComponent>();
  private current: Term | undefined;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly restartDelayMs: number;

  constructor(options: LeaderComponentsOptions = {}) {
    this.logger = (options.logger ?? silentLogger()).child({ module: "manager/leader" });
    this.clock = options.clock ?? systemClock;
    this.restartDelayMs = options.restartDelayMs ?? DEFAULT_COMPONENT_RESTART_DELAY_MS;
    if (!Number.isFinite(this.restartDelayMs) || this.restartDelayMs < 0) {
      throw new ShoalError(
        ManagerErrorCode.InvalidOptions,
        `restartDelayMs ${this.restartDelayMs} is not ≥ 0`,
      );
    }
  }

  /** Adds a component; while this manager leads it starts at once, otherwise at the next gain. */
  register(component: LeaderComponent): void {
    if (this.components.has(component.name)) {
      throw new ShoalError(
        ManagerErrorCode.InvalidOptions,
        `leader component "${component.name}" is already registered`,
      );
    }
    this.components.set(component.name, component);
    if (this.current !== undefined) this.start(this.current, component);
  }

  /** The term whose components run now, or undefined on a follower. */
  get leaderTerm(): number | undefined {
    return this.current?.term;
  }

  /** Names of the components running now (empty on a follower). */
  runningNames(): string[] {
    return [...(this.current?.running.keys() ?? [])];
  }

  /**
   * Follows `source` until `signal` aborts or the stream ends; components run exactly while the
   * latest state says this manager leads. Resolves once every component has returned.
   */
  async run(source: LeadershipSource, signal: AbortSignal): Promise<void> {
    try {
      for await (const state of source.leadershipChanges(signal)) {
        if (state.isLeader && this.current?.term === state.term) continue;
        await this.stopTerm("leadership changed");
        if (state.isLeader) this.startTerm(state.term);
      }
    } finally {
      await this.stopTerm(signal.aborted ? "stopping" : "leadership stream ended");
    }
  }

  private startTerm(term: number): void {
    const current: Term = { term, controller: new AbortController(), running: new Map() };
    this.current = current;
    this.logger.info({ term, components: [...this.components.keys()] }, "leader components starting");
    for (const component of this.components.values()) this.start(current, component);
  }

  private async stopTerm(reason: string): Promise<void> {
    const current = this.current;
    if (current === undefined) return;
    this.current = undefined;
    current.controller.abort();
    await Promise.all(current.running.values());
    this.logger.info({ term: current.term, reason }, "leader components stopped");
  }

  private start(term: Term, component: LeaderComponent): void {
    const { signal } = term.controller;
    const loop = async () => {
      while (!signal.aborted) {
        try {
          await component.run(signal);
          if (!signal.aborted)
            this.logger.warn({ component: component.name }, "leader component returned early");
        } catch (err) {
          if (signal.aborted && isAbortError(err)) return;
          this.logger.error({ err, component: component.name, term: term.term }, "leader component failed");
        }
        if (signal.aborted) return;
        try {
          await this.clock.sleep(this.restartDelayMs, signal);
        } catch (err) {
          if (isAbortError(err) || signal.aborted) return;
          throw err;
        }
      }
    };
    term.running.set(component.name, loop());
  }
}
