import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { ShoalError } from "@shoal/base";
import { CliErrorCode, ExitCode } from "../errors.js";

/** The trailer the manager puts its ShoalError code in (its gRPC status mapping sets it). */
export const SHOAL_CODE_METADATA_KEY = "shoal-code";
/** An optional second trailer with a hint for the user. */
export const SHOAL_HINT_METADATA_KEY = "shoal-hint";

/** gRPC status → exit code and a default hint, for errors whose code the CLI does not know. */
const BY_STATUS: Readonly<Partial<Record<GrpcStatus, { exitCode: number; hint?: string }>>> = {
  [GrpcStatus.NOT_FOUND]: { exitCode: ExitCode.NotFound, hint: "list what exists with `ls`" },
  [GrpcStatus.ALREADY_EXISTS]: {
    exitCode: ExitCode.Conflict,
    hint: "pick another name or remove the old one",
  },
  [GrpcStatus.ABORTED]: {
    exitCode: ExitCode.Conflict,
    hint: "the object changed while this command ran; run it again",
  },
  [GrpcStatus.FAILED_PRECONDITION]: { exitCode: ExitCode.Unavailable },
  [GrpcStatus.INVALID_ARGUMENT]: { exitCode: ExitCode.Invalid },
  [GrpcStatus.OUT_OF_RANGE]: { exitCode: ExitCode.Invalid },
  [GrpcStatus.PERMISSION_DENIED]: {
    exitCode: ExitCode.Denied,
    hint: "remote control needs a manager's client certificate; on a manager host use the admin socket",
  },
  [GrpcStatus.UNAUTHENTICATED]: {
    exitCode: ExitCode.Denied,
    hint: "pass a client certificate of this cluster (--tlscert, --tlskey, --tlscacert)",
  },
  [GrpcStatus.UNAVAILABLE]: {
    exitCode: ExitCode.Unreachable,
    hint: "is the daemon running (`systemctl status shoal`)? for a remote manager check --host and the certificates",
  },
  [GrpcStatus.DEADLINE_EXCEEDED]: {
    exitCode: ExitCode.Unavailable,
    hint: "the manager did not answer in time; is the cluster's leader up (`shoal node ls`)?",
  },
  [GrpcStatus.UNIMPLEMENTED]: {
    exitCode: ExitCode.Unavailable,
    hint: "the daemon at this endpoint does not serve this call (is it a manager? the same version?)",
  },
  [GrpcStatus.RESOURCE_EXHAUSTED]: { exitCode: ExitCode.Unavailable },
};

/**
 * Hints for Shoal codes where the CLI can say what to do next; the manager's own `shoal-hint`
 * wins. Codes are matched by suffix so that `STORE_NOT_FOUND` and `MANAGER_NOT_FOUND` share one.
 */
const HINT_BY_CODE_SUFFIX: readonly [suffix: string, exitCode: number, hint: string | undefined][] = [
  ["_NOT_FOUND", ExitCode.NotFound, "list what exists with `ls`"],
  ["_NOT_FOUND_IN_REGISTRY", ExitCode.NotFound, "check the name and tag, and which registry it points at"],
  ["_REGISTRY_UNREACHABLE", ExitCode.Unreachable, "check the registry's address and that it answers"],
  ["_AMBIGUOUS", ExitCode.NotFound, "give more characters of the id, or the full name"],
  ["_ALREADY_EXISTS", ExitCode.Conflict, "pick another name or remove the old one"],
  ["_NAME_CONFLICT", ExitCode.Conflict, "pick another name or remove the old one"],
  ["_CONFLICT", ExitCode.Conflict, "the object changed while this command ran; run it again"],
  ["_IN_USE", ExitCode.Conflict, "remove or update what uses it first"],
  ["_INVALID_SPEC", ExitCode.Invalid, "fix the values named above"],
  ["_INVALID_ARGUMENT", ExitCode.Invalid, undefined],
  ["_NOT_LEADER", ExitCode.Unavailable, "the cluster has no leader right now; retry in a few seconds"],
  ["_NO_LEADER", ExitCode.Unavailable, "the cluster has no leader right now; retry in a few seconds"],
  ["_NOT_MANAGER", ExitCode.Unavailable, "run this on a manager node, or point --host at a manager"],
  ["_NOT_IN_CLUSTER", ExitCode.Unavailable, "start a cluster with `shoal cluster init` or join one"],
  ["_ALREADY_IN_CLUSTER", ExitCode.Conflict, "leave the current cluster first with `shoal cluster leave`"],
  ["_QUORUM", ExitCode.Unavailable, "use --force only if you accept losing the quorum"],
  ["_PERMISSION_DENIED", ExitCode.Denied, undefined],
  ["_UNAUTHENTICATED", ExitCode.Denied, undefined],
];

/**
 * Turns a grpc-js error into the ShoalError the user sees. The manager sends its ShoalError's code
 * in the `shoal-code` trailer and the message as the status details; without the trailer (a
 * transport failure, a server from elsewhere) the gRPC status decides. `details.exitCode` carries
 * the exit code for `reportError`.
 */
export function fromGrpcError(err: ServiceError, endpoint: string): ShoalError {
  const code = firstString(err.metadata?.get(SHOAL_CODE_METADATA_KEY));
  const serverHint = firstString(err.metadata?.get(SHOAL_HINT_METADATA_KEY));
  const byStatus = BY_STATUS[err.code as GrpcStatus];
  const message = err.details !== "" && err.details !== undefined ? err.details : err.message;
  if (code !== undefined) {
    const known = HINT_BY_CODE_SUFFIX.find(([suffix]) => code.endsWith(suffix));
    const exitCode = known?.[1] ?? byStatus?.exitCode ?? ExitCode.Failed;
    const hint = serverHint ?? known?.[2] ?? byStatus?.hint;
    return new ShoalError(code, message, {
      ...(hint === undefined ? {} : { hint }),
      details: { exitCode, grpcStatus: err.code },
      cause: err,
    });
  }
  if (err.code === GrpcStatus.UNAVAILABLE) {
    return new ShoalError(
      CliErrorCode.Unreachable,
      `cannot reach shoal at ${endpoint}: ${transportCause(message)}`,
      {
        ...(byStatus?.hint === undefined ? {} : { hint: byStatus.hint }),
        details: { exitCode: ExitCode.Unreachable, grpcStatus: err.code },
        cause: err,
      },
    );
  }
  const hint = serverHint ?? byStatus?.hint;
  return new ShoalError(CliErrorCode.Remote, message, {
    ...(hint === undefined ? {} : { hint }),
    details: { exitCode: byStatus?.exitCode ?? ExitCode.Failed, grpcStatus: err.code },
    cause: err,
  });
}

/**
 * grpc-js wraps the socket error ("No connection established. Last error: Error: connect ENOENT
 * /run/shoal/shoal.sock. Resolution note: "); the user needs the socket error.
 */
function transportCause(message: string): string {
  const m = /Last error: (?:Error: )?(.*?)(?:\.? Resolution note:.*)?$/s.exec(message);
  return (m?.[1] ?? message).trim();
}

function firstString(values: readonly (string | Buffer)[] | undefined): string | undefined {
  const value = values?.[0];
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.toString("utf8");
}
