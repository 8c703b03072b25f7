import { describe, expect, it } from "vitest";
import { type CallWithAuthContext, callerIdentity } from "./caller-identity.js";

function callWith(
  subject: Record<string, string | string[]> | undefined,
  transport = "ssl",
): CallWithAuthContext {
  return {
    getAuthContext: () =>
      subject === undefined ? {} : { transportSecurityType: transport, sslPeerCertificate: { subject } },
  };
}

describe("callerIdentity", () => {
  it("reads node id, role and cluster from a verified certificate's subject", () => {
    expect(callerIdentity(callWith({ CN: "n1", OU: "worker", O: "c1" }), "c1")).toEqual({
      kind: "verified",
      identity: { nodeId: "n1", role: "worker", clusterId: "c1" },
    });
  });

  it("takes the first value of a repeated attribute", () => {
    expect(callerIdentity(callWith({ CN: "n1", OU: ["manager", "worker"], O: "c1" }), "c1")).toMatchObject({
      identity: { role: "manager" },
    });
  });

  it("treats a call without a verified certificate as anonymous", () => {
    expect(callerIdentity(callWith(undefined), "c1")).toMatchObject({ kind: "anonymous" });
    expect(callerIdentity({ getAuthContext: () => null }, "c1")).toMatchObject({ kind: "anonymous" });
  });

  it("refuses a certificate of another cluster or without a node subject", () => {
    expect(callerIdentity(callWith({ CN: "n1", OU: "worker", O: "c2" }), "c1")).toEqual({
      kind: "foreign",
      reason: 'client certificate belongs to cluster "c2", not "c1"',
    });
    expect(callerIdentity(callWith({ CN: "n1", OU: "admin", O: "c1" }), "c1")).toEqual({
      kind: "foreign",
      reason: 'client certificate is not a node certificate (CN "n1", OU "admin")',
    });
    expect(callerIdentity(callWith({ OU: "worker", O: "c1" }), "c1")).toMatchObject({ kind: "foreign" });
  });
});
