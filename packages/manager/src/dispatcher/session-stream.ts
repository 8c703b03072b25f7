// The agent's half of a session stream as the dispatcher reads it (proto `Dispatcher.Session`):
// one `open`, first and within a timeout, then only heartbeats. The heartbeats ride on the
// session's own HTTP/2 stream because a unary call per heartbeat cost the dispatcher's process
// ~450 µs of CPU each (stream set-up, grpc-js call machinery, garbage), which 10,000 nodes at a
// 1 s period could not pay. A stream that never opens is closed, so a client cannot hold a
// session slot (and its TLS connection) without saying who it is.
import { type Clock, ShoalError } from "@shoal/base";
import type { SessionClientMessage, SessionRequest } from "@shoal/proto";
import { ManagerErrorCode } from "../errors.js";
import type { IncomingMessages } from "../rpc-handler.js";

/** How long a new session stream may take to send its `open` message. */
export const DEFAULT_SESSION_OPEN_TIMEOUT_MS = 10_000;

export interface SessionStreamOptions {
  clock: Clock;
  openTimeoutMs: number;
  /** The call's signal: the stream is gone. */
  signal: AbortSignal;
  /** The caller, for the messages. */
  nodeId: string;
  /** Every heartbeat after the `open`, in order. */
  onHeartbeat: () => void;
}

export class SessionStream {
  /** The `open` request; rejects on the timeout, a protocol break or the end of the stream before it. */
  readonly opened: Promise<SessionRequest>;
  private readonly brokenController = new AbortController();
  private open = false;

  constructor(incoming: IncomingMessages<SessionClientMessage>, options: SessionStreamOptions) {
    const { clock, openTimeoutMs, signal, nodeId } = options;
    let settle: { resolve: (r: SessionRequest) => void; reject: (e: unknown) => void } | undefined;
    this.opened = new Promise<SessionRequest>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const finish = (outcome: { request: SessionRequest } | { err: unknown }) => {
      const s = settle;
      settle = undefined;
      clock.clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      if (s === undefined) return;
      if ("request" in outcome) s.resolve(outcome.request);
      else s.reject(outcome.err);
    };
    const timer = clock.setTimeout(
      () =>
        finish({
          err: new ShoalError(
            ManagerErrorCode.SessionOpenTimeout,
            `session stream of node "${nodeId}" sent no open message within ${openTimeoutMs} ms`,
            { hint: "send the SessionRequest as the stream's first message" },
          ),
        }),
      openTimeoutMs,
    );
    const onAbort = () => finish({ err: signal.reason });
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    incoming.onMessage((m) => {
      const kind = m.kind;
      if (kind?.$case === "heartbeat" && this.open) {
        options.onHeartbeat();
        return;
      }
      if (kind?.$case === "open" && !this.open) {
        this.open = true;
        finish({ request: kind.value });
        return;
      }
      const what =
        kind === undefined ? "a message of no kind" : kind.$case === "open" ? "a second open" : "a heartbeat";
      const err = new ShoalError(
        ManagerErrorCode.SessionProtocol,
        `session stream of node "${nodeId}" sent ${what}${this.open ? "" : " before its open message"}`,
        { hint: "send one open message first, then only heartbeats" },
      );
      if (this.open) this.brokenController.abort(err);
      else finish({ err });
    });
  }

  /** Aborts (with the ShoalError as its reason) when the agent breaks the protocol after `open`. */
  get broken(): AbortSignal {
    return this.brokenController.signal;
  }
}
