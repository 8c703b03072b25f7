import * as grpc from "@grpc/grpc-js";
import {
  ControlService,
  DispatcherService,
  LogBrokerService,
  LogsService,
  NodeCAService,
  RaftService,
} from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { authorize, authorizeService } from "./authorization.js";
import type { CallerIdentityResult } from "./caller-identity.js";
import { PkiErrorCode } from "./errors.js";
import { accessFor, SHOAL_RPC_ROLES } from "./rpc-roles.js";

const worker: CallerIdentityResult = {
  kind: "verified",
  identity: { nodeId: "w1", role: "worker", clusterId: "c1" },
};
const manager: CallerIdentityResult = {
  kind: "verified",
  identity: { nodeId: "m1", role: "manager", clusterId: "c1" },
};
const anonymous: CallerIdentityResult = { kind: "anonymous", reason: "no certificate" };
const foreign: CallerIdentityResult = {
  kind: "foreign",
  reason: 'client certificate belongs to cluster "c2", not "c1"',
};

function decide(path: string, who: CallerIdentityResult) {
  const decision = authorize(path, accessFor(SHOAL_RPC_ROLES, path), who);
  return decision.allowed ? "allowed" : grpc.status[decision.code];
}

describe("authorize with Shoal's table", () => {
  it.each([
    ["/shoal.v1.Control/CreateService", "allowed", "PERMISSION_DENIED", "UNAUTHENTICATED"],
    ["/shoal.v1.Control/Watch", "allowed", "PERMISSION_DENIED", "UNAUTHENTICATED"],
    ["/shoal.v1.Raft/ProcessRaftMessage", "allowed", "PERMISSION_DENIED", "UNAUTHENTICATED"],
    ["/shoal.v1.Logs/SubscribeLogs", "allowed", "PERMISSION_DENIED", "UNAUTHENTICATED"],
    ["/shoal.v1.Dispatcher/UpdateTaskStatus", "allowed", "allowed", "UNAUTHENTICATED"],
    ["/shoal.v1.Dispatcher/Session", "allowed", "allowed", "UNAUTHENTICATED"],
    ["/shoal.v1.LogBroker/PublishLogs", "allowed", "allowed", "UNAUTHENTICATED"],
    ["/shoal.v1.NodeCA/RenewNodeCertificate", "allowed", "allowed", "UNAUTHENTICATED"],
    ["/shoal.v1.NodeCA/GetRootCACertificate", "allowed", "allowed", "allowed"],
    ["/shoal.v1.NodeCA/IssueNodeCertificate", "allowed", "allowed", "allowed"],
    ["/shoal.v1.NodeCA/NodeCertificateStatus", "allowed", "allowed", "allowed"],
  ])("%s: manager %s, worker %s, no certificate %s", (path, forManager, forWorker, forAnonymous) => {
    expect(decide(path, manager)).toBe(forManager);
    expect(decide(path, worker)).toBe(forWorker);
    expect(decide(path, anonymous)).toBe(forAnonymous);
    expect(decide(path, foreign)).toBe("UNAUTHENTICATED");
  });

  it("refuses a method the table does not list", () => {
    expect(authorize("/shoal.v1.Nope/X", undefined, manager)).toEqual({
      allowed: false,
      code: grpc.status.PERMISSION_DENIED,
      message: 'method "/shoal.v1.Nope/X" is not in the RPC roles table',
    });
  });

  it("says who was refused what", () => {
    const path = "/shoal.v1.Control/GetNode";
    expect(authorize(path, accessFor(SHOAL_RPC_ROLES, path), worker)).toMatchObject({
      message:
        'node "w1" has role "worker", but method "/shoal.v1.Control/GetNode" is for "manager" nodes only',
    });
  });

  it("prefers an exact entry to its service's wildcard", () => {
    const table = { "/s.S/*": ["manager"] as const, "/s.S/Open": "anyone" as const };
    expect(accessFor(table, "/s.S/Open")).toBe("anyone");
    expect(accessFor(table, "/s.S/Other")).toEqual(["manager"]);
    expect(accessFor(table, "/t.T/Other")).toBeUndefined();
  });
});

describe("authorizeService", () => {
  it("accepts every service of the wire API with Shoal's table", () => {
    for (const definition of [
      ControlService,
      DispatcherService,
      LogBrokerService,
      LogsService,
      NodeCAService,
      RaftService,
    ]) {
      expect(() => authorizeService(definition, {}, { clusterId: "c1" })).not.toThrow();
    }
  });

  it("refuses to register a service with a method nobody decided on", () => {
    expect(() => authorizeService(DispatcherService, {}, { clusterId: "c1", table: {} })).toThrow(
      expect.objectContaining({
        code: PkiErrorCode.UnlistedMethod,
        message: 'method "/shoal.v1.Dispatcher/Session" has no entry in the RPC roles table',
      }),
    );
  });
});
