import { describe, expect, it } from "vitest";
import { BaseErrorCode, ShoalError } from "./errors.js";
import { formatIpv4, ipv4SubnetContains, ipv4SubnetsOverlap, parseIpv4, parseIpv4Subnet } from "./ipv4.js";

describe("ipv4", () => {
  it("parses and formats addresses", () => {
    expect(parseIpv4("10.88.1.7")).toBe(10 * 2 ** 24 + 88 * 2 ** 16 + 256 + 7);
    expect(formatIpv4(parseIpv4("255.255.255.255") as number)).toBe("255.255.255.255");
    for (const bad of ["10.88.1", "10.88.1.256", "10.88.01.1", "a.b.c.d", "", "10.88.1.7/24"]) {
      expect(parseIpv4(bad)).toBeUndefined();
    }
  });

  it("parses a subnet given by its network address", () => {
    expect(parseIpv4Subnet("10.88.1.0/24")).toMatchObject({
      cidr: "10.88.1.0/24",
      prefixLength: 24,
      size: 256,
    });
    expect(parseIpv4Subnet("0.0.0.0/0").size).toBe(2 ** 32);
  });

  it("refuses a subnet with host bits set, naming the network address", () => {
    let caught: unknown;
    try {
      parseIpv4Subnet("10.88.1.7/24");
    } catch (err) {
      caught = err;
    }
    expect(ShoalError.is(caught, BaseErrorCode.InvalidSubnet)).toBe(true);
    expect((caught as Error).message).toBe(
      'subnet "10.88.1.7/24" has host bits set; the network address is 10.88.1.0',
    );
  });

  it.each(["10.88.1.0", "10.88.1.0/33", "10.88.1.0/", "fd00::/64", "10.88.1.0/24 ", ""])(
    "refuses %j",
    (text) => {
      expect(() => parseIpv4Subnet(text)).toThrow(/is not an IPv4 CIDR with a prefix from \/0 to \/32/);
    },
  );

  it("applies prefix limits", () => {
    expect(() => parseIpv4Subnet("10.0.0.0/29", { minPrefixLength: 8, maxPrefixLength: 28 })).toThrow(
      'subnet "10.0.0.0/29" is not an IPv4 CIDR with a prefix from /8 to /28',
    );
  });

  it("detects overlap either way and containment", () => {
    const p = (t: string) => parseIpv4Subnet(t);
    expect(ipv4SubnetsOverlap(p("10.231.3.0/24"), p("10.0.0.0/8"))).toBe(true);
    expect(ipv4SubnetsOverlap(p("10.0.0.0/8"), p("10.231.3.9/32"))).toBe(true);
    expect(ipv4SubnetsOverlap(p("10.231.3.0/24"), p("10.231.4.0/24"))).toBe(false);
    expect(ipv4SubnetContains(p("10.88.1.0/30"), parseIpv4("10.88.1.3") as number)).toBe(true);
    expect(ipv4SubnetContains(p("10.88.1.0/30"), parseIpv4("10.88.1.4") as number)).toBe(false);
  });
});
