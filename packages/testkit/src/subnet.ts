import { ShoalError } from "@shoal/base";
import { TestkitErrorCode } from "./errors.js";

/** An IPv4 subnet as numbers; enough arithmetic for handing out test addresses. */
export interface Subnet {
  readonly network: number;
  readonly prefix: number;
}

/** Host k (1-based) gets .10+k so that h1 is .11, h2 .12: easy to read in captures and logs. */
export const HOST_OFFSET = 10;
/** The gateway (root-namespace end of the switch link) is the first address. */
export const GATEWAY_OFFSET = 1;

export function defaultSubnet(slot: number): string {
  return `10.231.${slot}.0/24`;
}

/** Parses "a.b.c.d/p"; a bare address is a /32. Test subnets must lie within /8../28. */
export function parseCidr(cidr: string, limits = { minPrefix: 8, maxPrefix: 28 }): Subnet {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(cidr.trim());
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5] ?? 32) : -1;
  if (!m || octets.some((o) => o > 255) || prefix < limits.minPrefix || prefix > limits.maxPrefix) {
    throw new ShoalError(
      TestkitErrorCode.InvalidOptions,
      `subnet "${cidr}" is not an IPv4 CIDR with a prefix from /${limits.minPrefix} to /${limits.maxPrefix}`,
    );
  }
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  return { network: address - (address % 2 ** (32 - prefix)), prefix };
}

export function formatAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/** The number of host addresses the subnet can give out after the gateway and the offset. */
export function hostCapacity(subnet: Subnet): number {
  return 2 ** (32 - subnet.prefix) - 2 - HOST_OFFSET;
}

export function hostAddress(subnet: Subnet, index: number): string {
  if (index < 1 || index > hostCapacity(subnet)) {
    throw new ShoalError(
      TestkitErrorCode.InvalidOptions,
      `host index ${index} does not fit in subnet "${formatSubnet(subnet)}" (at most ${hostCapacity(subnet)} hosts)`,
    );
  }
  return formatAddress(subnet.network + HOST_OFFSET + index);
}

export function gatewayAddress(subnet: Subnet): string {
  return formatAddress(subnet.network + GATEWAY_OFFSET);
}

export function formatSubnet(subnet: Subnet): string {
  return `${formatAddress(subnet.network)}/${subnet.prefix}`;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const size = 2 ** (32 - prefix);
  return Math.floor(a.network / size) === Math.floor(b.network / size);
}
