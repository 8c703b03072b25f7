import { ShoalError } from "@shoal/base";
import { NodeErrorCode } from "@shoal/raft/node";
import { encodeCommand } from "./kv.js";
import type { Operation } from "./linearizability.js";
import type { ProdNode } from "./prod-node.js";

/** What the clients need from the simulator. */
export interface ClientHost {
  nodes: Map<number, ProdNode>;
  members(): number[];
  pick<T>(items: readonly T[]): T;
  int(maxExclusive: number): number;
  next(): number;
  /** Runs `fn` after `delayMs` of virtual time, outside any server process. */
  later(delayMs: number, fn: () => void): void;
}

export const CLIENT_TIMEOUT_MS = 800;

/** Rejections after which the write certainly entered no log (or will never be applied). */
const DEFINITELY_NOT_APPLIED = new Set<string>([
  NodeErrorCode.NotLeader,
  NodeErrorCode.ProposalDropped,
  NodeErrorCode.EntryReplaced,
]);

interface Client {
  id: number;
  op: number;
  target: number;
  outstanding: Operation | undefined;
}

/**
 * KV clients over RaftNode's public API: writes through propose() (resolved = applied), reads
 * through readIndex() and then the local state machine. Requests reach a server through its
 * process (so a paused server sees them only when it resumes). Every write whose outcome is
 * unknown, and every read that timed out, stays in the history open-ended.
 */
export class ProdClients {
  readonly history: Operation[] = [];
  writesOk = 0;
  readsOk = 0;
  running = false;
  private logical = 0;
  private readonly clients: Client[] = [];

  constructor(
    private readonly host: ClientHost,
    private readonly keys: number,
  ) {}

  start(count: number): void {
    this.running = true;
    for (let c = 1; c <= count; c++) {
      const client: Client = {
        id: c,
        op: 0,
        target: this.host.pick(this.host.members()),
        outstanding: undefined,
      };
      this.clients.push(client);
      this.host.later(this.host.int(20), () => this.nextOp(client));
    }
  }

  stop(): void {
    this.running = false;
  }

  /** Puts every request still outstanding into the history as open. */
  closeOutstanding(): void {
    for (const c of this.clients) {
      if (c.outstanding !== undefined) this.openEnded(c.outstanding);
      c.outstanding = undefined;
    }
  }

  private openEnded(op: Operation): void {
    if (op.kind === "get") op.outputUnknown = true;
    this.history.push(op);
  }

  private nextOp(c: Client): void {
    if (!this.running || c.outstanding !== undefined) return;
    const key = `k${this.host.int(this.keys)}`;
    const roll = this.host.next();
    const kind = roll < 0.4 ? "put" : roll < 0.55 ? "append" : "get";
    const opId = ++c.op;
    const value = kind === "get" ? "" : `${c.id}.${opId};`;
    const op: Operation = {
      client: c.id,
      kind,
      key,
      input: value,
      output: "",
      call: ++this.logical,
      ret: Number.POSITIVE_INFINITY,
    };
    c.outstanding = op;
    let settled = false;
    const finish = (outcome: "ok" | "rejected" | "unknown", output?: string, leaderHint?: number) => {
      if (settled) return;
      settled = true;
      this.host.later(this.host.int(4), () => {
        if (c.outstanding !== op) return;
        c.outstanding = undefined;
        if (outcome === "ok") {
          op.ret = ++this.logical;
          if (kind === "get") {
            op.output = output ?? "";
            this.readsOk++;
          } else this.writesOk++;
          this.history.push(op);
        } else {
          if (outcome === "unknown") this.openEnded(op);
          c.target =
            leaderHint !== undefined && leaderHint > 0 && this.host.members().includes(leaderHint)
              ? leaderHint
              : this.host.pick(this.host.members());
        }
        this.host.later(this.host.int(10), () => this.nextOp(c));
      });
    };
    const server = this.host.nodes.get(c.target);
    server?.proc.schedule(this.host.int(4), () => {
      const node = server.node;
      if (node === undefined) return; // still recovering: the request is lost, the client times out
      if (kind === "get") {
        node.readIndex().then(
          () => finish("ok", server.sm.get(key)),
          () => finish("unknown"),
        );
      } else {
        node.propose(encodeCommand({ client: c.id, op: opId, kind, key, value })).then(
          () => finish("ok"),
          (err: unknown) => {
            const code = err instanceof ShoalError ? err.code : "";
            const leader =
              err instanceof ShoalError ? (err.details?.leader as number | undefined) : undefined;
            finish(DEFINITELY_NOT_APPLIED.has(code) ? "rejected" : "unknown", undefined, leader);
          },
        );
      }
    });
    this.host.later(CLIENT_TIMEOUT_MS, () => {
      if (c.outstanding !== op) return;
      settled = true;
      c.outstanding = undefined;
      this.openEnded(op);
      c.target = this.host.pick(this.host.members());
      this.nextOp(c);
    });
  }
}
