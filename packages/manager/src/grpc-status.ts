// The one place where Shoal's error codes become gRPC statuses. Handlers throw ShoalErrors; the
// server turns each into a status whose code a generic gRPC client understands, and puts the
// Shoal code itself (plus hint and details) in trailers, so the CLI prints `error: …` with the
// stable code and a hint line. A follower that forwards a call rebuilds the leader's ShoalError
// from those trailers, so the caller sees the same error as if it had called the leader.
import * as grpc from "@grpc/grpc-js";
import { type Logger, ShoalError } from "@shoal/base";
import { ManagerErrorCode } from "./errors.js";

/** Trailer with the stable Shoal error code (`MANAGER_NOT_FOUND`, `STORE_VERSION_CONFLICT`, …). */
export const SHOAL_CODE_TRAILER = "shoal-code";
/** Trailer with the error's hint line (UTF-8; `-bin` so any text survives). */
export const SHOAL_HINT_TRAILER = "shoal-hint-bin";
/** The same hint as plain text, which the CLI reads, sent when it is printable ASCII. */
export const SHOAL_HINT_TEXT_TRAILER = "shoal-hint";
/** Trailer with the error's `details` as UTF-8 JSON. */
export const SHOAL_DETAILS_TRAILER = "shoal-details-bin";

const S = grpc.status;

/** Codes whose status is not what their name's suffix says, and every code of this package. */
const BY_CODE: Readonly<Record<string, grpc.status>> = {
  [ManagerErrorCode.NoLeader]: S.UNAVAILABLE,
  [ManagerErrorCode.NotLeader]: S.UNAVAILABLE,
  [ManagerErrorCode.QuorumUnsafe]: S.FAILED_PRECONDITION,
  [ManagerErrorCode.JoinTokenRefused]: S.PERMISSION_DENIED,
  [ManagerErrorCode.NodeRemoved]: S.PERMISSION_DENIED,
  [ManagerErrorCode.NotFound]: S.NOT_FOUND,
  [ManagerErrorCode.InvalidArgument]: S.INVALID_ARGUMENT,
  [ManagerErrorCode.InUse]: S.FAILED_PRECONDITION,
  [ManagerErrorCode.SessionInvalid]: S.NOT_FOUND,
  [ManagerErrorCode.SessionProtocol]: S.INVALID_ARGUMENT,
  [ManagerErrorCode.SessionOpenTimeout]: S.DEADLINE_EXCEEDED,
  [ManagerErrorCode.NotOwnTask]: S.PERMISSION_DENIED,
  [ManagerErrorCode.PermissionDenied]: S.PERMISSION_DENIED,
  [ManagerErrorCode.Unauthenticated]: S.UNAUTHENTICATED,
  [ManagerErrorCode.Unimplemented]: S.UNIMPLEMENTED,
  [ManagerErrorCode.Unavailable]: S.UNAVAILABLE,
  [ManagerErrorCode.InvalidOptions]: S.INTERNAL,
  [ManagerErrorCode.Internal]: S.INTERNAL,
  PROTO_INVALID_SPEC: S.INVALID_ARGUMENT,
  RAFT_NOT_LEADER: S.UNAVAILABLE,
  RAFT_PROPOSAL_DROPPED: S.UNAVAILABLE,
  RAFT_READ_TIMEOUT: S.UNAVAILABLE,
  RAFT_NODE_STOPPED: S.UNAVAILABLE,
  // The entry may or may not be applied: the client must read before it retries.
  RAFT_LEADERSHIP_LOST: S.UNKNOWN,
  RAFT_OUTCOME_UNKNOWN: S.UNKNOWN,
  RAFT_ENTRY_REPLACED: S.UNAVAILABLE,
  STORE_MISSING_REFERENCE: S.FAILED_PRECONDITION,
  STORE_TASK_STATE_BACKWARDS: S.FAILED_PRECONDITION,
  STORE_OUTCOME_UNKNOWN: S.UNKNOWN,
  STORE_SNAPSHOT_CORRUPT: S.DATA_LOSS,
  STORE_ENTRY_CORRUPT: S.DATA_LOSS,
  PKI_ROOT_MISMATCH: S.FAILED_PRECONDITION,
  PKI_KEK_UNAVAILABLE: S.FAILED_PRECONDITION,
  PKI_KEY_DECRYPT_FAILED: S.FAILED_PRECONDITION,
  ORCH_NETWORK_NAME_IN_USE: S.ALREADY_EXISTS,
  ORCH_NETWORK_SUBNET_OVERLAP: S.INVALID_ARGUMENT,
  ORCH_NETWORK_SUBNET_OUTSIDE_POOL: S.INVALID_ARGUMENT,
  ORCH_NETWORK_POOL_EXHAUSTED: S.RESOURCE_EXHAUSTED,
};

/**
 * Codes of other packages by what their name ends with, so a package's new code gets the right
 * status without an entry here (the store's codes were written beside this file).
 */
const BY_SUFFIX: readonly (readonly [RegExp, grpc.status])[] = [
  [/_NOT_FOUND$/, S.NOT_FOUND],
  [/_VERSION_CONFLICT$/, S.ABORTED],
  [/_(NAME_CONFLICT|ALREADY_EXISTS|EXISTS|DUPLICATE[A-Z_]*)$/, S.ALREADY_EXISTS],
  [/_(NO_LEADER|PROPOSAL_DROPPED|UNAVAILABLE|NOT_LEADER|STOPPED|CLOSED)$/, S.UNAVAILABLE],
  [/_(IN_USE|REFERENCED|BACKWARD_TRANSITION|FAILED_PRECONDITION)$/, S.FAILED_PRECONDITION],
  [/_(INVALID|AMBIGUOUS|MALFORMED|BAD)(_[A-Z0-9_]+)?$/, S.INVALID_ARGUMENT],
  [/_INVALID_[A-Z0-9_]+$/, S.INVALID_ARGUMENT],
  [/_(TIMEOUT|DEADLINE_EXCEEDED)$/, S.DEADLINE_EXCEEDED],
  [/_(PERMISSION_DENIED|FORBIDDEN)$/, S.PERMISSION_DENIED],
  [/_(TOO_LARGE|LIMIT_EXCEEDED|LAGGED)$/, S.RESOURCE_EXHAUSTED],
];

/** The gRPC status for a Shoal error code; UNKNOWN for a code no rule covers. */
export function grpcStatusFor(code: string): grpc.status {
  const exact = BY_CODE[code];
  if (exact !== undefined) return exact;
  for (const [pattern, status] of BY_SUFFIX) if (pattern.test(code)) return status;
  return S.UNKNOWN;
}

/**
 * What a handler sends back for `err`: a ShoalError keeps its message and travels with its code
 * in trailers; anything else is a broken invariant, logged here and sent as MANAGER_INTERNAL
 * without its text (which may hold internals).
 */
export function toStatus(err: unknown, logger: Logger): Partial<grpc.StatusObject> {
  const shoal = ShoalError.is(err)
    ? err
    : new ShoalError(ManagerErrorCode.Internal, "internal error in the manager (see its log)");
  if (!ShoalError.is(err)) logger.error({ err }, "rpc handler failed");
  const metadata = new grpc.Metadata();
  metadata.set(SHOAL_CODE_TRAILER, shoal.code);
  if (shoal.hint !== undefined) {
    metadata.set(SHOAL_HINT_TRAILER, Buffer.from(shoal.hint, "utf8"));
    if (/^[\x20-\x7e]*$/.test(shoal.hint)) metadata.set(SHOAL_HINT_TEXT_TRAILER, shoal.hint);
  }
  if (Object.keys(shoal.details).length > 0) {
    metadata.set(SHOAL_DETAILS_TRAILER, Buffer.from(JSON.stringify(shoal.details), "utf8"));
  }
  return { code: grpcStatusFor(shoal.code), details: shoal.message, metadata };
}

/**
 * The Shoal code for a status sent without one: refusals of the authorization wrapper and
 * grpc-js's own answers (unknown method). Undefined for statuses that must stay as they are.
 */
export function codeForBareStatus(status: grpc.status): string | undefined {
  if (status === S.PERMISSION_DENIED) return ManagerErrorCode.PermissionDenied;
  if (status === S.UNAUTHENTICATED) return ManagerErrorCode.Unauthenticated;
  if (status === S.UNIMPLEMENTED) return ManagerErrorCode.Unimplemented;
  return undefined;
}

/**
 * The ShoalError a status carries (from its trailers), or one with MANAGER_UNAVAILABLE /
 * MANAGER_INTERNAL when the status came from gRPC itself (connection lost, deadline) rather
 * than from a Shoal handler.
 */
export function fromStatus(err: grpc.ServiceError): ShoalError {
  const code = err.metadata?.get(SHOAL_CODE_TRAILER)[0];
  if (typeof code === "string" && code !== "") {
    const hint = err.metadata.get(SHOAL_HINT_TRAILER)[0];
    const details = err.metadata.get(SHOAL_DETAILS_TRAILER)[0];
    return new ShoalError(code, err.details, {
      ...(hint === undefined ? {} : { hint: hint.toString() }),
      ...(details === undefined
        ? {}
        : { details: JSON.parse(details.toString()) as Record<string, unknown> }),
    });
  }
  const bare = codeForBareStatus(err.code);
  if (bare !== undefined) return new ShoalError(bare, err.details, { cause: err });
  const transient =
    err.code === S.UNAVAILABLE || err.code === S.DEADLINE_EXCEEDED || err.code === S.CANCELLED;
  return new ShoalError(
    transient ? ManagerErrorCode.Unavailable : ManagerErrorCode.Internal,
    `${S[err.code] ?? err.code}: ${err.details}`,
    { cause: err, details: { grpcStatus: S[err.code] ?? err.code } },
  );
}
