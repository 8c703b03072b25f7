import type { Random } from "@shoal/base";
import { ShoalError } from "@shoal/base";
import { Config } from "@shoal/proto";
import { type Store, StoreErrorCode } from "../../src/index.js";

// The store simulator's clients and what they were told. Every transaction writes a unique token
// into the labels of each config it creates or updates (an update keeps the labels it read), so
// the final state says exactly which transactions were applied: an acknowledged one's token must
// be there (unless a later delete removed the object), a rejected or dropped one's never, and a
// lost update — an update applied over a version it did not read — drops an earlier token.

type Status = "pending" | "ok" | "rejected" | "dropped" | "unknown";

interface OpRecord {
  token: string;
  kind: "bump" | "create" | "delete" | "final";
  ids: string[];
  status: Status;
  code?: string | undefined;
  index?: number;
  promise: Promise<unknown>;
}

/** A small name pool, so concurrent creates collide on purpose (STORE_NAME_CONFLICT). */
const NAMES = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"];
const REJECTED = new Set<string>([
  StoreErrorCode.VersionConflict,
  StoreErrorCode.NameConflict,
  StoreErrorCode.NotFound,
  StoreErrorCode.AlreadyExists,
]);
const DROPPED = new Set<string>([StoreErrorCode.ProposalDropped, StoreErrorCode.NoLeader]);
const UNKNOWN = new Set<string>([
  StoreErrorCode.OutcomeUnknown,
  StoreErrorCode.DeadlineExceeded,
  StoreErrorCode.Closed,
]);

export class History {
  readonly ops: OpRecord[] = [];
  private next = 0;
  readsOk = 0;
  /** A violation found while the run went on (by a read). */
  private problem: string | undefined;

  /** `conflictAsAcked`: report a version conflict as success (the checks must catch it). */
  constructor(
    private readonly conflictAsAcked = false,
    /** `localReads`: serve the "linearizable" reads from the local replica (the checks must catch it). */
    private readonly localReads = false,
  ) {}

  get acked(): number {
    return this.ops.filter((o) => o.status === "ok").length;
  }
  get rejected(): number {
    return this.ops.filter((o) => o.status === "rejected").length;
  }
  get unknown(): number {
    return this.ops.filter((o) => o.status === "unknown" || o.status === "pending").length;
  }

  /** Starts one transaction of `client` on `store` (reads its local replica, so often stale). */
  begin(client: number, member: number, random: Random, store: Store): OpRecord {
    const token = `t${client}m${member}n${this.next++}`;
    const roll = random.next();
    const ids: string[] = [];
    let kind: OpRecord["kind"] = "create";
    const run = store.update((tx) => {
      const all = tx.configs.list();
      if (all.length > 0 && roll < 0.6) {
        kind = "bump";
        const picks = random.shuffle(all.slice()).slice(0, random.intBetween(1, 2));
        for (const c of picks) {
          ids.push(c.id);
          tx.configs.update({ ...c, spec: { ...c.spec!, labels: { ...c.spec!.labels, [token]: "1" } } });
        }
      } else if (all.length > 2 && roll < 0.72) {
        kind = "delete";
        const c = random.pick(all);
        ids.push(c.id);
        tx.configs.delete(c.id);
      } else {
        const id = `id-${token}`;
        ids.push(id);
        tx.configs.create(
          Config.fromPartial({
            id,
            spec: {
              name: random.pick(NAMES) + random.int(3),
              labels: { [token]: "1" },
              data: new Uint8Array([1]),
            },
          }),
        );
      }
    });
    const op: OpRecord = { token, kind, ids, status: "pending", promise: run };
    this.ops.push(op);
    this.settle(op, run);
    return op;
  }

  /**
   * A linearizable read on `store`: it must see every transaction acknowledged before it started
   * (each object such a transaction wrote holds its token, unless a delete may have removed it).
   */
  read(store: Store): Promise<unknown> {
    const before = this.ops.filter((o) => o.status === "ok" && o.kind !== "delete");
    return store
      .view({ linearizable: !this.localReads }, (tx) => new Map(tx.configs.list().map((c) => [c.id, c])))
      .then(
        (seen) => {
          this.readsOk++;
          for (const op of before)
            for (const id of op.ids) {
              const obj = seen.get(id);
              if (obj === undefined ? !this.mayHaveDeleted(id, op) : obj.spec?.labels[op.token] === undefined)
                this.problem ??= `a linearizable read missed transaction ${op.token} (acknowledged at ${op.index} before the read) on ${id}`;
            }
        },
        (err: unknown) => {
          if (!(err instanceof ShoalError && err.code.startsWith("STORE_")))
            this.problem ??= `a linearizable read failed with ${String(err)}`;
        },
      );
  }

  /** The write after healing that every member must apply. */
  final(store: Store): OpRecord {
    const token = `final${this.next++}`;
    const id = `id-${token}`;
    const run = store.update((tx) =>
      tx.configs.create(Config.fromPartial({ id, spec: { name: token, labels: { [token]: "1" } } })),
    );
    const op: OpRecord = { token, kind: "final", ids: [id], status: "pending", promise: run };
    this.ops.push(op);
    this.settle(op, run);
    return op;
  }

  /** The client stopped waiting (its member probably died): the outcome stays unknown. */
  abandon(op: OpRecord): void {
    if (op.status === "pending") op.status = "unknown";
  }

  private settle(op: OpRecord, run: Promise<{ index: number }>): void {
    op.promise = run.then(
      (r) => {
        op.status = "ok";
        op.index = r.index;
      },
      (err: unknown) => {
        const code = err instanceof ShoalError ? err.code : String(err);
        op.code = code;
        if (this.conflictAsAcked && code === StoreErrorCode.VersionConflict) {
          op.status = "ok";
          op.code = undefined;
          return;
        }
        if (REJECTED.has(code)) op.status = "rejected";
        else if (DROPPED.has(code)) op.status = "dropped";
        else if (UNKNOWN.has(code)) op.status = "unknown";
        else {
          op.status = "unknown";
          op.code = `unexpected: ${err instanceof Error ? (err.stack ?? err.message) : code}`;
        }
        throw err;
      },
    );
  }

  /** What the final state says against what every client was told; undefined when they agree. */
  check(final: Map<string, Config>): string | undefined {
    if (this.problem !== undefined) return this.problem;
    const unexpected = this.ops.find((o) => o.code?.startsWith("unexpected"));
    if (unexpected !== undefined) return `transaction ${unexpected.token} failed with ${unexpected.code}`;
    const tokens = new Map<string, string>();
    for (const c of final.values()) for (const t of Object.keys(c.spec?.labels ?? {})) tokens.set(t, c.id);
    const byToken = new Map(this.ops.map((o) => [o.token, o]));
    for (const [t, id] of tokens) {
      const op = byToken.get(t);
      if (op === undefined) return `config ${id} carries token ${t} of no transaction`;
      if (op.status === "rejected" || op.status === "dropped")
        return `transaction ${t} was reported ${op.code} but its write is in config ${id}`;
    }
    for (const op of this.ops) {
      const applied = op.status === "ok";
      const notApplied = op.status === "rejected" || op.status === "dropped";
      for (const id of op.ids) {
        const obj = final.get(id);
        if (op.kind === "delete") {
          if (applied && obj !== undefined)
            return `transaction ${op.token} deleted ${id} (acknowledged at ${op.index}) but it is still there`;
          if (notApplied && obj === undefined && !this.mayHaveDeleted(id, op))
            return `transaction ${op.token} was reported ${op.code} but ${id} is gone and nothing else deleted it`;
          continue;
        }
        if (!applied) continue;
        if (obj === undefined) {
          if (!this.mayHaveDeleted(id, op))
            return `transaction ${op.token} (acknowledged at ${op.index}) wrote ${id}, which is gone with no delete`;
        } else if (obj.spec?.labels[op.token] === undefined) {
          return `transaction ${op.token} (acknowledged at ${op.index}) is lost: ${id} (version ${obj.meta?.version}) lacks its write`;
        }
      }
    }
    return undefined;
  }

  /** Whether a delete of `id` other than `except` may have been applied. */
  private mayHaveDeleted(id: string, except: OpRecord): boolean {
    return this.ops.some(
      (o) =>
        o !== except &&
        o.kind === "delete" &&
        o.ids[0] === id &&
        o.status !== "rejected" &&
        o.status !== "dropped",
    );
  }
}
