import { ShoalError } from "@shoal/base";
import { StoreErrorCode } from "./errors.js";

/**
 * How a follower hands its proposals to the leader. Pluggable: the manager carries it on its one
 * gRPC server; tests use `LocalForwarding`. An implementation must deliver a store-coded
 * `ShoalError` from the leader unchanged (code, message, details); any other failure counts as
 * "outcome unknown" (the leader may have proposed the entry).
 */
export interface ProposalForwarding {
  /** Sends an encoded entry to member `leader`; resolves once it is applied there. */
  forward(leader: number, entry: Uint8Array, timeoutMs: number): Promise<void>;
  /** Registers member `id`'s handler for entries forwarded to it (ReplicatedStore.run does). */
  serve(id: number, handler: (entry: Uint8Array) => Promise<void>): void;
  unserve(id: number): void;
}

/** In-process forwarding between the members of one test (bytes are copied, as over a wire). */
export class LocalForwarding implements ProposalForwarding {
  private readonly handlers = new Map<number, (entry: Uint8Array) => Promise<void>>();

  async forward(leader: number, entry: Uint8Array): Promise<void> {
    const handler = this.handlers.get(leader);
    if (handler === undefined)
      throw new ShoalError(
        StoreErrorCode.NoLeader,
        `store member ${leader} is not reachable to forward a proposal`,
        {
          details: { leader },
        },
      );
    await new Promise((r) => setImmediate(r));
    await handler(entry.slice());
  }

  serve(id: number, handler: (entry: Uint8Array) => Promise<void>): void {
    this.handlers.set(id, handler);
  }

  unserve(id: number): void {
    this.handlers.delete(id);
  }
}
