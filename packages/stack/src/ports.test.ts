import { describe, expect, it } from "vitest";
import { expandPortSpec, parsePortRange } from "./ports.js";

describe("short port syntax", () => {
  it("expands ranges one entry per port, ingress and tcp by default", () => {
    expect(expandPortSpec("9090-9091:8080-8081")).toEqual([
      { mode: "ingress", target: 8080, published: 9090, protocol: "tcp" },
      { mode: "ingress", target: 8081, published: 9091, protocol: "tcp" },
    ]);
    expect(expandPortSpec("3000")).toEqual([{ mode: "ingress", target: 3000, protocol: "tcp" }]);
  });

  it("reads protocol and host address (IPv4 and bracketed IPv6)", () => {
    expect(expandPortSpec("443:443/udp")).toEqual([
      { mode: "ingress", target: 443, published: 443, protocol: "udp" },
    ]);
    expect(expandPortSpec("127.0.0.1:8001:8001")?.[0]?.host_ip).toBe("127.0.0.1");
    expect(expandPortSpec("[::1]:53:53/sctp")).toEqual([
      { mode: "ingress", target: 53, published: 53, protocol: "sctp", host_ip: "::1" },
    ]);
    expect(expandPortSpec("127.0.0.1::80")).toEqual([
      { mode: "ingress", target: 80, protocol: "tcp", host_ip: "127.0.0.1" },
    ]);
  });

  it.each([
    "",
    "abc",
    "0",
    "65536",
    "80:80:80:80",
    "80/http",
    "9090-9092:8080-8081",
    "300.1.1.1:80:80",
    "8081-8080",
  ])("rejects %j", (spec) => {
    expect(parsePortRange(spec)).toBeUndefined();
  });
});
