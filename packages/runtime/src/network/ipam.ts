import { ShoalError } from "@shoal/base";
import { addressAt, offsetOf, type Subnet } from "./cidr.js";
import { NetworkErrorCode } from "./errors.js";

/**
 * Container addresses on a node subnet. Offset 1 is the bridge's gateway; the network and
 * broadcast addresses are never handed out. Pure: the caller owns persistence, so a lease is
 * recorded on disk before the kernel objects that use it are made.
 */
export class Ipam {
  private readonly held = new Set<number>();
  /** Where the next search starts: addresses are not reused right away after a release. */
  private cursor = 2;

  constructor(
    readonly subnet: Subnet,
    heldAddresses: Iterable<string> = [],
  ) {
    for (const ip of heldAddresses) {
      const offset = offsetOf(subnet, ip);
      if (offset !== undefined) this.held.add(offset);
    }
  }

  get gateway(): string {
    return addressAt(this.subnet, 1);
  }

  /** Usable container addresses: the subnet minus network, gateway and broadcast. */
  get capacity(): number {
    return this.subnet.size - 3;
  }

  get heldCount(): number {
    return this.held.size;
  }

  isHeld(ip: string): boolean {
    const offset = offsetOf(this.subnet, ip);
    return offset !== undefined && this.held.has(offset);
  }

  /** Leases the next free address after the last one handed out (wrapping around). */
  allocate(): string {
    const first = 2;
    const last = this.subnet.size - 2;
    const span = last - first + 1;
    for (let i = 0; i < span; i++) {
      const offset = first + ((this.cursor - first + i) % span);
      if (!this.held.has(offset)) {
        this.held.add(offset);
        this.cursor = offset + 1 > last ? first : offset + 1;
        return addressAt(this.subnet, offset);
      }
    }
    throw new ShoalError(
      NetworkErrorCode.SubnetExhausted,
      `subnet "${this.subnet.cidr}" has no free address (${this.capacity} of ${this.capacity} leased)`,
      { hint: "remove containers or give the node a larger subnet" },
    );
  }

  release(ip: string): void {
    const offset = offsetOf(this.subnet, ip);
    if (offset !== undefined) this.held.delete(offset);
  }
}
