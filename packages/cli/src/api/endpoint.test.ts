import { describe, expect, it } from "vitest";
import { DEFAULT_SOCKET_PATH, resolveEndpoint } from "./endpoint.js";

describe("resolveEndpoint", () => {
  const tls = { tlscacert: "ca.pem", tlscert: "c.pem", tlskey: "k.pem" };
  const cases: [string, Parameters<typeof resolveEndpoint>[0], Record<string, string>, unknown][] = [
    ["the admin socket by default", {}, {}, { kind: "socket", path: DEFAULT_SOCKET_PATH }],
    [
      "SHOAL_SOCKET overrides the socket",
      {},
      { SHOAL_SOCKET: "/tmp/s.sock" },
      { kind: "socket", path: "/tmp/s.sock" },
    ],
    ["--host unix://", { host: "unix:///run/x.sock" }, {}, { kind: "socket", path: "/run/x.sock" }],
    [
      "--host with flags for the certificates, port 4270 by default",
      { host: "10.0.0.1", ...tls },
      {},
      {
        kind: "tcp",
        address: "10.0.0.1:4270",
        caCertPath: "/w/ca.pem",
        certPath: "/w/c.pem",
        keyPath: "/w/k.pem",
      },
    ],
    [
      "SHOAL_HOST and SHOAL_CERT_PATH",
      {},
      { SHOAL_HOST: "tcp://m1:5000", SHOAL_CERT_PATH: "/etc/shoal/client" },
      {
        kind: "tcp",
        address: "m1:5000",
        caCertPath: "/etc/shoal/client/ca.pem",
        certPath: "/etc/shoal/client/cert.pem",
        keyPath: "/etc/shoal/client/key.pem",
      },
    ],
    [
      "SHOAL_TLS_* beat SHOAL_CERT_PATH, flags beat both",
      { tlskey: "/flag/key.pem" },
      { SHOAL_HOST: "fd00::1", SHOAL_CERT_PATH: "/d", SHOAL_TLS_CACERT: "/env/ca.pem" },
      {
        kind: "tcp",
        address: "[fd00::1]:4270",
        caCertPath: "/env/ca.pem",
        certPath: "/d/cert.pem",
        keyPath: "/flag/key.pem",
      },
    ],
    [
      "a flag beats SHOAL_HOST",
      { host: "m2:1", ...tls },
      { SHOAL_HOST: "m1:1" },
      expect.objectContaining({ address: "m2:1" }),
    ],
  ];
  for (const [name, options, env, expected] of cases) {
    it(name, () => {
      expect(resolveEndpoint(options, env, "/w")).toEqual(expected);
    });
  }

  it("refuses --host without a client certificate, saying how to give one", () => {
    expect(() => resolveEndpoint({ host: "m1", tlscacert: "ca.pem" }, {}, "/")).toThrow(
      expect.objectContaining({
        code: "CLI_TLS_MATERIAL",
        message: "--host m1 needs a client certificate",
        hint: "pass --tlscert FILE, set SHOAL_TLS_CERT, or set SHOAL_CERT_PATH to a directory with ca.pem, cert.pem and key.pem",
      }),
    );
    expect(() => resolveEndpoint({ host: "unix://relative.sock" }, {}, "/")).toThrow(
      "a unix socket path must be absolute",
    );
  });
});
