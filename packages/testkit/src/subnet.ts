import { formatIpv4, type Ipv4Subnet, ipv4SubnetsOverlap, parseIpv4Subnet, ShoalError } from "@shoal/base";
import { TestkitErrorCode } from "./errors.js";

/**
 * Test-host addressing on @shoal/base's IPv4 subnets: the same parser and the same rule as the
 * node network (a subnet with host bits set is refused, never masked).
 */
export type Subnet = Ipv4Subnet;

/** Host k (1-based) gets .10+k so that h1 is .11, h2 .12: easy to read in captures and logs. */
export const HOST_OFFSET = 10;
/** The gateway (root-namespace end of the switch link) is the first address. */
export const GATEWAY_OFFSET = 1;
/** Test subnets must lie within /8 … /28: room for the gateway, the offset and a few hosts. */
export const TEST_SUBNET_LIMITS = { minPrefixLength: 8, maxPrefixLength: 28 } as const;

export function defaultSubnet(slot: number): string {
  return `10.231.${slot}.0/24`;
}

/** A harness subnet: base's rule within TEST_SUBNET_LIMITS (BASE_INVALID_SUBNET otherwise). */
export function parseTestSubnet(cidr: string): Subnet {
  return parseIpv4Subnet(cidr, TEST_SUBNET_LIMITS);
}

/** The number of host addresses the subnet can give out after the gateway and the offset. */
export function hostCapacity(subnet: Subnet): number {
  return subnet.size - 2 - HOST_OFFSET;
}

export function hostAddress(subnet: Subnet, index: number): string {
  if (index < 1 || index > hostCapacity(subnet)) {
    throw new ShoalError(
      TestkitErrorCode.InvalidOptions,
      `host index ${index} does not fit in subnet "${subnet.cidr}" (at most ${hostCapacity(subnet)} hosts)`,
    );
  }
  return formatIpv4(subnet.network + HOST_OFFSET + index);
}

export function gatewayAddress(subnet: Subnet): string {
  return formatIpv4(subnet.network + GATEWAY_OFFSET);
}

export { ipv4SubnetsOverlap as overlaps };
