import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { NatsTlsMaterial } from "./nats-supervisor.js";
import { nodeInboxPrefix } from "./subjects.js";

export interface BusConnectOptions {
  /** `tls://host:port` of one or more servers; the client fails over between them. */
  servers: readonly string[];
  /** This node's id: names the connection and its inbox prefix (a worker may read only that). */
  nodeId: string;
  tls: NatsTlsMaterial;
  /** Default: try forever (a daemon outlives a server's restart). */
  maxReconnectAttempts?: number;
}

/** A client connection authenticated by the node's certificate. */
export function connectBus(o: BusConnectOptions): Promise<NatsConnection> {
  return connect({
    servers: [...o.servers],
    name: o.nodeId,
    inboxPrefix: nodeInboxPrefix(o.nodeId),
    tls: { ca: o.tls.caPem, cert: o.tls.certPem, key: o.tls.keyPem },
    maxReconnectAttempts: o.maxReconnectAttempts ?? -1,
    reconnectTimeWait: 250,
  });
}
