import { describe, expect, it } from "vitest";
import { parseSubnet } from "./cidr.js";
import { Ipam } from "./ipam.js";

describe("parseSubnet", () => {
  it("parses a CIDR", () => {
    expect(parseSubnet("10.88.1.0/24")).toMatchObject({ prefixLength: 24, size: 256 });
  });

  it.each([
    ["10.88.1.0", 'subnet "10.88.1.0" is not an IPv4 CIDR of /30 or larger'],
    ["10.88.1.0/31", 'subnet "10.88.1.0/31" is not an IPv4 CIDR of /30 or larger'],
    ["10.888.1.0/24", 'subnet "10.888.1.0/24" is not an IPv4 CIDR of /30 or larger'],
    ["10.88.1.7/24", 'subnet "10.88.1.7/24" has host bits set; the network address is 10.88.1.0'],
  ])("rejects %s", (cidr, message) => {
    expect(() => parseSubnet(cidr)).toThrow(message);
  });
});

describe("Ipam", () => {
  it("hands out addresses after the gateway, never network or broadcast", () => {
    const ipam = new Ipam(parseSubnet("10.88.1.0/29"));
    expect(ipam.gateway).toBe("10.88.1.1");
    const got = Array.from({ length: ipam.capacity }, () => ipam.allocate());
    expect(got).toEqual(["10.88.1.2", "10.88.1.3", "10.88.1.4", "10.88.1.5", "10.88.1.6"]);
    expect(() => ipam.allocate()).toThrow('subnet "10.88.1.0/29" has no free address (5 of 5 leased)');
  });

  it("leases a requested address, refusing the gateway, outsiders and held ones", () => {
    const ipam = new Ipam(parseSubnet("10.88.1.0/29"));
    expect(ipam.claim("10.88.1.5")).toBe("10.88.1.5");
    expect(() => ipam.claim("10.88.1.5")).toThrow('address "10.88.1.5" is leased to another container');
    for (const ip of ["10.88.1.1", "10.88.1.7", "10.88.2.3", "nonsense"])
      expect(() => ipam.claim(ip)).toThrow(
        `address "${ip}" is not a container address of subnet "10.88.1.0/29"`,
      );
    // The next allocation skips the claimed address.
    expect([ipam.allocate(), ipam.allocate(), ipam.allocate(), ipam.allocate()]).toEqual([
      "10.88.1.2",
      "10.88.1.3",
      "10.88.1.4",
      "10.88.1.6",
    ]);
  });

  it("does not reuse a released address while others are free", () => {
    const ipam = new Ipam(parseSubnet("10.88.1.0/29"));
    const a = ipam.allocate();
    ipam.release(a);
    expect(ipam.allocate()).toBe("10.88.1.3");
    expect(ipam.isHeld(a)).toBe(false);
  });

  it("wraps around to released addresses when the end is reached", () => {
    const ipam = new Ipam(parseSubnet("10.88.1.0/29"));
    const all = Array.from({ length: 5 }, () => ipam.allocate());
    ipam.release(all[1] as string);
    expect(ipam.allocate()).toBe(all[1]);
  });

  it("keeps leases recorded before a restart", () => {
    const ipam = new Ipam(parseSubnet("10.88.1.0/29"), ["10.88.1.2", "10.88.1.4", "192.168.0.1"]);
    expect(ipam.heldCount).toBe(2);
    expect(ipam.allocate()).toBe("10.88.1.3");
    expect(ipam.allocate()).toBe("10.88.1.5");
  });
});
