import type { Http2Server, ServerHttp2Session } from "node:http2";
import type { Socket } from "node:net";
import {
  type ChannelCredentials,
  type ClientWritableStream,
  makeGenericClientConstructor,
  Server,
  type ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import {
  type Clock,
  type Logger,
  type Random,
  ShoalError,
  silentLogger,
  systemClock,
  systemRandom,
  type TimerHandle,
} from "@shoal/base";
import { RaftMessage, type RaftServer, RaftService, type StreamAck } from "@shoal/proto";
import { MAX_MESSAGE_BYTES } from "../config.js";
import type { Message } from "../types.js";
import { coalesce } from "./coalesce.js";
import { TransportErrorCode } from "./errors.js";
import type { Transport, TransportHandler } from "./transport.js";
import { estimateWireBytes, fromWire, toWire } from "./wire.js";

export interface GrpcTransportOptions {
  /** This member's raft id (messages addressed elsewhere are refused on receipt). */
  id: number;
  /** Peer addresses (`host:port`) by raft id; change later with setPeer/removePeer. */
  peers?: ReadonlyMap<number, string> | Record<number, string>;
  /** Credentials for dialing peers: `credentials.createSsl(ca, key, cert)` for mTLS. */
  credentials: ChannelCredentials;
  /**
   * Run an own gRPC server on this address with these credentials (`ServerCredentials.createSsl(
   * ca, [{private_key, cert_chain}], true)` for mTLS). Without it, mount `serviceHandlers()` on a
   * server you own.
   */
  listen?: { address: string; credentials: ServerCredentials };
  logger?: Logger;
  clock?: Clock;
  /** Jitter for reconnect backoff. */
  random?: Random;
  /** First reconnect delay after a stream fails; doubles up to maxBackoffMs. Default 50. */
  initialBackoffMs?: number;
  /** Default 2000. */
  maxBackoffMs?: number;
  /** Messages queued per peer while its stream is busy; more are dropped (Raft resends). Default 4096. */
  maxQueuedMessages?: number;
}

export const DEFAULT_INITIAL_BACKOFF_MS = 50;
export const DEFAULT_MAX_BACKOFF_MS = 2000;
export const DEFAULT_MAX_QUEUED_MESSAGES = 4096;
/** close() waits this long for calls in progress before it shuts the server down hard. */
export const SERVER_SHUTDOWN_GRACE_MS = 500;

export interface TransportStats {
  sent: number;
  received: number;
  dropped: number;
  /** Largest encoded message sent / received, in bytes (both capped at MAX_MESSAGE_BYTES). */
  maxSentBytes: number;
  maxReceivedBytes: number;
}

const channelOptions = {
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
  // One TCP connection per peer and direction; no sharing with other clients of the same address.
  "grpc.use_local_subchannel_pool": 1,
};

/**
 * Raft over gRPC (`shoal.v1.Raft/Stream`): one long-lived client stream per peer carries every
 * message to it in order; a failed stream is reopened with exponential backoff and jitter, and
 * messages sent meanwhile are dropped (reported unreachable; Raft retransmits). No message over
 * MAX_MESSAGE_BYTES leaves: the core chunks snapshots and bounds appends, this transport drops
 * (and logs) anything that would still be larger, and both ends set gRPC's limits to it.
 *
 * A resource: `await GrpcTransport.open(opts)` binds the server (when `listen` is given),
 * `close()` ends every stream and shuts the server down. The RaftNode that uses it only attaches
 * its handler while it runs; whoever opened the transport closes it.
 */
export class GrpcTransport implements Transport {
  readonly stats: TransportStats = { sent: 0, received: 0, dropped: 0, maxSentBytes: 0, maxReceivedBytes: 0 };
  private readonly opts: GrpcTransportOptions;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxQueuedMessages: number;
  private readonly peers = new Map<number, PeerStream>();
  private readonly addresses = new Map<number, string>();
  private readonly clientCtor: ReturnType<typeof makeGenericClientConstructor>;
  private readonly definition: ServiceDefinition;
  private handler: TransportHandler | undefined;
  private server: Server | undefined;
  private boundPort = 0;
  private closed = false;

  /** Opens the transport: binds its own server when `listen` is given. */
  static async open(opts: GrpcTransportOptions): Promise<GrpcTransport> {
    const t = new GrpcTransport(opts);
    if (opts.listen !== undefined) await t.listen(opts.listen);
    return t;
  }

  private constructor(opts: GrpcTransportOptions) {
    this.opts = opts;
    this.logger = (opts.logger ?? silentLogger()).child({ module: "raft/transport", raftId: opts.id });
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? systemRandom();
    this.initialBackoffMs = opts.initialBackoffMs ?? DEFAULT_INITIAL_BACKOFF_MS;
    this.maxBackoffMs = opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    this.maxQueuedMessages = opts.maxQueuedMessages ?? DEFAULT_MAX_QUEUED_MESSAGES;
    const peers =
      opts.peers instanceof Map
        ? opts.peers
        : new Map(Object.entries(opts.peers ?? {}).map(([k, v]) => [Number(k), v]));
    for (const [id, addr] of peers) this.addresses.set(id, addr);
    // The generated definition, with (de)serializers that also measure the exact wire size.
    this.definition = {
      ...RaftService,
      stream: {
        ...RaftService.stream,
        requestSerialize: (value: RaftMessage): Buffer => {
          const buf = Buffer.from(RaftMessage.encode(value).finish());
          if (buf.length > this.stats.maxSentBytes) this.stats.maxSentBytes = buf.length;
          return buf;
        },
        requestDeserialize: (buf: Buffer): RaftMessage => {
          if (buf.length > this.stats.maxReceivedBytes) this.stats.maxReceivedBytes = buf.length;
          return RaftMessage.decode(buf);
        },
      },
    } as unknown as ServiceDefinition;
    this.clientCtor = makeGenericClientConstructor(this.definition as never, "shoal.v1.Raft");
  }

  /** Port the own server is bound to (useful with address `127.0.0.1:0`); 0 without `listen`. */
  get port(): number {
    return this.boundPort;
  }

  attach(handler: TransportHandler): void {
    if (this.closed) throw closedError(this.opts.id);
    if (this.handler !== undefined) {
      throw new ShoalError(
        TransportErrorCode.AlreadyAttached,
        `raft transport ${this.opts.id} already has a handler attached`,
        { hint: "detach() the running node first; one RaftNode per transport" },
      );
    }
    this.handler = handler;
  }

  detach(): void {
    this.handler = undefined;
  }

  private async listen(listen: NonNullable<GrpcTransportOptions["listen"]>): Promise<void> {
    const server = new Server({
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
    });
    const impl: UntypedServiceImplementation = {
      ...this.serviceHandlers(),
      join: unimplemented,
      leave: unimplemented,
      resolveAddress: unimplemented,
    };
    server.addService(this.definition, impl);
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(listen.address, listen.credentials, (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    tuneServerSockets(server);
    this.server = server;
    this.logger.info({ address: listen.address, port: this.boundPort }, "raft transport listening");
  }

  /** The Stream and ProcessRaftMessage RPC handlers, for mounting on a server the caller owns. */
  serviceHandlers(): Pick<RaftServer, "stream" | "processRaftMessage"> {
    return {
      stream: (call, callback) => {
        call.on("data", (w: RaftMessage) => this.deliver(w));
        call.on("end", () => callback(null, {} as StreamAck));
        call.on("error", () => {});
      },
      processRaftMessage: (call, callback) => {
        this.deliver(call.request);
        callback(null, {});
      },
    };
  }

  setPeer(id: number, address: string): void {
    if (this.addresses.get(id) === address) return;
    this.addresses.set(id, address);
    this.peers.get(id)?.close();
    this.peers.delete(id);
  }

  removePeer(id: number): void {
    this.addresses.delete(id);
    this.peers.get(id)?.close();
    this.peers.delete(id);
  }

  send(messages: readonly Message[]): void {
    if (this.closed) return;
    for (const m of messages) {
      const estimate = estimateWireBytes(m);
      if (estimate > MAX_MESSAGE_BYTES) {
        this.stats.dropped++;
        this.logger.error(
          {
            err: new ShoalError(
              TransportErrorCode.MessageTooLarge,
              `raft ${m.type} message to ${m.to} of about ${estimate} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte limit`,
            ),
            to: m.to,
          },
          "raft transport: dropping oversized message",
        );
        this.failed(m);
        continue;
      }
      const peer = this.peerStream(m.to);
      if (peer === undefined) {
        this.stats.dropped++;
        this.failed(m);
        continue;
      }
      peer.enqueue(m);
    }
  }

  /** Ends every peer stream and shuts the own server down (idempotent). */
  async close(): Promise<void> {
    this.closed = true;
    this.handler = undefined;
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, SERVER_SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Reports a message that will not reach its peer (internal, used by the peer streams). */
  failed(m: Message): void {
    this.handler?.reportUnreachable(m.to);
    if (m.type === "snap") this.handler?.reportSnapshot(m.to, false);
  }

  /** The stream to `peerId` failed (internal). */
  unreachable(peerId: number): void {
    this.handler?.reportUnreachable(peerId);
  }

  /** The last chunk of a snapshot went out on a healthy stream (internal). */
  snapshotSent(peerId: number): void {
    this.handler?.reportSnapshot(peerId, true);
  }

  private deliver(w: RaftMessage): void {
    if (this.closed || this.handler === undefined) return;
    let m: Message;
    try {
      m = fromWire(w);
    } catch (err) {
      this.logger.warn({ err }, "raft transport: dropping invalid message");
      return;
    }
    if (m.to !== this.opts.id) {
      this.logger.warn({ to: m.to, from: m.from }, "raft transport: dropping message for another member");
      return;
    }
    this.stats.received++;
    this.handler.receive(m);
  }

  private peerStream(id: number): PeerStream | undefined {
    let p = this.peers.get(id);
    if (p !== undefined) return p;
    const address = this.addresses.get(id);
    if (address === undefined) return undefined;
    p = new PeerStream(this, id, address, {
      ctor: this.clientCtor,
      credentials: this.opts.credentials,
      clock: this.clock,
      random: this.random,
      logger: this.logger.child({ peer: id }),
      initialBackoffMs: this.initialBackoffMs,
      maxBackoffMs: this.maxBackoffMs,
      maxQueued: this.maxQueuedMessages,
    });
    this.peers.set(id, p);
    return p;
  }
}

/**
 * grpc-js leaves Nagle's algorithm on for accepted connections and the default 64 KiB HTTP/2
 * window for streams clients send on. On a Raft stream the server mostly sends WINDOW_UPDATEs
 * back; Nagle plus delayed ACKs then holds them for up to 40 ms and stalls the peer's appends
 * (measured: 10x lower throughput). grpc-js offers no option for either, so reach into its
 * http2 servers (private field; skipped silently if a grpc-js update renames it).
 */
function tuneServerSockets(server: Server): void {
  const servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return;
  for (const h2 of servers.keys()) {
    h2.on("connection", (socket: Socket) => socket.setNoDelay(true));
    h2.on("secureConnection", (socket: Socket) => socket.setNoDelay(true));
    h2.updateSettings({ initialWindowSize: STREAM_WINDOW_BYTES });
    h2.on("session", (session: ServerHttp2Session) => {
      session.once("connect", () => session.setLocalWindowSize(STREAM_WINDOW_BYTES * 4));
    });
  }
}

function closedError(id: number): ShoalError {
  return new ShoalError(TransportErrorCode.Closed, `raft transport ${id} is closed`, {
    hint: "open a new transport with GrpcTransport.open()",
  });
}

const STREAM_WINDOW_BYTES = 8 * 1024 * 1024;
/** Writes handed to grpc-js per peer before waiting for their callbacks. */
const MAX_WRITES_IN_FLIGHT = 4;
/** Coalesced appends stay below this (the core's own maxSizePerMsg default is 1 MiB). */
const COALESCE_MAX_BYTES = 1024 * 1024;

const unimplemented = (_call: unknown, callback: (err: Error) => void) =>
  callback(Object.assign(new Error("not served by the raft transport"), { code: 12 }));

interface PeerStreamDeps {
  ctor: ReturnType<typeof makeGenericClientConstructor>;
  credentials: ChannelCredentials;
  clock: Clock;
  random: Random;
  logger: Logger;
  initialBackoffMs: number;
  maxBackoffMs: number;
  maxQueued: number;
}

type RawClient = InstanceType<ReturnType<typeof makeGenericClientConstructor>> & {
  stream(cb: (err: Error | null) => void): ClientWritableStream<RaftMessage>;
};

/** One peer: a client, its current stream, a bounded queue, and the reconnect backoff. */
class PeerStream {
  private readonly client: RawClient;
  private call: ClientWritableStream<RaftMessage> | undefined;
  private queue: Message[] = [];
  private waitingDrain = false;
  private writesInFlight = 0;
  private flushScheduled = false;
  private backoffMs: number;
  private retryTimer: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly owner: GrpcTransport,
    private readonly peerId: number,
    address: string,
    private readonly deps: PeerStreamDeps,
  ) {
    this.client = new deps.ctor(address, deps.credentials, channelOptions) as RawClient;
    this.backoffMs = deps.initialBackoffMs;
  }

  enqueue(m: Message): void {
    if (this.closed) return;
    if (this.retryTimer !== undefined) {
      // Disconnected and waiting to retry: drop rather than pile up stale traffic.
      this.owner.stats.dropped++;
      this.owner.failed(m);
      return;
    }
    if (this.queue.length >= this.deps.maxQueued) {
      this.owner.stats.dropped++;
      this.owner.failed(m);
      return;
    }
    const firstSnap = m.type === "heartbeat" ? this.queue.findIndex((q) => q.type === "snap") : -1;
    if (firstSnap >= 0) {
      // Heartbeats overtake queued snapshot chunks: a follower receiving a large snapshot must
      // still hear its leader, or it would time out and campaign in the middle of the transfer.
      this.queue.splice(firstSnap, 0, m);
    } else {
      const tail = this.queue[this.queue.length - 1];
      const merged = tail === undefined ? undefined : coalesce(tail, m, COALESCE_MAX_BYTES);
      if (merged !== undefined) this.queue[this.queue.length - 1] = merged;
      else this.queue.push(m);
    }
    // Flush after the current synchronous run (a whole Ready's messages) so that it can merge;
    // a microtask, not the next event-loop turn, to keep latency down.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer !== undefined) this.deps.clock.clearTimeout(this.retryTimer);
    this.call?.end();
    this.call = undefined;
    this.client.close();
  }

  private open(): ClientWritableStream<RaftMessage> {
    const call = this.client.stream((err) => {
      if (this.call === call) this.broken(err ?? new Error("stream ended by the peer"));
    });
    call.on("error", () => {});
    this.call = call;
    return call;
  }

  private flush(): void {
    if (this.waitingDrain || this.closed || this.queue.length === 0) return;
    const call = this.call ?? this.open();
    // Only a few writes are handed to grpc-js at a time: what waits in our queue can still be
    // coalesced, what sits in grpc-js's buffers cannot.
    while (this.queue.length > 0 && this.writesInFlight < MAX_WRITES_IN_FLIGHT) {
      const m = this.queue.shift()!;
      this.writesInFlight++;
      const ok = call.write(toWire(m), () => {
        if (this.call === call) this.writesInFlight--;
        if (this.queue.length > 0 && this.call === call) this.flush();
        this.owner.stats.sent++;
        // A healthy write resets the backoff; the snapshot's last chunk reports success.
        this.backoffMs = this.deps.initialBackoffMs;
        if (m.type === "snap" && m.done && this.call === call) this.owner.snapshotSent(m.to);
      });
      if (!ok) {
        this.waitingDrain = true;
        call.once("drain", () => {
          this.waitingDrain = false;
          if (this.call === call) this.flush();
        });
        return;
      }
    }
  }

  private broken(err: Error): void {
    this.call = undefined;
    this.waitingDrain = false;
    this.writesInFlight = 0;
    if (this.closed) return;
    this.deps.logger.debug(
      { err: err.message, backoffMs: this.backoffMs },
      "raft transport: stream to peer failed",
    );
    for (const m of this.queue) {
      this.owner.stats.dropped++;
      this.owner.failed(m);
    }
    this.queue = [];
    this.owner.unreachable(this.peerId);
    const jitter = 0.5 + this.deps.random.next() * 0.5;
    const delay = Math.round(this.backoffMs * jitter);
    this.backoffMs = Math.min(this.backoffMs * 2, this.deps.maxBackoffMs);
    this.retryTimer = this.deps.clock.setTimeout(() => {
      this.retryTimer = undefined;
    }, delay);
  }
}
