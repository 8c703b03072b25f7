import { type Logger, ShoalError, silentLogger } from "@shoal/base";
import { run, runSync } from "./command.js";
import { TestkitErrorCode } from "./errors.js";
import { registerTeardown } from "./exit-hooks.js";
import { Host, type TestHost } from "./host.js";
import {
  HOST_INTERFACE,
  harnessId,
  hostNetns,
  MAX_HOSTS,
  rootLinkName,
  SWITCH_BRIDGE,
  SWITCH_GATEWAY_PORT,
  switchNetns,
  switchPort,
} from "./names.js";
import { renderPartitionRules } from "./partition.js";
import { claimSlot, deleteNetnsSync, type HarnessRecord, releaseSlot } from "./registry.js";
import { gatewayAddress, hostAddress, hostCapacity, parseTestSubnet, type Subnet } from "./subnet.js";
import { assertHostsSupported } from "./supported.js";
import { waitFor } from "./wait-for.js";

/** How long a new veth may take to come up, and how often it is checked. */
const LINK_UP_TIMEOUT_MS = 5000;
const LINK_UP_POLL_MS = 5;

/** SIGTERM → SIGKILL grace for processes spawned in test hosts, when the options do not say. */
export const DEFAULT_STOP_GRACE_MS = 2000;

export interface CreateHostsOptions {
  /** IPv4 CIDR for the hosts (/8../28). Default "10.231.<slot>.0/24", unique per live harness. */
  subnet?: string | undefined;
  /**
   * Give the root namespace (the test process) an address on the subnet — the gateway, `.1` — so
   * tests can connect to daemons in the hosts directly. Adds one link and its connected route to the
   * root namespace; nothing else there changes. Default true.
   */
  rootLink?: boolean | undefined;
  /** How long processes started with `host.spawn` get after SIGTERM before SIGKILL. Default 2000. */
  stopGraceMs?: number | undefined;
  logger?: Logger | undefined;
}

/** A set of test hosts on one private switch. Call `destroy()` in afterAll (also after failures). */
export interface TestHosts extends Iterable<TestHost> {
  /** "t<slot>": the part every name of this harness carries. */
  readonly id: string;
  readonly slot: number;
  /** The hosts' subnet, e.g. "10.231.17.0/24". */
  readonly subnet: string;
  /** The root namespace's address on the subnet, or undefined with `rootLink: false`. */
  readonly gateway: string | undefined;
  /** The hosts not removed, in index order. */
  readonly all: readonly TestHost[];
  /** The host with this 1-based index; throws if there is none. */
  get(index: number): TestHost;
  /** Adds one more host (index after the highest ever used). */
  add(): Promise<TestHost>;
  /** Cuts the link between two hosts, both directions. Traffic is dropped, not refused. */
  partition(a: TestHost | number, b: TestHost | number): Promise<void>;
  /** Restores a link cut by `partition` (an `isolate` of either host still holds). */
  heal(a: TestHost | number, b: TestHost | number): Promise<void>;
  /** Cuts every link of a host to the other hosts, including hosts added later. */
  isolate(host: TestHost | number): Promise<void>;
  /** Undoes `isolate` and every `partition` involving the host. */
  rejoin(host: TestHost | number): Promise<void>;
  /** Removes every cut. */
  healAll(): Promise<void>;
  /** Stops processes, deletes namespaces, links, addresses and the slot record. Idempotent. */
  destroy(): Promise<void>;
}

/**
 * Creates `count` hosts: network namespaces joined by a bridge that lives in a namespace of its own
 * (the "switch"). Keeping the bridge out of the root namespace means the root's firewall —
 * including br_netfilter passing bridged frames through its FORWARD chain — never sees host-to-host
 * traffic, and partitions are rules in the switch that the hosts cannot see.
 *
 * Before claiming its slot, removes what crashed harnesses (dead owner pid) left behind.
 */
export async function createHosts(count: number, options: CreateHostsOptions = {}): Promise<TestHosts> {
  if (!Number.isInteger(count) || count < 0 || count > MAX_HOSTS) {
    throw new ShoalError(
      TestkitErrorCode.InvalidOptions,
      `host count ${count} is not an integer from 0 to ${MAX_HOSTS}`,
    );
  }
  if (options.subnet !== undefined) {
    const capacity = hostCapacity(parseTestSubnet(options.subnet));
    if (count > capacity) {
      throw new ShoalError(
        TestkitErrorCode.InvalidOptions,
        `subnet "${options.subnet}" holds ${capacity} hosts, ${count} asked`,
      );
    }
  }
  assertHostsSupported();
  const logger = (options.logger ?? silentLogger()).child({ module: "testkit/hosts" });
  const { record, stale } = await claimSlot(options.subnet, options.rootLink ?? true);
  if (stale.slots.length > 0) logger.warn({ stale }, "removed leftovers of crashed test harnesses");
  const harness = new Harness(record, options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS, logger);
  try {
    await harness.setUp();
    // Hosts are independent: set them up concurrently (indexes are taken in call order).
    // allSettled: on a failure, destroy() must not race the other hosts still being set up.
    const results = await Promise.allSettled(Array.from({ length: count }, () => harness.add()));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  } catch (err) {
    await harness.destroy();
    throw err;
  }
  logger.info({ id: harness.id, subnet: harness.subnet, hosts: count }, "test hosts ready");
  return harness;
}

/**
 * Waits until the kernel reports the link operationally up. "ip link set up" returns before the
 * kernel's link watcher has activated the device's queue; until then frames are silently dropped,
 * so the first packets right after set-up would be lost.
 */
async function waitOperUp(netns: string | undefined, link: string): Promise<void> {
  const args = [...(netns === undefined ? [] : ["-n", netns]), "-o", "link", "show", "dev", link];
  await waitFor(async () => / state UP /.test(await run("ip", args)), {
    description: `link "${link}"${netns === undefined ? "" : ` in "${netns}"`} to come up`,
    timeoutMs: LINK_UP_TIMEOUT_MS,
    intervalMs: LINK_UP_POLL_MS,
  });
}

class Harness implements TestHosts {
  readonly id: string;
  readonly slot: number;
  readonly subnet: string;
  readonly gateway: string | undefined;
  private readonly net: Subnet;
  private readonly hosts = new Map<number, Host>();
  private readonly cutPairs = new Map<string, readonly [number, number]>();
  private readonly isolated = new Set<number>();
  private lastIndex = 0;
  /** nft runs one after another, each rendering the cut set as it is then, so the last call wins. */
  private applying: Promise<void> = Promise.resolve();
  private destroying: Promise<void> | undefined;
  private readonly unregister: () => void;

  constructor(
    private readonly record: HarnessRecord,
    private readonly stopGraceMs: number,
    private readonly logger: Logger,
  ) {
    this.slot = record.slot;
    this.id = harnessId(record.slot);
    this.net = parseTestSubnet(record.subnet);
    this.subnet = this.net.cidr;
    this.gateway = record.rootLink ? gatewayAddress(this.net) : undefined;
    this.unregister = registerTeardown(() => this.teardownSync());
  }

  get all(): readonly TestHost[] {
    return [...this.hosts.values()].sort((a, b) => a.index - b.index);
  }

  [Symbol.iterator](): Iterator<TestHost> {
    return this.all[Symbol.iterator]();
  }

  get(index: number): TestHost {
    const host = this.hosts.get(index);
    if (!host)
      throw new ShoalError(
        TestkitErrorCode.InvalidOptions,
        `test host ${index} not found in harness "${this.id}"`,
      );
    return host;
  }

  async setUp(): Promise<void> {
    const sw = switchNetns(this.slot);
    await run("ip", ["netns", "add", sw]);
    await run(
      "ip",
      ["-n", sw, "-batch", "-"],
      `link set lo up\nlink add name ${SWITCH_BRIDGE} type bridge\nlink set ${SWITCH_BRIDGE} up\n`,
    );
    if (this.gateway !== undefined) {
      const link = rootLinkName(this.slot);
      // addrgenmode none: no IPv6 link-local address on the root side; the root namespace gains
      // exactly one IPv4 address and its connected route.
      await run("ip", [
        "link",
        "add",
        "name",
        link,
        "type",
        "veth",
        "peer",
        "name",
        SWITCH_GATEWAY_PORT,
        "netns",
        sw,
      ]);
      await run(
        "ip",
        ["-batch", "-"],
        `link set ${link} addrgenmode none\naddr add ${this.gateway}/${this.net.prefixLength} dev ${link}\nlink set ${link} up\n`,
      );
      await run("ip", ["-n", sw, "link", "set", SWITCH_GATEWAY_PORT, "master", SWITCH_BRIDGE, "up"]);
      await waitOperUp(undefined, link);
      await waitOperUp(sw, SWITCH_GATEWAY_PORT);
    }
  }

  async add(): Promise<TestHost> {
    this.assertLive();
    const index = ++this.lastIndex;
    const address = hostAddress(this.net, index);
    const netns = hostNetns(this.slot, index);
    const sw = switchNetns(this.slot);
    const host = new Host(index, netns, address, (h) => this.removeHost(h));
    // Registered before the first command, so a failure part-way is still cleaned up by destroy().
    this.hosts.set(index, host);
    await run("ip", ["netns", "add", netns]);
    // Both ends are created directly inside their namespaces: no name ever appears in the root.
    await run("ip", [
      "link",
      "add",
      "name",
      switchPort(index),
      "netns",
      sw,
      "type",
      "veth",
      "peer",
      "name",
      HOST_INTERFACE,
      "netns",
      netns,
    ]);
    await run("ip", ["-n", sw, "link", "set", switchPort(index), "master", SWITCH_BRIDGE, "up"]);
    await run(
      "ip",
      ["-n", netns, "-batch", "-"],
      `link set lo up\naddr add ${address}/${this.net.prefixLength} dev ${HOST_INTERFACE}\nlink set ${HOST_INTERFACE} up\n`,
    );
    await waitOperUp(netns, HOST_INTERFACE);
    await waitOperUp(sw, switchPort(index));
    if (this.isolated.size > 0) await this.applyCuts();
    return host;
  }

  async partition(a: TestHost | number, b: TestHost | number): Promise<void> {
    const [x, y] = [this.indexOf(a), this.indexOf(b)].sort((p, q) => p - q) as [number, number];
    if (x === y)
      throw new ShoalError(TestkitErrorCode.InvalidOptions, `cannot partition test host ${x} from itself`);
    this.cutPairs.set(`${x}-${y}`, [x, y]);
    await this.applyCuts();
  }

  async heal(a: TestHost | number, b: TestHost | number): Promise<void> {
    const [x, y] = [this.indexOf(a), this.indexOf(b)].sort((p, q) => p - q);
    this.cutPairs.delete(`${x}-${y}`);
    await this.applyCuts();
  }

  async isolate(host: TestHost | number): Promise<void> {
    this.isolated.add(this.indexOf(host));
    await this.applyCuts();
  }

  async rejoin(host: TestHost | number): Promise<void> {
    const index = this.indexOf(host);
    this.forgetCuts(index);
    await this.applyCuts();
  }

  async healAll(): Promise<void> {
    this.assertLive();
    this.cutPairs.clear();
    this.isolated.clear();
    await this.applyCuts();
  }

  destroy(): Promise<void> {
    this.destroying ??= (async () => {
      await Promise.all([...this.hosts.values()].map((h) => h.stopProcesses(this.stopGraceMs)));
      this.teardownSync();
      this.logger.info({ id: this.id }, "test hosts destroyed");
    })();
    return this.destroying;
  }

  private async removeHost(host: Host): Promise<void> {
    if (host.removed || this.hosts.get(host.index) !== host) return;
    host.markRemoved();
    this.hosts.delete(host.index);
    await host.stopProcesses(this.stopGraceMs);
    deleteNetnsSync(host.netns);
    // Deleting the switch end takes the pair down now; the namespace itself is freed lazily.
    runSync("ip", ["-n", switchNetns(this.slot), "link", "delete", switchPort(host.index)]);
    this.forgetCuts(host.index);
    if (this.destroying === undefined) await this.applyCuts();
  }

  /**
   * Everything, synchronously, in an order that leaves no trace in the root namespace even though
   * namespace destruction is lazy: the root link is deleted explicitly before the namespaces.
   */
  private teardownSync(): void {
    this.unregister();
    this.destroying ??= Promise.resolve();
    for (const host of this.hosts.values()) {
      host.markRemoved();
      host.killProcessesSync();
    }
    if (this.gateway !== undefined) runSync("ip", ["link", "delete", rootLinkName(this.slot)]);
    for (const host of this.hosts.values()) deleteNetnsSync(host.netns);
    this.hosts.clear();
    deleteNetnsSync(switchNetns(this.slot));
    releaseSlot(this.record.slot);
  }

  private forgetCuts(index: number): void {
    this.isolated.delete(index);
    for (const [key, [x, y]] of this.cutPairs) {
      if (x === index || y === index) this.cutPairs.delete(key);
    }
  }

  private applyCuts(): Promise<void> {
    this.assertLive();
    const apply = async (): Promise<void> => {
      const script = renderPartitionRules({
        pairs: [...this.cutPairs.values()],
        isolated: [...this.isolated],
      });
      await run("nsenter", [`--net=/run/netns/${switchNetns(this.slot)}`, "--", "nft", "-f", "-"], script);
    };
    const next = this.applying.then(apply, apply);
    this.applying = next.catch(() => {});
    return next;
  }

  private indexOf(host: TestHost | number): number {
    this.assertLive();
    const index = typeof host === "number" ? host : host.index;
    if (this.hosts.get(index) === undefined || (typeof host !== "number" && this.hosts.get(index) !== host)) {
      throw new ShoalError(
        TestkitErrorCode.InvalidOptions,
        `test host ${index} not found in harness "${this.id}"`,
      );
    }
    return index;
  }

  private assertLive(): void {
    if (this.destroying !== undefined) {
      throw new ShoalError(TestkitErrorCode.Destroyed, `test harness "${this.id}" was destroyed`);
    }
  }
}
