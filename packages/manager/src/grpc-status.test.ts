import * as grpc from "@grpc/grpc-js";
import { ShoalError, silentLogger } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { ManagerErrorCode } from "./errors.js";
import { fromStatus, grpcStatusFor, SHOAL_CODE_TRAILER, toStatus } from "./grpc-status.js";

const S = grpc.status;

describe("grpcStatusFor", () => {
  it.each([
    [ManagerErrorCode.NoLeader, S.UNAVAILABLE],
    [ManagerErrorCode.QuorumUnsafe, S.FAILED_PRECONDITION],
    [ManagerErrorCode.JoinTokenRefused, S.PERMISSION_DENIED],
    [ManagerErrorCode.NodeRemoved, S.PERMISSION_DENIED],
    [ManagerErrorCode.InUse, S.FAILED_PRECONDITION],
    [ManagerErrorCode.NotOwnTask, S.PERMISSION_DENIED],
    ["PROTO_INVALID_SPEC", S.INVALID_ARGUMENT],
    ["RAFT_NOT_LEADER", S.UNAVAILABLE],
    ["RAFT_LEADERSHIP_LOST", S.UNKNOWN],
    // The store's codes by their suffix, so new codes map without an entry.
    ["STORE_VERSION_CONFLICT", S.ABORTED],
    ["STORE_NOT_FOUND", S.NOT_FOUND],
    ["STORE_NAME_CONFLICT", S.ALREADY_EXISTS],
    ["STORE_NO_LEADER", S.UNAVAILABLE],
    ["STORE_PROPOSAL_DROPPED", S.UNAVAILABLE],
    ["STORE_IN_USE", S.FAILED_PRECONDITION],
    ["STORE_TASK_STATE_BACKWARDS", S.FAILED_PRECONDITION],
    ["STORE_ALREADY_EXISTS", S.ALREADY_EXISTS],
    ["STORE_CLOSED", S.UNAVAILABLE],
    ["STORE_AMBIGUOUS_PREFIX", S.INVALID_ARGUMENT],
    ["STORE_WATCH_LAGGED", S.RESOURCE_EXHAUSTED],
    ["PKI_INVALID_CSR", S.INVALID_ARGUMENT],
    ["SOMETHING_ELSE", S.UNKNOWN],
  ])("%s → %s", (code, status) => {
    expect(grpcStatusFor(code)).toBe(status);
  });
});

describe("toStatus and fromStatus", () => {
  it("carry code, message, hint and details through trailers and back", () => {
    const err = new ShoalError("STORE_VERSION_CONFLICT", 'service "web" changed since version 7 was read', {
      hint: "read it again and retry — é",
      details: { id: "s1", expected: 7 },
    });
    const status = toStatus(err, silentLogger());
    expect(status.code).toBe(S.ABORTED);
    expect(status.metadata?.get(SHOAL_CODE_TRAILER)).toEqual(["STORE_VERSION_CONFLICT"]);
    // Not ASCII: only the -bin trailer carries it.
    expect(status.metadata?.get("shoal-hint")).toEqual([]);
    const ascii = toStatus(
      new ShoalError("MANAGER_NOT_FOUND", "x", { hint: "list with `ls`" }),
      silentLogger(),
    );
    expect(ascii.metadata?.get("shoal-hint")).toEqual(["list with `ls`"]);
    const back = fromStatus({
      ...status,
      name: "Error",
      message: "",
      metadata: status.metadata,
    } as grpc.ServiceError);
    expect(back).toMatchObject({
      code: "STORE_VERSION_CONFLICT",
      message: 'service "web" changed since version 7 was read',
      hint: "read it again and retry — é",
      details: { id: "s1", expected: 7 },
    });
  });

  it("hide the text of a non-Shoal error behind MANAGER_INTERNAL", () => {
    const status = toStatus(new Error("secret internals"), silentLogger());
    expect(status).toMatchObject({
      code: S.INTERNAL,
      details: "internal error in the manager (see its log)",
    });
    expect(status.metadata?.get(SHOAL_CODE_TRAILER)).toEqual([ManagerErrorCode.Internal]);
  });

  it("name a gRPC-level failure without a trailer as unavailable", () => {
    const err = { code: S.UNAVAILABLE, details: "connection refused", metadata: new grpc.Metadata() };
    expect(fromStatus(err as grpc.ServiceError).code).toBe(ManagerErrorCode.Unavailable);
    expect(fromStatus({ ...err, code: S.PERMISSION_DENIED } as grpc.ServiceError).code).toBe(
      ManagerErrorCode.PermissionDenied,
    );
  });
});
