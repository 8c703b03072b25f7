import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { ProtoErrorCode } from "../errors.js";
import { ClusterSpec, ConfigSpec, NetworkSpec, NodeSpec, SecretSpec } from "../gen/shoal/v1/specs.js";
import { isCidr } from "./ip.js";
import {
  assertValidSecretSpec,
  validateClusterSpec,
  validateConfigSpec,
  validateNetworkSpec,
  validateNodeSpec,
  validateSecretSpec,
} from "./object-specs.js";

const bytes = (n: number) => new Uint8Array(n);
const messages = (issues: { message: string }[]) => issues.map((i) => i.message);

describe("validateNodeSpec", () => {
  it.each<[string, Partial<NodeSpec>, string[]]>([
    ["valid", { name: "n1", labels: { zone: "a" } }, []],
    [
      "unknown availability",
      { availability: 7 as NodeSpec["availability"] },
      ["availability: 7 is not one of active, pause, drain"],
    ],
    [
      "unknown role",
      { desiredRole: 3 as NodeSpec["desiredRole"] },
      ["desired_role: 3 is not one of worker, manager"],
    ],
    [
      "unknown membership",
      { membership: 2 as NodeSpec["membership"] },
      ["membership: 2 is not one of pending, accepted"],
    ],
    ["empty label key", { labels: { " ": "x" } }, ["labels: label keys must not be empty"]],
  ])("%s", (_title, partial, expected) => {
    expect(messages(validateNodeSpec(NodeSpec.fromPartial(partial)))).toEqual(expected);
  });
});

describe("validateSecretSpec and validateConfigSpec", () => {
  it.each<[string, Partial<SecretSpec>, string[]]>([
    ["valid", { name: "db.pass_1", data: bytes(10) }, []],
    ["at the 500KiB limit", { name: "s", data: bytes(500 * 1024) }, []],
    [
      "above the limit",
      { name: "s", data: bytes(500 * 1024 + 1) },
      ["data: 500KiB is above the 500KiB maximum"],
    ],
    [
      "far above the limit",
      { name: "s", data: bytes(600 * 1024) },
      ["data: 600KiB is above the 500KiB maximum"],
    ],
    ["empty data", { name: "s", data: bytes(0) }, ["data: must not be empty"]],
    ["empty name", { name: "", data: bytes(1) }, ["name: must not be empty"]],
    [
      "bad name",
      { name: "-x", data: bytes(1) },
      [
        'name: "-x" is not a valid name; use letters, digits, "-", "_" and ".", starting and ending with a letter or digit',
      ],
    ],
    [
      "long name",
      { name: "s".repeat(65), data: bytes(1) },
      [`name: "${"s".repeat(65)}" is 65 characters long, above the 64 maximum`],
    ],
  ])("secret: %s", (_title, partial, expected) => {
    expect(messages(validateSecretSpec(SecretSpec.fromPartial(partial)))).toEqual(expected);
  });

  it("limits configs to 1000KiB", () => {
    expect(
      messages(validateConfigSpec(ConfigSpec.fromPartial({ name: "c", data: bytes(1000 * 1024) }))),
    ).toEqual([]);
    expect(
      messages(validateConfigSpec(ConfigSpec.fromPartial({ name: "c", data: bytes(1024 * 1024) }))),
    ).toEqual(["data: 1MiB is above the 1000KiB maximum"]);
  });

  it("assertValidSecretSpec throws PROTO_INVALID_SPEC", () => {
    expect(() => assertValidSecretSpec(SecretSpec.fromPartial({ name: "s" }))).toThrow(
      'secret spec "s" is invalid: data: must not be empty',
    );
    try {
      assertValidSecretSpec(SecretSpec.fromPartial({ name: "s" }));
    } catch (err) {
      expect(ShoalError.is(err, ProtoErrorCode.InvalidSpec)).toBe(true);
    }
  });
});

describe("validateNetworkSpec", () => {
  it.each<[string, Partial<NetworkSpec>, string[]]>([
    [
      "valid",
      {
        name: "front",
        ipam: { configs: [{ subnet: "10.0.1.0/24", ipRange: "10.0.1.0/25", gateway: "10.0.1.1" }] },
      },
      [],
    ],
    [
      "ipv6",
      { name: "v6", ipam: { configs: [{ subnet: "fd00::/64", ipRange: "", gateway: "fd00::1" }] } },
      [],
    ],
    [
      "bad addresses",
      {
        name: "front",
        ipam: { configs: [{ subnet: "10.0.0.0/33", ipRange: "10.0.0.0", gateway: "10.0.0.256" }] },
      },
      [
        'ipam.configs[0].subnet: "10.0.0.0/33" is not a valid CIDR like 10.0.1.0/24',
        'ipam.configs[0].ip_range: "10.0.0.0" is not a valid CIDR like 10.0.1.0/25',
        'ipam.configs[0].gateway: "10.0.0.256" is not a valid IP address',
      ],
    ],
    ["empty name", {}, ["name: must not be empty"]],
  ])("%s", (_title, partial, expected) => {
    expect(messages(validateNetworkSpec(NetworkSpec.fromPartial(partial)))).toEqual(expected);
  });

  it("isCidr", () => {
    expect(isCidr("0.0.0.0/0")).toBe(true);
    expect(isCidr("2001:db8::/32")).toBe(true);
    expect(isCidr("10.0.0/8")).toBe(false);
    expect(isCidr("01.0.0.0/8")).toBe(false);
    // The hand-written IPv6 check this replaced took these for addresses.
    expect(isCidr(":::/64")).toBe(false);
    expect(isCidr("1:::2/64")).toBe(false);
    expect(isCidr("::ffff:10.0.0.0/104")).toBe(true);
    expect(isCidr("fe80::%eth0/64")).toBe(false);
  });
});

describe("validateClusterSpec", () => {
  it.each<[string, Partial<ClusterSpec>, string[]]>([
    ["empty", {}, []],
    [
      "negative history",
      { orchestration: { taskHistoryRetentionLimit: -1 } },
      ["orchestration.task_history_retention_limit: -1 must not be negative"],
    ],
    [
      "election not above heartbeat",
      { raft: { heartbeatTick: 3, electionTick: 3, keepOldSnapshots: 0 } },
      ["raft.election_tick: 3 must be above the heartbeat tick of 3"],
    ],
    [
      "zero heartbeat tick",
      { raft: { heartbeatTick: 0, keepOldSnapshots: 0 } },
      ["raft.heartbeat_tick: 0 is below the 1 minimum"],
    ],
    [
      "zero heartbeat period",
      { dispatcher: { heartbeatPeriodMs: 0 } },
      ["dispatcher.heartbeat_period_ms: 0s must be positive"],
    ],
    [
      "short cert expiry",
      { caConfig: { nodeCertExpiryMs: 60_000 } },
      ["ca_config.node_cert_expiry_ms: 1m0s is below the 1h0m0s minimum"],
    ],
    [
      "unknown strategy",
      { scheduler: { strategy: 5 as never } },
      ["scheduler.strategy: 5 is not one of spread, binpack"],
    ],
    [
      "bad allocator",
      { allocator: { defaultAddressPool: ["10.0.0.0"], subnetSize: 31, nodeSubnetPool: "10.42.0.0" } },
      [
        'allocator.default_address_pool[0]: "10.0.0.0" is not a valid CIDR like 10.0.0.0/8',
        "allocator.subnet_size: 31 must be between 8 and 30",
        'allocator.node_subnet_pool: "10.42.0.0" is not a valid CIDR like 10.42.0.0/16',
      ],
    ],
  ])("%s", (_title, partial, expected) => {
    expect(messages(validateClusterSpec(ClusterSpec.fromPartial(partial)))).toEqual(expected);
  });
});
