// Heartbeat-only simulated agents for the dispatcher benchmark: each node's own mTLS connection
// and Session stream, speaking the real gRPC protocol on the wire, but over node:http2 directly
// (gRPC's 5-byte framing, the generated codecs) instead of a grpc-js client. At 1,000 nodes the
// grpc-js clients' processes spent ~215 µs of CPU per heartbeat, more than twice the dispatcher
// they measure, so at 10,000 nodes the simulator, not the dispatcher, set the figure. The
// heartbeat is one constant frame; every agent of the process is driven by one timer wheel.
import * as http2 from "node:http2";
import { roleDnsName } from "@shoal/pki";
import { SessionClientMessage, SessionServerMessage } from "@shoal/proto";
import { heartbeatWheel, type WheelEntry } from "../src/sim/timer-wheel.js";

export interface HeartbeatNode {
  nodeId: string;
  certPem: string;
}

export interface HeartbeatAgentsOptions {
  address: string;
  rootCertPem: string;
  keyPem: string;
  nodes: readonly HeartbeatNode[];
}

/** Sessions in set-up at once (a window: the next starts as soon as one is open). */
const CONNECT_WINDOW = 50;
/**
 * A session whose first message does not come by then is dropped and opened again. Longer than
 * an agent's 10 s: on a starved machine a handshake waits in the accept queue, and one given up
 * after the dispatcher did its work is all done again (11,420 opens for 10,000 nodes at 15 s).
 */
const SESSION_OPEN_TIMEOUT_MS = 60_000;
/** A lost session is opened again after this long. */
const RECONNECT_DELAY_MS = 200;

function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.byteLength);
  out[0] = 0; // not compressed
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

const HEARTBEAT_FRAME = frame(
  SessionClientMessage.encode({ kind: { $case: "heartbeat", value: {} } }).finish(),
);

class HeartbeatAgent {
  sessions = 0;
  heartbeatErrors = 0;
  readonly periods: number[] = [];
  private client: http2.ClientHttp2Session | undefined;
  private stream: http2.ClientHttp2Stream | undefined;
  private next: WheelEntry | undefined;
  private awaitingAnswer = false;
  private closed = false;

  constructor(
    readonly node: HeartbeatNode,
    private readonly options: HeartbeatAgentsOptions,
  ) {}

  /** Opens the session; resolves on its first message, rejects on a failure or the timeout. */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let opened = false;
      const fail = (err: Error) => {
        if (!opened) {
          opened = true; // settled
          this.drop();
          reject(err);
          return;
        }
        this.lost();
      };
      const timer = setTimeout(
        () =>
          fail(new Error(`node "${this.node.nodeId}": no session message in ${SESSION_OPEN_TIMEOUT_MS} ms`)),
        SESSION_OPEN_TIMEOUT_MS,
      );
      const client =
        this.client && !this.client.destroyed && !this.client.closed
          ? this.client
          : http2.connect(`https://${this.options.address}`, {
              ca: this.options.rootCertPem,
              key: this.options.keyPem,
              cert: this.node.certPem,
              servername: roleDnsName("manager"),
            });
      if (client !== this.client) {
        this.client = client;
        // Its streams' own errors and closes drive the reconnect; this only keeps it handled.
        client.on("error", () => client.destroy());
        client.on("close", () => {
          if (this.client === client) this.client = undefined;
        });
      }
      const stream = client.request({
        ":method": "POST",
        ":path": "/shoal.v1.Dispatcher/Session",
        "content-type": "application/grpc",
        te: "trailers",
      });
      this.stream = stream;
      let pending: Buffer = Buffer.alloc(0);
      stream.on("data", (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        while (pending.length >= 5) {
          const length = pending.readUInt32BE(1);
          if (pending.length < 5 + length) break;
          const message = SessionServerMessage.decode(pending.subarray(5, 5 + length));
          pending = pending.subarray(5 + length);
          const kind = message.kind;
          if (kind?.$case === "heartbeat") this.answered(stream, kind.value.periodMs);
          else if (kind?.$case === "session" && !opened) {
            opened = true;
            clearTimeout(timer);
            this.sessions++;
            this.awaitingAnswer = false;
            this.schedule(0);
            resolve();
          }
        }
      });
      stream.on("error", (err) => {
        if (this.stream === stream) fail(err);
      });
      stream.on("close", () => {
        clearTimeout(timer);
        if (this.stream === stream) fail(new Error(`node "${this.node.nodeId}": session stream closed`));
      });
      stream.write(
        frame(
          SessionClientMessage.encode({ kind: { $case: "open", value: { previousSessionId: "" } } }).finish(),
        ),
      );
    });
  }

  close(): void {
    this.closed = true;
    this.drop();
    this.client?.destroy();
    this.client = undefined;
  }

  private drop(): void {
    if (this.next !== undefined) heartbeatWheel.cancel(this.next);
    this.next = undefined;
    const stream = this.stream;
    this.stream = undefined;
    stream?.close(http2.constants.NGHTTP2_CANCEL);
  }

  /** As an agent: a session that ends is opened again after a moment. */
  private lost(): void {
    if (this.awaitingAnswer) this.heartbeatErrors++;
    this.awaitingAnswer = false;
    this.drop();
    if (this.closed) return;
    setTimeout(() => {
      if (!this.closed) this.start().catch(() => this.lost());
    }, RECONNECT_DELAY_MS);
  }

  private answered(stream: http2.ClientHttp2Stream, periodMs: number): void {
    if (stream !== this.stream) return;
    this.awaitingAnswer = false;
    this.periods.push(periodMs);
    this.schedule(periodMs);
  }

  private schedule(delayMs: number): void {
    this.next = heartbeatWheel.schedule(delayMs, () => {
      this.next = undefined;
      if (this.closed || this.stream === undefined) return;
      this.awaitingAnswer = true;
      this.stream.write(HEARTBEAT_FRAME);
    });
  }
}

export class HeartbeatAgents {
  readonly agents: HeartbeatAgent[];

  constructor(options: HeartbeatAgentsOptions) {
    this.agents = options.nodes.map((n) => new HeartbeatAgent(n, options));
  }

  /** Opens every session, a window at a time, each tried until it opens. */
  async openAll(): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < this.agents.length) {
        const agent = this.agents[next++] as HeartbeatAgent;
        for (;;) {
          try {
            await agent.start();
            break;
          } catch {
            await new Promise((r) => setTimeout(r, RECONNECT_DELAY_MS));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONNECT_WINDOW, this.agents.length) }, worker));
  }

  close(): void {
    for (const a of this.agents) a.close();
  }
}
