import { ShoalError } from "@shoal/base";
import { Network } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { CliErrorCode } from "../errors.js";
import { runCaptured } from "../test-support.js";
import { networkRow, networkSpecFromFlags, sortNetworks } from "./network-spec.js";

function refusal(fn: () => unknown): { code: string; message: string; hint?: string } {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof ShoalError)) throw err;
    return { code: err.code, message: err.message, ...(err.hint === undefined ? {} : { hint: err.hint }) };
  }
  throw new Error("expected a refusal");
}

describe("network create flags", () => {
  it("default: an overlay without a subnet (the allocator picks one), no labels", () => {
    const spec = networkSpecFromFlags("front", {});
    expect(spec).toMatchObject({
      name: "front",
      labels: {},
      driverConfig: { name: "overlay" },
      internal: false,
      attachable: false,
    });
    expect(spec.ipam).toBeUndefined();
  });

  it("--subnet, --gateway, --attachable, --internal and --label land in the spec", () => {
    const spec = networkSpecFromFlags("back", {
      driver: "overlay",
      subnet: ["10.0.9.0/24"],
      gateway: ["10.0.9.254"],
      attachable: true,
      internal: true,
      label: ["team=web", "tier"],
    });
    expect(spec).toMatchObject({
      name: "back",
      labels: { team: "web", tier: "" },
      internal: true,
      attachable: true,
      ipam: { configs: [{ subnet: "10.0.9.0/24", gateway: "10.0.9.254" }] },
    });
  });

  it.each([
    [
      { driver: "bridge" },
      '--driver "bridge" is not supported: shoal networks are "overlay" networks',
      "leave --driver out, or give --driver overlay",
    ],
    [
      { subnet: ["10.0.9.0/24", "10.0.10.0/24"] },
      "--subnet is given 2 times: a shoal network has one IPv4 subnet",
      "give --subnet once",
    ],
    [
      { gateway: ["10.0.9.1"] },
      "--gateway needs --subnet",
      "give the network's subnet with --subnet, e.g. --subnet 10.0.9.0/24",
    ],
    [{ label: ["=x"] }, '--label "=x": needs KEY=VALUE', undefined],
  ])("refuses %j as a usage error naming the flag", (flags, message, hint) => {
    expect(refusal(() => networkSpecFromFlags("n", flags))).toEqual({
      code: CliErrorCode.Usage,
      message,
      ...(hint === undefined ? {} : { hint }),
    });
  });
});

describe("network ls rows", () => {
  const net = (id: string, name: string, driver?: string) =>
    Network.fromPartial({
      id,
      spec: { name },
      ...(driver === undefined ? {} : { driverState: { name: driver, options: {} } }),
    });

  it("docker's columns: a 12-character id (whole with --no-trunc), name, driver, swarm scope", () => {
    const n = net("0123456789abcdefghij", "app_front", "overlay");
    expect(networkRow(n)).toEqual({
      id: "0123456789ab",
      name: "app_front",
      driver: "overlay",
      scope: "swarm",
    });
    expect(networkRow(n, { noTrunc: true }).id).toBe("0123456789abcdefghij");
    // Not allocated yet: the driver it will get.
    expect(networkRow(net("x", "y")).driver).toBe("overlay");
  });

  it("sorted by name, then id", () => {
    const sorted = sortNetworks([net("3", "web"), net("2", "app"), net("1", "web")]);
    expect(sorted.map((n) => n.id)).toEqual(["2", "1", "3"]);
  });
});

describe("shoal network", () => {
  // Nothing listens here: a command that reached the API would exit 3, not 2.
  const run = (...argv: string[]) => runCaptured(argv, { env: { SHOAL_SOCKET: "/nonexistent/shoal.sock" } });

  it("is listed in --help with its four verbs", async () => {
    expect((await run("--help")).stdout).toMatch(/^ {2}network\b/m);
    const help = (await run("network", "--help")).stdout;
    for (const verb of ["create", "ls", "inspect", "rm"])
      expect(help).toMatch(new RegExp(`^ {2}${verb}\\b`, "m"));
  });

  it("refuses a bad create flag with exit 2 before calling the manager", async () => {
    const r = await run("network", "create", "--driver", "bridge", "front");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'error: --driver "bridge" is not supported: shoal networks are "overlay" networks\nhint: leave --driver out, or give --driver overlay\n',
    );
    expect(r.stdout).toBe("");
  });
});
