import { BaseErrorCode, ShoalError } from "./errors.js";

/**
 * IPv4 addresses as unsigned 32-bit numbers and subnets in CIDR form: the one implementation the
 * node network (IPAM, bridge) and the test harness share. The rule: a subnet is its network
 * address — `10.88.1.7/24` is refused (host bits set) rather than silently masked, because a
 * typo'd subnet that is quietly rewritten ends up on a bridge nobody asked for.
 */
export interface Ipv4Subnet {
  /** Normalized text, e.g. "10.88.1.0/24". */
  readonly cidr: string;
  readonly network: number;
  readonly prefixLength: number;
  /** Addresses in the subnet, network and broadcast included. */
  readonly size: number;
}

export interface Ipv4SubnetLimits {
  /** Smallest prefix length allowed (the largest subnet); default 0. */
  minPrefixLength?: number;
  /** Largest prefix length allowed (the smallest subnet); default 32. */
  maxPrefixLength?: number;
}

/** Dotted-quad text to a number, or undefined when it is not one (no leading zeros, as Go and Node). */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

/**
 * Parses "a.b.c.d/p". Throws ShoalError BASE_INVALID_SUBNET when the text is not an IPv4 CIDR,
 * the prefix is outside the limits, or host bits are set (the message names the network address).
 */
export function parseIpv4Subnet(text: string, limits: Ipv4SubnetLimits = {}): Ipv4Subnet {
  const min = limits.minPrefixLength ?? 0;
  const max = limits.maxPrefixLength ?? 32;
  const slash = text.indexOf("/");
  const network = slash < 0 ? undefined : parseIpv4(text.slice(0, slash));
  const prefixText = slash < 0 ? "" : text.slice(slash + 1);
  const prefixLength = Number(prefixText);
  if (network === undefined || !/^\d{1,2}$/.test(prefixText) || prefixLength < min || prefixLength > max) {
    throw new ShoalError(
      BaseErrorCode.InvalidSubnet,
      `subnet "${text}" is not an IPv4 CIDR with a prefix from /${min} to /${max}`,
      { hint: 'write a network address and prefix, e.g. "10.88.0.0/24"', details: { subnet: text } },
    );
  }
  const size = 2 ** (32 - prefixLength);
  const start = network - (network % size);
  if (start !== network) {
    throw new ShoalError(
      BaseErrorCode.InvalidSubnet,
      `subnet "${text}" has host bits set; the network address is ${formatIpv4(start)}`,
      { hint: `write "${formatIpv4(start)}/${prefixLength}"`, details: { subnet: text } },
    );
  }
  return { cidr: `${formatIpv4(network)}/${prefixLength}`, network, prefixLength, size };
}

/** True when the two subnets share an address (one contains the other). */
export function ipv4SubnetsOverlap(a: Ipv4Subnet, b: Ipv4Subnet): boolean {
  const size = 2 ** (32 - Math.min(a.prefixLength, b.prefixLength));
  return Math.floor(a.network / size) === Math.floor(b.network / size);
}

/** Whether the address lies inside the subnet. */
export function ipv4SubnetContains(subnet: Ipv4Subnet, address: number): boolean {
  return address >= subnet.network && address < subnet.network + subnet.size;
}
