import { decodeConfChange } from "../conf-change.js";
import { ConfChangeType, type Entry, Role } from "../types.js";

/** Who leads, as one node sees it. */
export interface LeadershipState {
  /** The term this view belongs to (the node's current term when it changed). */
  term: number;
  /** The leader's raft id; 0 when none is known. */
  leaderId: number;
  role: Role;
  /** This node leads (role === "leader"). Leader-only loops run exactly while this holds. */
  isLeader: boolean;
  /** This node was removed from the cluster; no further changes follow. */
  removed: boolean;
}

interface Subscriber {
  queue: LeadershipState[];
  wake: (() => void) | undefined;
  done: boolean;
}

/**
 * The leadership signal of a RaftNode: an ordered stream of LeadershipState values, each a change.
 * A change is a new role, a new leader id, or a new term under a known leader (the same leader
 * re-elected is a new leadership: its proposals of the old term are gone). Term bumps without a
 * leader (elections that fail) are not changes. Removal of the node is the last change.
 *
 * Each subscriber first gets the state at the moment it subscribed (so a late subscriber does not
 * miss a leadership it already holds), then every change once, in order. Changes are queued per
 * subscriber, so a slow consumer sees them all; they are rare (one per election). Iteration ends
 * when the node stops or the subscriber's signal aborts — a consumer treats the end as the end of
 * any leadership it was acting on.
 */
export class LeadershipSignal {
  private state: LeadershipState = {
    term: 0,
    leaderId: 0,
    role: Role.Follower,
    isLeader: false,
    removed: false,
  };
  private readonly subscribers = new Set<Subscriber>();
  private ended = false;

  constructor(private readonly selfId: number) {}

  /** The latest state. */
  current(): LeadershipState {
    return this.state;
  }

  /** Records what the core reports after a Ready; publishes it when it is a change. */
  observe(term: number, leaderId: number, role: Role): void {
    const s = this.state;
    if (s.removed || this.ended) return;
    const changed = role !== s.role || leaderId !== s.leaderId || (leaderId !== 0 && term !== s.term);
    if (!changed) return;
    this.publish({ term, leaderId, role, isLeader: role === Role.Leader, removed: false });
  }

  /** Checks an applied entry for this node's own removal. */
  observeApplied(entry: Entry, term: number): void {
    if (entry.type !== "confChange" || this.state.removed || this.ended) return;
    const cc = decodeConfChange(entry.data);
    if (cc.type !== ConfChangeType.RemoveNode || cc.nodeId !== this.selfId) return;
    // The core steps a removed leader down when the Ready is advanced; report that already.
    this.publish({ term, leaderId: 0, role: Role.Follower, isLeader: false, removed: true });
  }

  /** Ends every subscription (the node stopped). */
  end(): void {
    this.ended = true;
    for (const sub of this.subscribers) this.finish(sub);
  }

  /** The changes from now on, starting with the current state. */
  subscribe(signal?: AbortSignal): AsyncIterableIterator<LeadershipState> {
    const over = this.ended || signal?.aborted === true;
    const sub: Subscriber = { queue: over ? [] : [this.state], wake: undefined, done: over };
    if (!over) this.subscribers.add(sub);
    const onAbort = () => {
      // Aborting drops what was not yet read; a stopped node's last changes are still delivered.
      sub.queue = [];
      this.finish(sub);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const stop = () => {
      signal?.removeEventListener("abort", onAbort);
      this.finish(sub);
    };
    const iterator: AsyncIterableIterator<LeadershipState> = {
      next: async () => {
        for (;;) {
          const value = sub.queue.shift();
          if (value !== undefined) return { value, done: false };
          if (sub.done) {
            stop();
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => {
            sub.wake = resolve;
          });
        }
      },
      return: async () => {
        stop();
        sub.queue = [];
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  private publish(next: LeadershipState): void {
    this.state = next;
    for (const sub of this.subscribers) {
      sub.queue.push(next);
      this.wake(sub);
    }
  }

  private finish(sub: Subscriber): void {
    sub.done = true;
    this.subscribers.delete(sub);
    this.wake(sub);
  }

  private wake(sub: Subscriber): void {
    const wake = sub.wake;
    sub.wake = undefined;
    wake?.();
  }
}
