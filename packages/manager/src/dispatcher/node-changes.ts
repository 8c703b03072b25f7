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

/** Called after a commit touching the node: the tasks it changed there, or undefined for "any". */
export type NodeChangeListener = (taskIds: ReadonlySet<string> | undefined) => void;

export class NodeChanges {
  private readonly listeners = new Map<string, Set<NodeChangeListener>>();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  /**
   * Calls `listener` after each commit that touches `nodeId`, until `signal` fires. A commit
   * applied after this call always reaches it (some applied just before may too).
   */
  listen(nodeId: string, listener: NodeChangeListener, signal: AbortSignal): void {
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
      // Per node touched since the last commit event: the task ids changed on it.
      const touched = new Map<string, Set<string>>();
      const touch = (nodeId: string, taskId?: string) => {
        let ids = touched.get(nodeId);
        if (ids === undefined) {
          ids = new Set();
          touched.set(nodeId, ids);
        }
        if (taskId !== undefined) ids.add(taskId);
      };
      try {
        for await (const e of this.store.watch({
          filter: { kinds: ["task", "node"] },
          signal,
          maxQueuedEvents: MAX_QUEUED_EVENTS,
        })) {
          if (e.kind === "commit") {
            for (const [nodeId, ids] of touched) this.notify(nodeId, ids);
            touched.clear();
          } else if (e.objectKind === "node") touch(e.id);
          else {
            const now = (e.object as { nodeId?: string } | undefined)?.nodeId;
            const before = (e.old as { nodeId?: string } | undefined)?.nodeId;
            if (now !== undefined && now !== "") touch(now, e.id);
            if (before !== undefined && before !== "") touch(before, e.id);
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        if (!(err instanceof ShoalError && err.code === StoreErrorCode.WatchLagged)) throw err;
        this.logger.warn({ err }, "the dispatcher's node watch lagged; waking every session");
        for (const id of [...this.listeners.keys()]) this.notify(id, undefined);
      }
    }
  }

  private notify(nodeId: string, taskIds: ReadonlySet<string> | undefined): void {
    const set = this.listeners.get(nodeId);
    if (set === undefined) return;
    for (const listener of [...set]) listener(taskIds);
  }
}
