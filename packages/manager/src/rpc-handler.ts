// Adapters from async functions to grpc-js handlers, so every handler of the cluster port maps
// its failures the same way (grpc-status.ts) and reads the caller the same way (verifiedCaller).
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "@shoal/base";
import { type CallerIdentity, verifiedCaller } from "@shoal/pki";
import { toStatus } from "./grpc-status.js";

/** What a handler knows about its call besides the request. */
export interface RpcContext {
  /** The verified caller; undefined only on methods open to callers without a certificate. */
  caller: CallerIdentity | undefined;
  metadata: grpc.Metadata;
  /** The client's address as the server saw it (`ip:port`). */
  peer: string;
  /** Aborted when the client cancels or the call ends. */
  signal: AbortSignal;
}

/**
 * The reason a call's signal aborts with when the call is over: one shared AbortError (so
 * `isAbortError` holds), because `abort()` without a reason builds a DOMException with a stack
 * for every call (3 % of the leader's CPU at 1,000 agents).
 */
const CALL_ENDED = Object.assign(new Error("the call ended"), { name: "AbortError" });
/** The same, for a call the client cancelled (every session stream of a departing agent). */
const CALL_CANCELLED = Object.assign(new Error("the client cancelled the call"), { name: "AbortError" });
/** The client half-closed its side of a duplex call: for a session, the agent is gone. */
const CLIENT_CLOSED = Object.assign(new Error("the client closed its side of the call"), {
  name: "AbortError",
});

/** What every kind of grpc-js server call has that the context needs. */
interface ServerCall {
  readonly cancelled: boolean;
  readonly metadata: grpc.Metadata;
  getPeer(): string;
  on(event: "cancelled", listener: () => void): unknown;
}

function contextOf(call: ServerCall) {
  // The controller is made when a handler first reads `signal`: most unary handlers never do,
  // and an AbortController with its listener per call was a visible share of the leader's CPU
  // at thousands of agents (then heartbeating by unary calls). A call cancelled before that
  // reads an aborted signal.
  let controller: AbortController | undefined;
  let closed = false;
  const context = {
    caller: verifiedCaller(call),
    metadata: call.metadata,
    peer: call.getPeer(),
    get signal(): AbortSignal {
      if (controller === undefined) {
        const made = new AbortController();
        controller = made;
        if (call.cancelled) made.abort(CALL_CANCELLED);
        else if (closed) made.abort(CLIENT_CLOSED);
        else call.on("cancelled", () => made.abort(CALL_CANCELLED));
      }
      return controller.signal;
    },
    /** The call is over: a signal handed out aborts. */
    end: () => controller?.abort(CALL_ENDED),
    /** The client half-closed a duplex call: the signal aborts, now or when first read. */
    close: () => {
      closed = true;
      controller?.abort(CLIENT_CLOSED);
    },
  };
  return context;
}

/** A unary handler from `fn`; a thrown error becomes the mapped status with the Shoal code in trailers. */
export function unaryHandler<Req, Res>(
  logger: Logger,
  fn: (request: Req, context: RpcContext) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const context = contextOf(call);
    fn(call.request, context).then(
      (response) => {
        context.end();
        callback(null, response);
      },
      (err: unknown) => {
        context.end();
        callback(toStatus(err, logger), null);
      },
    );
  };
}

/**
 * A server-streaming handler from `fn`, which writes with `send` until it returns (the stream
 * ends) or throws (the stream fails with the mapped status). `context.signal` aborts when the
 * client goes away, which is how long-lived streams (Session, Assignments, Watch) end.
 */
export function streamHandler<Req, Res>(
  logger: Logger,
  fn: (request: Req, send: (message: Res) => void, context: RpcContext) => Promise<void>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    const context = contextOf(call);
    const send = (message: Res) => {
      if (!call.cancelled) call.write(message);
    };
    endWhenSettled(call, context, fn(call.request, send, context), logger);
  };
}

/** What a bidirectional handler reads: the client's messages, in order. */
export interface IncomingMessages<Req> {
  /**
   * Sets the one listener of every message; messages that came before it are delivered to it
   * at once, in order. A handler sets it before its first await, so it misses nothing.
   */
  onMessage(listener: (message: Req) => void): void;
}

/**
 * A bidirectional handler from `fn`, like `streamHandler`: `send` writes until `fn` returns (the
 * call ends with OK) or throws (it fails with the mapped status). `context.signal` also aborts
 * when the client half-closes, because each long-lived duplex call here (the dispatcher's
 * session) lasts exactly as long as both sides keep it open.
 */
export function duplexHandler<Req, Res>(
  logger: Logger,
  fn: (incoming: IncomingMessages<Req>, send: (message: Res) => void, context: RpcContext) => Promise<void>,
): grpc.handleBidiStreamingCall<Req, Res> {
  return (call) => {
    const context = contextOf(call);
    let listener: ((message: Req) => void) | undefined;
    const early: Req[] = [];
    call.on("data", (message: Req) => {
      if (listener !== undefined) listener(message);
      else early.push(message);
    });
    call.on("end", () => context.close());
    const incoming: IncomingMessages<Req> = {
      onMessage: (l) => {
        listener = l;
        for (const m of early.splice(0)) l(m);
      },
    };
    const send = (message: Res) => {
      if (!call.cancelled) call.write(message);
    };
    endWhenSettled(call, context, fn(incoming, send, context), logger);
  };
}

/** Ends a streaming call when its handler settles: OK once it returns, the mapped status if it throws. */
function endWhenSettled(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  context: ReturnType<typeof contextOf>,
  done: Promise<void>,
  logger: Logger,
): void {
  done.then(
    () => {
      context.end();
      if (!call.cancelled) call.end();
    },
    (err: unknown) => {
      context.end();
      if (!call.cancelled) call.emit("error", toStatus(err, logger));
    },
  );
}
