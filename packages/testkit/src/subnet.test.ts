import { BaseErrorCode, ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { defaultSubnet, gatewayAddress, hostAddress, hostCapacity, parseTestSubnet } from "./subnet.js";

describe("subnet", () => {
  it("gives the gateway .1 and host k .10+k", () => {
    const net = parseTestSubnet(defaultSubnet(17));
    expect(net.cidr).toBe("10.231.17.0/24");
    expect(gatewayAddress(net)).toBe("10.231.17.1");
    expect(hostAddress(net, 1)).toBe("10.231.17.11");
    expect(hostAddress(net, 200)).toBe("10.231.17.210");
  });

  it("counts what fits", () => {
    const net = parseTestSubnet("192.168.5.64/28");
    expect(hostCapacity(net)).toBe(4);
    expect(hostAddress(net, 4)).toBe("192.168.5.78");
    expect(() => hostAddress(net, 5)).toThrow(
      'host index 5 does not fit in subnet "192.168.5.64/28" (at most 4 hosts)',
    );
  });

  it("refuses a subnet with host bits set, as the node network does", () => {
    expect(() => parseTestSubnet("192.168.5.77/28")).toThrow(
      'subnet "192.168.5.77/28" has host bits set; the network address is 192.168.5.64',
    );
  });

  it.each(["10.231.1.0", "10.231.1.0/7", "10.231.1.0/29", "10.256.0.0/24", "fd00::/64", ""])(
    "rejects %j",
    (cidr) => {
      let caught: unknown;
      try {
        parseTestSubnet(cidr);
      } catch (err) {
        caught = err;
      }
      expect(ShoalError.is(caught, BaseErrorCode.InvalidSubnet)).toBe(true);
      expect((caught as Error).message).toMatch(/is not an IPv4 CIDR with a prefix from \/8 to \/28/);
    },
  );
});
