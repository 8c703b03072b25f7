import { describe, expect, it } from "vitest";
import { cidrContains, hostOfAddr, ipEquals, parseCidr, parseIp } from "./ip.js";

const ip = (text: string) => {
  const parsed = parseIp(text);
  if (parsed === undefined) throw new Error(`test address "${text}" does not parse`);
  return parsed;
};

describe("ip parsing", () => {
  it.each(["10.0.0.1", "255.255.255.255", "::", "::1", "2001:db8::7", "::ffff:10.0.0.1", "1:2:3:4:5:6:7:8"])(
    "parses %s",
    (text) => {
      expect(parseIp(text)).toBeDefined();
    },
  );

  it.each([
    "",
    "10.0.0",
    "10.0.0.256",
    "10.0.0.1.2",
    "a.b.c.d",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "12345::",
    "10.0.0.01x",
    // Leading zeros (octal to some parsers) and zone ids (one host's interface) are refused.
    "10.0.0.01",
    "fe80::1%eth0",
    ":::",
  ])("rejects %j", (text) => {
    expect(parseIp(text)).toBeUndefined();
  });

  it("treats IPv4 and IPv4-mapped IPv6 as the same address", () => {
    expect(ipEquals(ip("10.0.0.1"), ip("::ffff:10.0.0.1"))).toBe(true);
    expect(ipEquals(ip("2001:db8::7"), ip("2001:db8:0:0:0:0:0:7"))).toBe(true);
    expect(ipEquals(ip("10.0.0.1"), ip("10.0.0.2"))).toBe(false);
  });

  it("matches CIDR networks on bit boundaries", () => {
    const net = parseCidr("192.168.4.0/22");
    expect(net).toBeDefined();
    if (net === undefined) return;
    expect(cidrContains(net, ip("192.168.7.255"))).toBe(true);
    expect(cidrContains(net, ip("192.168.8.0"))).toBe(false);
    expect(cidrContains(net, ip("192.168.3.255"))).toBe(false);
    expect(parseCidr("10.0.0.0/33")).toBeUndefined();
    expect(parseCidr("::/129")).toBeUndefined();
    expect(parseCidr("10.0.0.0")).toBeUndefined();
  });

  it("strips ports and brackets from node addresses", () => {
    expect(hostOfAddr("10.0.0.1:4270")).toBe("10.0.0.1");
    expect(hostOfAddr("10.0.0.1")).toBe("10.0.0.1");
    expect(hostOfAddr("[2001:db8::7]:4270")).toBe("2001:db8::7");
    expect(hostOfAddr("2001:db8::7")).toBe("2001:db8::7");
  });
});
