// One store watch for all sessions: after each commit, the listeners of every node that the
// commit touched (the node object, or a task on it before or after the change) are called once.
// A watch per session cost O(events × sessions) in the store's publish — with 1,000 agents and
// 100,000 tasks walking through five states that was most of the leader's time — and each
// assignments stream re-read its node on every commit of the cluster, touched or not.
import type { Logger } from "@shoal/base";
import { ShoalError } from "@shoal/base";
import { type Store, StoreErrorCode } from "@shoal/store";

/** Far above one commit's changes: this watcher only collects ids, it never falls behind for long. */
const MAX_QUEUED_EVENTS = 2_000_000;

export class NodeChanges {
  private readonly listeners = new Map<string, Set<() => void>>();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  /**
   * Calls `listener` after each commit that touches `nodeId`, until `signal` fires. A commit
   * applied after this call always reaches it (some applied just before may too).
   */
  listen(nodeId: string, listener: () => void, signal: AbortSignal): void {
    if (signal.aborted) return;
    let set = this.listeners.get(nodeId);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(nodeId, set);
    }
    set.add(listener);
    signal.addEventListener(
      "abort",
      () => {
        const s = this.listeners.get(nodeId);
        s?.delete(listener);
        if (s?.size === 0) this.listeners.delete(nodeId);
      },
      { once: true },
    );
  }

  /** Routes the store's changes until `signal` fires; a watch that lagged wakes every listener. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const touched = new Set<string>();
      try {
        for await (const e of this.store.watch({
          filter: { kinds: ["task", "node"] },
          signal,
          maxQueuedEvents: MAX_QUEUED_EVENTS,
        })) {
          if (e.kind === "commit") {
            for (const id of touched) this.notify(id);
            touched.clear();
          } else if (e.objectKind === "node") touched.add(e.id);
          else {
            const now = (e.object as { nodeId?: string } | undefined)?.nodeId;
            const before = (e.old as { nodeId?: string } | undefined)?.nodeId;
            if (now !== undefined && now !== "") touched.add(now);
            if (before !== undefined && before !== "") touched.add(before);
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        if (!(err instanceof ShoalError && err.code === StoreErrorCode.WatchLagged)) throw err;
        this.logger.warn({ err }, "the dispatcher's node watch lagged; waking every session");
        for (const id of [...this.listeners.keys()]) this.notify(id);
      }
    }
  }

  private notify(nodeId: string): void {
    const set = this.listeners.get(nodeId);
    if (set === undefined) return;
    for (const listener of [...set]) listener();
  }
}
