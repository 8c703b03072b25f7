import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { reportError } from "../errors.js";
import { fromGrpcError } from "./remote-error.js";

function grpcError(code: status, details: string, trailers: Record<string, string> = {}): ServiceError {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(trailers)) metadata.set(k, v);
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata });
}

function shown(err: ServiceError): { exit: number; text: string } {
  let text = "";
  const exit = reportError(
    fromGrpcError(err, "unix:///run/shoal/shoal.sock"),
    { write: (t: string) => (text += t) },
    false,
  );
  return { exit, text };
}

describe("fromGrpcError", () => {
  const cases: [string, ServiceError, number, string][] = [
    [
      "not found by shoal-code",
      grpcError(status.NOT_FOUND, 'service "web" not found', { "shoal-code": "STORE_NOT_FOUND" }),
      4,
      'error: service "web" not found\nhint: list what exists with `ls`\n',
    ],
    [
      "conflict",
      grpcError(status.ABORTED, 'service "web" changed since it was read', {
        "shoal-code": "STORE_CONFLICT",
      }),
      5,
      'error: service "web" changed since it was read\nhint: the object changed while this command ran; run it again\n',
    ],
    [
      "invalid spec",
      grpcError(status.INVALID_ARGUMENT, "spec is invalid: name: must not be empty", {
        "shoal-code": "PROTO_INVALID_SPEC",
      }),
      6,
      "error: spec is invalid: name: must not be empty\nhint: fix the values named above\n",
    ],
    [
      "the server's hint wins",
      grpcError(status.FAILED_PRECONDITION, "no leader", {
        "shoal-code": "RAFT_NO_LEADER",
        "shoal-hint": "wait for the election",
      }),
      8,
      "error: no leader\nhint: wait for the election\n",
    ],
    [
      "an unknown code falls back to the status",
      grpcError(status.PERMISSION_DENIED, 'node "w1" has role "worker"', { "shoal-code": "PKI_FORBIDDEN" }),
      7,
      `error: node "w1" has role "worker"\nhint: remote control needs a manager's client certificate; on a manager host use the admin socket\n`,
    ],
    [
      "no trailer: unavailable",
      grpcError(status.UNAVAILABLE, "connect ENOENT"),
      3,
      "error: cannot reach shoal at unix:///run/shoal/shoal.sock: connect ENOENT\nhint: is the daemon running (`systemctl status shoal`)? for a remote manager check --host and the certificates\n",
    ],
    [
      "no trailer: unauthenticated",
      grpcError(status.UNAUTHENTICATED, "no certificate"),
      7,
      "error: no certificate\nhint: pass a client certificate of this cluster (--tlscert, --tlskey, --tlscacert)\n",
    ],
    ["no trailer: internal", grpcError(status.INTERNAL, "boom"), 1, "error: boom\n"],
  ];
  for (const [name, err, exit, text] of cases) {
    it(name, () => {
      expect(shown(err)).toEqual({ exit, text });
    });
  }

  it("keeps the server's code as the error's code", () => {
    expect(
      fromGrpcError(grpcError(status.NOT_FOUND, "x", { "shoal-code": "MANAGER_NOT_FOUND" }), "e").code,
    ).toBe("MANAGER_NOT_FOUND");
  });
});
