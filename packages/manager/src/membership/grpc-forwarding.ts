// The store's ProposalForwarding over the cluster port (`StoreForwarding/Propose`): a follower
// sends its encoded transaction to the leader, whose store proposes it and answers once it is
// applied. Store-coded errors from the leader travel in the `shoal-code` trailers and are
// rebuilt unchanged (the store relies on that); any other failure — connection lost, deadline
// — is left uncoded, which the store reports as an unknown outcome.
import * as grpc from "@grpc/grpc-js";
import { type Logger, ShoalError, silentLogger } from "@shoal/base";
import { createClientCredentials, type NodeTlsMaterial, tlsChannelOptions } from "@shoal/pki";
import { StoreForwardingClient } from "@shoal/proto";
import { type ProposalForwarding, StoreErrorCode } from "@shoal/store";
import { fromStatus } from "../grpc-status.js";
import { unaryHandler } from "../rpc-handler.js";

/** A forwarded proposal that takes longer than this fails (the store's own deadline is shorter). */
const FORWARD_DEADLINE_MS = 30_000;

export class GrpcForwarding implements ProposalForwarding {
  private handler: ((entry: Uint8Array) => Promise<void>) | undefined;
  /** One client per leader address, with the certificate it was made with. */
  private readonly clients = new Map<string, { client: StoreForwardingClient; certPem: string }>();
  private readonly logger: Logger;

  constructor(
    /** This manager's TLS material now: a renewed certificate is used for new clients. */
    private readonly tls: () => NodeTlsMaterial,
    private readonly clusterId: string,
    /** The leader's cluster address by raft id (from the node objects). */
    private readonly addressOf: (raftId: number) => string | undefined,
    logger: Logger = silentLogger(),
  ) {
    this.logger = logger.child({ module: "manager/forwarding" });
  }

  async forward(leader: number, entry: Uint8Array, timeoutMs: number): Promise<void> {
    const address = this.addressOf(leader);
    if (address === undefined) {
      throw new ShoalError(StoreErrorCode.NoLeader, `the address of leader ${leader} is not known here`, {
        details: { leader },
      });
    }
    const client = this.clientFor(address);
    const deadline = Date.now() + (timeoutMs > 0 ? timeoutMs : FORWARD_DEADLINE_MS);
    await new Promise<void>((resolve, reject) =>
      client.propose({ entry }, new grpc.Metadata(), { deadline }, (err) => {
        if (err === null) return resolve();
        const rebuilt = fromStatus(err);
        // Only the leader's store decisions keep their code; transport failures are unknown outcomes.
        reject(rebuilt.code.startsWith("STORE_") ? rebuilt : err);
      }),
    );
  }

  /** The cached client for `address`, made again once this manager's certificate was renewed. */
  private clientFor(address: string): StoreForwardingClient {
    const tls = this.tls();
    const cached = this.clients.get(address);
    if (cached !== undefined && cached.certPem === tls.certPem) return cached.client;
    cached?.client.close();
    const client = new StoreForwardingClient(
      address,
      createClientCredentials(tls, { clusterId: this.clusterId }),
      tlsChannelOptions(),
    );
    this.clients.set(address, { client, certPem: tls.certPem });
    return client;
  }

  serve(_id: number, handler: (entry: Uint8Array) => Promise<void>): void {
    this.handler = handler;
  }

  unserve(_id: number): void {
    this.handler = undefined;
  }

  /** The `StoreForwarding` service for the cluster port. */
  service(): grpc.UntypedServiceImplementation {
    return {
      propose: unaryHandler(this.logger, async (req: { entry: Uint8Array }) => {
        const handler = this.handler;
        if (handler === undefined) {
          throw new ShoalError(StoreErrorCode.NoLeader, "this manager's store is not running");
        }
        await handler(req.entry);
        return {};
      }),
    };
  }

  close(): void {
    for (const c of this.clients.values()) c.client.close();
    this.clients.clear();
  }
}
