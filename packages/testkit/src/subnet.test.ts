import { describe, expect, it } from "vitest";
import {
  defaultSubnet,
  formatSubnet,
  gatewayAddress,
  hostAddress,
  hostCapacity,
  overlaps,
  parseCidr,
} from "./subnet.js";

describe("subnet", () => {
  it("gives the gateway .1 and host k .10+k", () => {
    const net = parseCidr(defaultSubnet(17));
    expect(formatSubnet(net)).toBe("10.231.17.0/24");
    expect(gatewayAddress(net)).toBe("10.231.17.1");
    expect(hostAddress(net, 1)).toBe("10.231.17.11");
    expect(hostAddress(net, 200)).toBe("10.231.17.210");
  });

  it("normalises the network address and counts what fits", () => {
    const net = parseCidr("192.168.5.77/28");
    expect(formatSubnet(net)).toBe("192.168.5.64/28");
    expect(hostCapacity(net)).toBe(4);
    expect(hostAddress(net, 4)).toBe("192.168.5.78");
    expect(() => hostAddress(net, 5)).toThrow(
      'host index 5 does not fit in subnet "192.168.5.64/28" (at most 4 hosts)',
    );
  });

  it.each(["10.231.1.0", "10.231.1.0/7", "10.231.1.0/29", "10.256.0.0/24", "fd00::/64", ""])(
    "rejects %j",
    (cidr) => {
      expect(() => parseCidr(cidr)).toThrow(/is not an IPv4 CIDR with a prefix from \/8 to \/28/);
    },
  );

  it("detects overlap in either direction", () => {
    const p = (c: string) => parseCidr(c, { minPrefix: 0, maxPrefix: 32 });
    expect(overlaps(p("10.231.3.0/24"), p("10.0.0.0/8"))).toBe(true);
    expect(overlaps(p("10.0.0.0/8"), p("10.231.3.9"))).toBe(true);
    expect(overlaps(p("10.231.3.0/24"), p("10.231.4.0/24"))).toBe(false);
  });
});
