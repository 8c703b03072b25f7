import type { Message } from "../types.js";

/** What a transport calls back into (the RaftNode driver implements it). */
export interface TransportHandler {
  /** A message from a peer arrived. Must not block; the driver queues it for the core. */
  receive(message: Message): void;
  /** Sending to `peerId` failed: the leader stops optimistic pipelining to it until it answers. */
  reportUnreachable(peerId: number): void;
  /** The last chunk of a snapshot to `peerId` was delivered (`ok`) or its stream failed. */
  reportSnapshot(peerId: number, ok: boolean): void;
}

/**
 * Moves Raft messages between members. Delivery is best effort: messages may be lost, delayed or
 * duplicated and Raft copes; a transport must never reorder messages to one peer within a stream
 * in a way that corrupts a snapshot (chunks carry offsets) and must never send a message over
 * MAX_MESSAGE_BYTES. The core never imports a transport; only the driver does.
 *
 * A transport is a resource its owner opens and closes (GrpcTransport.open() / close()); the
 * driver only attaches its handler while it runs and detaches it when it stops.
 */
export interface Transport {
  /** Delivers received messages and reports to `handler` from now on (one handler at a time). */
  attach(handler: TransportHandler): void;
  /** Stops delivering to the handler; messages that arrive afterwards are dropped. */
  detach(): void;
  /** Queues messages for their `to` peers and returns at once. */
  send(messages: readonly Message[]): void;
}
