import { ShoalError } from "@shoal/base";
import { NetworkErrorCode } from "./errors.js";

/** An IPv4 subnet as integers: the network address and the prefix length. */
export interface Subnet {
  readonly cidr: string;
  readonly network: number;
  readonly prefixLength: number;
  /** Number of addresses in the subnet, network and broadcast included. */
  readonly size: number;
}

export function ipToInt(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

export function intToIp(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

export function parseSubnet(cidr: string): Subnet {
  const [ip, prefix] = cidr.split("/");
  const network = ip === undefined ? undefined : ipToInt(ip);
  const prefixLength = Number(prefix);
  if (network === undefined || prefix === undefined || !/^\d+$/.test(prefix) || prefixLength > 30) {
    throw new ShoalError(
      NetworkErrorCode.InvalidSubnet,
      `subnet "${cidr}" is not an IPv4 CIDR of /30 or larger`,
      {
        hint: 'use a private range such as "10.88.0.0/24"',
      },
    );
  }
  const size = 2 ** (32 - prefixLength);
  if (network % size !== 0) {
    throw new ShoalError(
      NetworkErrorCode.InvalidSubnet,
      `subnet "${cidr}" has host bits set; the network address is ${intToIp(network - (network % size))}`,
    );
  }
  return { cidr, network, prefixLength, size };
}

/** The n-th address of the subnet (0 is the network address). */
export function addressAt(subnet: Subnet, n: number): string {
  return intToIp(subnet.network + n);
}

/** Offset of `ip` inside the subnet, or undefined when it is outside. */
export function offsetOf(subnet: Subnet, ip: string): number | undefined {
  const value = ipToInt(ip);
  if (value === undefined) return undefined;
  const offset = value - subnet.network;
  return offset >= 0 && offset < subnet.size ? offset : undefined;
}
