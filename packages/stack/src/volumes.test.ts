import { describe, expect, it } from "vitest";
import { parseVolumeSpec } from "./volumes.js";

describe("short volume syntax", () => {
  it.each([
    ["/var/lib/mysql", { type: "volume", target: "/var/lib/mysql" }],
    ["/opt/data:/var/lib/mysql", { type: "bind", source: "/opt/data", target: "/var/lib/mysql" }],
    [".:/code", { type: "bind", source: ".", target: "/code" }],
    [
      "~/configs:/etc/configs/:ro",
      { type: "bind", source: "~/configs", target: "/etc/configs/", read_only: true },
    ],
    ["datavolume:/var/lib/mysql", { type: "volume", source: "datavolume", target: "/var/lib/mysql" }],
    ["data:/data:nocopy", { type: "volume", source: "data", target: "/data", volume: { nocopy: true } }],
    [
      "/src:/dst:ro,rshared",
      { type: "bind", source: "/src", target: "/dst", read_only: true, bind: { propagation: "rshared" } },
    ],
    ["/src:/dst:z", { type: "bind", source: "/src", target: "/dst", bind: { selinux: "z" } }],
  ])("%s", (spec, expected) => {
    expect(parseVolumeSpec(spec)).toEqual(expected);
  });

  it("explains what is wrong", () => {
    expect(parseVolumeSpec("/a:/b:rx")).toBe('invalid volume "/a:/b:rx": unknown option "rx"');
    expect(parseVolumeSpec("a:b:c:d")).toBe('invalid volume "a:b:c:d": too many ":"');
    expect(parseVolumeSpec(":/b")).toBe('invalid volume ":/b": expected [source:]target[:mode]');
    // docker/cli reads "/cache:ro" as source /cache, target "ro".
    expect(parseVolumeSpec("/cache:ro")).toBe(
      'invalid volume "/cache:ro": the target "ro" must be an absolute path',
    );
  });
});
