import { ShoalError } from "@shoal/base";
import { addressAt, offsetOf, type Subnet } from "./cidr.js";
import { NetworkErrorCode } from "./errors.js";

/** Offset 0 is the network address, 1 the gateway: containers start at 2. */
const FIRST_OFFSET = 2;

/**
 * Container addresses on a node subnet. Offset 1 is the bridge's gateway; the network and
 * broadcast addresses are never handed out. Pure: the caller owns persistence, so a lease is
 * recorded on disk before the kernel objects that use it are made.
 */
export class Ipam {
  private readonly held = new Set<number>();
  /** Where the next search starts: addresses are not reused right away after a release. */
  private next = FIRST_OFFSET;

  /** `cursor`: a persisted `cursor` of an earlier run, so a restart does not start over at .2. */
  constructor(
    readonly subnet: Subnet,
    heldAddresses: Iterable<string> = [],
    cursor?: number,
  ) {
    for (const ip of heldAddresses) {
      const offset = offsetOf(subnet, ip);
      if (offset !== undefined) this.held.add(offset);
    }
    if (
      cursor !== undefined &&
      Number.isInteger(cursor) &&
      cursor >= FIRST_OFFSET &&
      cursor <= this.lastOffset
    )
      this.next = cursor;
  }

  /** The offset the next search starts at; persist it with the leases. */
  get cursor(): number {
    return this.next;
  }

  private get lastOffset(): number {
    return this.subnet.size - 2;
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
    const first = FIRST_OFFSET;
    const last = this.lastOffset;
    const span = last - first + 1;
    for (let i = 0; i < span; i++) {
      const offset = first + ((this.next - first + i) % span);
      if (!this.held.has(offset)) {
        this.held.add(offset);
        this.next = offset + 1 > last ? first : offset + 1;
        return addressAt(this.subnet, offset);
      }
    }
    throw new ShoalError(
      NetworkErrorCode.SubnetExhausted,
      `subnet "${this.subnet.cidr}" has no free address (${this.capacity} of ${this.capacity} leased)`,
      { hint: "remove containers or give the node a larger subnet" },
    );
  }

  /** Leases `ip` itself (an address the cluster's allocator chose); the cursor does not move. */
  claim(ip: string): string {
    const offset = offsetOf(this.subnet, ip);
    if (offset === undefined || offset < FIRST_OFFSET || offset > this.lastOffset || this.held.has(offset)) {
      const why =
        offset === undefined || offset < FIRST_OFFSET || offset > this.lastOffset
          ? `not a container address of subnet "${this.subnet.cidr}"`
          : "leased to another container";
      throw new ShoalError(NetworkErrorCode.AddressUnavailable, `address "${ip}" is ${why}`);
    }
    this.held.add(offset);
    return ip;
  }

  release(ip: string): void {
    const offset = offsetOf(this.subnet, ip);
    if (offset !== undefined) this.held.delete(offset);
  }
}
