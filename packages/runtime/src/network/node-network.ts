import { createHash } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Logger, ShoalError } from "@shoal/base";
import { parseSubnet, type Subnet } from "./cidr.js";
import { NetworkErrorCode } from "./errors.js";
import { Ipam } from "./ipam.js";
import { type ChainNames, chainNames, jumpRules, renderRules } from "./rules.js";
import { type CommandRunner, createRunner } from "./runner.js";
import {
  emptyState,
  type Lease,
  loadState,
  type NetworkState,
  type PortBinding,
  type Protocol,
  saveState,
} from "./state.js";

export interface NodeNetworkOptions {
  /** Directory for `network.json`, the recorded leases. */
  stateDir: string;
  /** The node's container subnet (from config now, from the allocator later), e.g. "10.88.1.0/24". */
  subnet: string;
  /** Bridge name; default "shoal0". */
  bridge?: string;
  /** Prefix of our iptables chains; default "SHOAL". */
  chainPrefix?: string;
  /**
   * Prefix of container network namespace names; unique per node on one machine, and never a prefix
   * of anyone else's namespaces: `open` deletes unrecorded namespaces that start with it. Default
   * "shoal-c-" (not "shoal-", which would claim the testkit's `shoal-t<slot>-h<k>` hosts).
   */
  netnsPrefix?: string;
  /** Prefix of host-side veth names (≤ 5 chars; 10 hash chars follow). Default "sh". */
  vethPrefix?: string;
  /** Range for ports published without a number; default 49153–65535 like Docker's. */
  ephemeralPorts?: readonly [number, number];
  /** Runs ip/iptables/conntrack; default: in this process's network namespace. */
  runner?: CommandRunner;
  /**
   * The containers that exist on the node (the runtime's `list()` after its `open`). When given,
   * `open` releases every lease of a container not among them: an agent that died between
   * `attach` and the container's `create` would otherwise hold its address and port forever.
   */
  containerIds?: Iterable<string>;
  logger: Logger;
}

export const DEFAULT_BRIDGE = "shoal0";
export const DEFAULT_CHAIN_PREFIX = "SHOAL";
/** Not "shoal-", which would claim the testkit's `shoal-t<slot>-h<k>` hosts. */
export const DEFAULT_NETNS_PREFIX = "shoal-c-";
export const DEFAULT_VETH_PREFIX = "sh";
/** Docker's range for ports published without a number. */
export const DEFAULT_EPHEMERAL_PORTS: readonly [number, number] = [49153, 65535];

/** A port to publish in host mode; without `publishedPort` the node picks one. */
export interface PortRequest {
  protocol?: Protocol;
  targetPort: number;
  publishedPort?: number;
}

export const NetworkMode = { Bridge: "bridge", None: "none", Host: "host" } as const;
export type NetworkMode = (typeof NetworkMode)[keyof typeof NetworkMode];

export interface AttachRequest {
  containerId: string;
  /** bridge (default): own namespace on the node bridge; none: own namespace, loopback only. */
  mode?: Exclude<NetworkMode, "host">;
  ports?: readonly PortRequest[];
  /** The address to lease (bridge mode), e.g. the one the manager gave the task; default the IPAM's next. */
  ip?: string;
}

export interface Attachment {
  containerId: string;
  /** Path to give runc as the container's network namespace. */
  netnsPath: string;
  /** Address on the bridge; undefined in mode none. */
  ip?: string;
  gateway?: string;
  prefixLength?: number;
  ports: PortBinding[];
}

const RUN_NETNS = "/run/netns";
const MAX_PORT = 65535;

/** Refuses a port iptables would reject later with a message about iptables, not about the port. */
function checkPort(containerId: string, which: "target" | "published", port: number): void {
  if (Number.isInteger(port) && port >= 1 && port <= MAX_PORT) return;
  throw new ShoalError(
    NetworkErrorCode.InvalidPort,
    `${which} port ${port} for container "${containerId}" is not a whole number from 1 to ${MAX_PORT}`,
  );
}

/**
 * One node's container networking, stage 1: a bridge with the gateway of the node's subnet, a
 * network namespace and veth pair per container with an address from a persisted IPAM, outbound
 * masquerade, and host-mode published ports (DNAT). The recorded state (`network.json`) is the
 * truth: a lease is written before the kernel objects that use it, and `open` reconciles the
 * kernel to the record (adds what is missing, removes what nobody holds), so a crash at any point
 * leaves nothing behind after the next start.
 */
export class NodeNetwork {
  private readonly log: Logger;
  private readonly runner: CommandRunner;
  private readonly bridge: string;
  private readonly chains: ChainNames;
  private readonly netnsPrefix: string;
  private readonly vethPrefix: string;
  private readonly ephemeral: readonly [number, number];
  private readonly stateDir: string;
  private readonly statePath: string;
  private readonly subnet: Subnet;
  private readonly containerIds: ReadonlySet<string> | undefined;
  private ipam: Ipam;
  private state: NetworkState;
  /** Serialises changes of the record: each one rewrites the state file and our chains whole. */
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * Each container's attach or detach in flight: the kernel work of different containers runs side
   * by side (a new task's attach does not wait for the detaches of the tasks just stopped, nor five
   * attaches of a rolling update's batch for each other); one container's run in order.
   */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Leases being detached: their rules are gone already and no rewrite puts them back. */
  private readonly detaching = new Set<string>();
  private closed = false;

  private constructor(options: NodeNetworkOptions) {
    this.log = options.logger.child({ module: "runtime/network" });
    this.runner = options.runner ?? createRunner();
    this.bridge = options.bridge ?? DEFAULT_BRIDGE;
    this.chains = chainNames(options.chainPrefix ?? DEFAULT_CHAIN_PREFIX);
    this.netnsPrefix = options.netnsPrefix ?? DEFAULT_NETNS_PREFIX;
    this.vethPrefix = options.vethPrefix ?? DEFAULT_VETH_PREFIX;
    this.ephemeral = options.ephemeralPorts ?? DEFAULT_EPHEMERAL_PORTS;
    this.stateDir = options.stateDir;
    this.statePath = join(options.stateDir, "network.json");
    this.subnet = parseSubnet(options.subnet);
    this.containerIds = options.containerIds === undefined ? undefined : new Set(options.containerIds);
    this.state = emptyState(this.subnet.cidr);
    this.ipam = new Ipam(this.subnet, []);
  }

  /**
   * Sets up the bridge and chains and reconciles the kernel with the recorded leases (and the
   * leases with `containerIds`, when given). `close()` when done; the kernel objects stay.
   */
  static async open(options: NodeNetworkOptions): Promise<NodeNetwork> {
    const net = new NodeNetwork(options);
    await net.load();
    return net;
  }

  /** Waits for the changes in flight; later calls fail with `NETWORK_CLOSED`. Containers keep their networking. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.inFlight.values());
    await this.queue;
  }

  private async load(): Promise<void> {
    const subnet = this.subnet;
    await mkdir(this.stateDir, { recursive: true });
    const state = await loadState(this.statePath, subnet.cidr);
    const previous = state.subnet === subnet.cidr ? undefined : parseSubnet(state.subnet);
    if (previous !== undefined) {
      // Containers on the old subnet would keep their addresses but lose outbound NAT, and the
      // IPAM could not see their leases: refuse rather than run half-configured.
      const held = Object.values(state.leases).filter((l) => l.ip !== "").length;
      if (held > 0) {
        throw new ShoalError(
          NetworkErrorCode.SubnetChanged,
          `node subnet "${subnet.cidr}" differs from "${state.subnet}", which ${held} attached container(s) still use`,
          { hint: `remove those containers first, or configure subnet "${state.subnet}" again` },
        );
      }
      state.subnet = subnet.cidr;
      // Offsets of the old subnet mean nothing in the new one.
      delete state.ipamCursor;
    }
    this.state = state;
    if (previous !== undefined) {
      // `addr replace` below adds the new gateway; the old one must not stay on the bridge.
      const oldGateway = `${new Ipam(previous).gateway}/${previous.prefixLength}`;
      await this.runner.run("ip", ["addr", "del", oldGateway, "dev", this.bridge], { allowFailure: true });
    }
    await this.setUpNode();
    await this.reconcile();
  }

  get gateway(): string {
    return this.ipam.gateway;
  }

  leases(): Lease[] {
    return Object.values(this.state.leases);
  }

  lease(containerId: string): Lease | undefined {
    return this.state.leases[containerId];
  }

  netnsPath(containerId: string): string {
    return `${RUN_NETNS}/${this.netnsName(containerId)}`;
  }

  /**
   * Gives the container its address, ports and namespace; resolves once they stand. `onLeased`
   * is called as soon as the lease is recorded — the address, ports and namespace path are then
   * known, so the caller can prepare the container while the kernel objects are made (a
   * container's create waits only for the namespace, right before `runc create`).
   */
  attach(request: AttachRequest, onLeased?: (attachment: Attachment) => void): Promise<Attachment> {
    return this.forContainer(request.containerId, () => this.doAttach(request, onLeased));
  }

  /** Removes the container's namespace, veth, address lease, DNAT rules and conntrack entries. */
  detach(containerId: string): Promise<void> {
    return this.forContainer(containerId, () => this.doDetach(containerId));
  }

  /** Removes everything of this node's networking: containers' namespaces, rules, chains, bridge. */
  async destroy(): Promise<void> {
    await Promise.all(this.inFlight.values());
    return this.serialised(async () => {
      for (const lease of Object.values(this.state.leases)) {
        await this.removeKernelObjects(lease);
        this.dropLease(lease);
      }
      await this.save();
      for (const jump of jumpRules(this.chains)) {
        // -D removes one copy per call: repeat until none is left.
        while (!(await this.iptables(jump.table, ["-D", jump.chain, ...jump.rule], true)).failed) {}
      }
      for (const [table, chain] of this.ownChains()) {
        await this.iptables(table, ["-F", chain], true);
        await this.iptables(table, ["-X", chain], true);
      }
      await this.runner.run("ip", ["link", "del", this.bridge], { allowFailure: true });
      await rm(this.statePath, { force: true });
    });
  }

  /** Runs `fn` after the container's earlier attach or detach; other containers' run meanwhile. */
  private forContainer<T>(containerId: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed)
      return Promise.reject(
        new ShoalError(NetworkErrorCode.Closed, `node network "${this.bridge}" is closed`),
      );
    const next = (this.inFlight.get(containerId) ?? Promise.resolve()).then(fn);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.inFlight.set(containerId, settled);
    void settled.then(() => {
      if (this.inFlight.get(containerId) === settled) this.inFlight.delete(containerId);
    });
    return next;
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed)
      return Promise.reject(
        new ShoalError(NetworkErrorCode.Closed, `node network "${this.bridge}" is closed`),
      );
    const next = this.queue.then(fn, fn);
    // The queue only orders the changes; each caller gets its own outcome from `next`.
    this.queue = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** Our chains with their tables, for creating and deleting them. */
  private ownChains(): readonly (readonly ["nat" | "filter", string])[] {
    return [
      ["nat", this.chains.postrouting],
      ["nat", this.chains.dnat],
      ["filter", this.chains.forward],
    ];
  }

  private netnsName(containerId: string): string {
    return `${this.netnsPrefix}${containerId}`;
  }

  private vethName(containerId: string): string {
    const hash = createHash("sha256").update(`${this.netnsPrefix}/${containerId}`).digest("hex").slice(0, 10);
    return `${this.vethPrefix}${hash}`;
  }

  private async setUpNode(): Promise<void> {
    const gateway = `${new Ipam(this.subnet).gateway}/${this.subnet.prefixLength}`;
    await this.runner.run("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
    const exists = await this.runner.run("ip", ["-o", "link", "show", "dev", this.bridge], {
      allowFailure: true,
    });
    if (exists.stdout === "") {
      await this.runner.run("ip", ["link", "add", this.bridge, "type", "bridge"]);
    }
    await this.runner.run("ip", ["addr", "replace", gateway, "dev", this.bridge]);
    await this.runner.run("ip", ["link", "set", this.bridge, "up"]);
    for (const [table, chain] of this.ownChains()) {
      await this.iptables(table, ["-N", chain], true);
    }
    for (const jump of jumpRules(this.chains)) {
      const present = await this.iptables(jump.table, ["-C", jump.chain, ...jump.rule], true);
      if (present.failed) await this.iptables(jump.table, ["-I", jump.chain, "1", ...jump.rule]);
    }
  }

  /** Brings the kernel in line with the record, after a crash or a restart. */
  private async reconcile(): Promise<void> {
    // Recorded leases are looked up among all namespaces and veths: what a lease names is ours
    // whatever its prefix (an older default, say). Unrecorded objects are removed only when they
    // carry our prefixes — those are attaches whose record was lost.
    const namespaces = new Set(
      (await this.runner.run("ip", ["netns", "list"])).stdout
        .split("\n")
        .map((line) => line.split(" ")[0] ?? "")
        .filter((name) => name !== ""),
    );
    const veths = await this.allVeths();
    const kept: Record<string, Lease> = {};
    const doomedNetns = new Set([...namespaces].filter((name) => name.startsWith(this.netnsPrefix)));
    const doomedVeths = new Set([...veths.keys()].filter((name) => this.isOurVethName(name)));
    for (const lease of Object.values(this.state.leases)) {
      const complete =
        namespaces.has(lease.netns) && (lease.hostVeth === "" || veths.get(lease.hostVeth) === true);
      const orphaned = this.containerIds !== undefined && !this.containerIds.has(lease.containerId);
      if (complete && !orphaned) {
        kept[lease.containerId] = lease;
        doomedNetns.delete(lease.netns);
        doomedVeths.delete(lease.hostVeth);
      } else {
        // An attach that did not finish, or one whose container was never created (the agent died
        // in between): nothing runs in it, so drop it all, address and ports included.
        this.log.info(
          { containerId: lease.containerId, complete, orphaned },
          "removing a network attachment nobody uses",
        );
        if (namespaces.has(lease.netns)) doomedNetns.add(lease.netns);
        if (veths.has(lease.hostVeth)) doomedVeths.add(lease.hostVeth);
      }
    }
    for (const name of doomedNetns) {
      await this.runner.run("ip", ["netns", "del", name], { allowFailure: true });
    }
    for (const veth of doomedVeths) {
      await this.runner.run("ip", ["link", "del", veth], { allowFailure: true });
    }
    this.state = { ...this.state, leases: kept };
    this.ipam = new Ipam(
      this.subnet,
      Object.values(kept).map((l) => l.ip),
      this.state.ipamCursor,
    );
    await this.save();
    await this.repairAttachments(Object.values(kept));
    await this.applyRules();
  }

  /**
   * Re-applies the configuration of every kept bridged attachment. A process killed between the
   * node-side and the in-namespace `ip` batch leaves a namespace and an enslaved veth (so the lease
   * looks complete) but an eth0 without address or route; the next attach of that container returns
   * the recorded lease, and its container would start unreachable. Every command here is idempotent,
   * so attachments that did finish are left as they are.
   */
  private async repairAttachments(leases: readonly Lease[]): Promise<void> {
    const bridged = leases.filter((l) => l.ip !== "");
    if (bridged.length === 0) return;
    await this.runner.run("ip", ["-batch", "-"], {
      input: bridged.map((l) => `link set ${l.hostVeth} type bridge_slave hairpin on\n`).join(""),
    });
    for (const lease of bridged) {
      await this.runner.run("ip", ["-n", lease.netns, "-batch", "-"], {
        input: this.namespaceSetup(lease),
      });
    }
  }

  /** The `ip -batch` lines that configure a container's side; idempotent (`replace`, not `add`). */
  private namespaceSetup(lease: Lease): string {
    return (
      "link set lo up\nlink set eth0 up\n" +
      `addr replace ${lease.ip}/${this.subnet.prefixLength} dev eth0\n` +
      `route replace default via ${this.ipam.gateway}\n`
    );
  }

  /** Every veth of the node's namespace, and whether it is enslaved to our bridge. */
  private async allVeths(): Promise<Map<string, boolean>> {
    const out = (await this.runner.run("ip", ["-o", "link", "show", "type", "veth"])).stdout;
    const veths = new Map<string, boolean>();
    for (const line of out.split("\n")) {
      const name = /^\d+: ([^:@]+)[@:]/.exec(line)?.[1];
      if (name !== undefined) veths.set(name, line.includes(` master ${this.bridge} `));
    }
    return veths;
  }

  /** Our prefix and then exactly the ten hex digits that `vethName` gives. */
  private isOurVethName(name: string): boolean {
    return name.startsWith(this.vethPrefix) && /^[0-9a-f]{10}$/.test(name.slice(this.vethPrefix.length));
  }

  private async doAttach(
    request: AttachRequest,
    onLeased: ((attachment: Attachment) => void) | undefined,
  ): Promise<Attachment> {
    const { containerId } = request;
    // The manager gives a replacement the address of the task it replaces at once: wait for that
    // container's detach instead of refusing the address.
    const holder = Object.values(this.state.leases).find(
      (l) =>
        request.ip !== undefined &&
        l.ip === request.ip &&
        l.containerId !== containerId &&
        this.detaching.has(l.containerId),
    );
    if (holder !== undefined) await this.inFlight.get(holder.containerId);
    const made = await this.serialised(() => this.recordLease(request));
    if (made.existing) {
      const existing = this.attachmentOf(made.lease);
      onLeased?.(existing);
      return existing;
    }
    const { lease } = made;
    onLeased?.(this.attachmentOf(lease));
    try {
      if (lease.ip !== "") {
        // One `ip` run per container (each process the daemon spawns costs it 10-40 ms of a loaded
        // node): the node side, then the namespace side through `netns exec`, which ip forks
        // itself. It stops at the first failing line, and the whole attach is undone.
        await this.runner.run("ip", ["-batch", "-"], {
          input:
            `netns add ${lease.netns}\n` +
            `link add ${lease.hostVeth} type veth peer name eth0 netns ${lease.netns}\n` +
            `link set ${lease.hostVeth} master ${this.bridge} up\n` +
            // A container reaching its own published port comes back out of its own bridge port.
            `link set ${lease.hostVeth} type bridge_slave hairpin on\n` +
            this.namespaceSetup(lease)
              .split("\n")
              .filter((line) => line !== "")
              .map((line) => `netns exec ${lease.netns} ip ${line}\n`)
              .join(""),
        });
        if (lease.ports.length > 0) await this.serialised(() => this.applyRules());
      } else {
        await this.runner.run("ip", ["-batch", "-"], {
          input: `netns add ${lease.netns}\nnetns exec ${lease.netns} ip link set lo up\n`,
        });
      }
    } catch (err) {
      await this.serialised(() => this.undoAttach(lease));
      throw err;
    }
    this.log.debug({ containerId, ip: lease.ip, ports: lease.ports }, "container attached");
    return this.attachmentOf(lease);
  }

  /** The lease of an attach, recorded before the kernel objects that use it; or the one on record. */
  private async recordLease(request: AttachRequest): Promise<{ lease: Lease; existing: boolean }> {
    const { containerId } = request;
    const existing = this.state.leases[containerId];
    if (existing !== undefined) return { lease: existing, existing: true };
    const mode = request.mode ?? NetworkMode.Bridge;
    const bridged = mode === NetworkMode.Bridge;
    const ports = bridged ? await this.bindPorts(containerId, request.ports ?? []) : [];
    const lease: Lease = {
      containerId,
      ip: bridged ? (request.ip === undefined ? this.ipam.allocate() : this.ipam.claim(request.ip)) : "",
      netns: this.netnsName(containerId),
      hostVeth: bridged ? this.vethName(containerId) : "",
      ports,
    };
    // Record first: whatever the kernel then holds for this container, a restart can find and remove.
    this.state.leases[containerId] = lease;
    try {
      await this.save();
    } catch (err) {
      await this.undoAttach(lease);
      throw err;
    }
    return { lease, existing: false };
  }

  private attachmentOf(lease: Lease): Attachment {
    const base = {
      containerId: lease.containerId,
      netnsPath: `${RUN_NETNS}/${lease.netns}`,
      ports: lease.ports,
    };
    if (lease.ip === "") return base;
    return { ...base, ip: lease.ip, gateway: this.ipam.gateway, prefixLength: this.subnet.prefixLength };
  }

  private async bindPorts(containerId: string, requests: readonly PortRequest[]): Promise<PortBinding[]> {
    const taken = new Set<string>();
    for (const lease of Object.values(this.state.leases)) {
      for (const p of lease.ports) taken.add(`${p.publishedPort}/${p.protocol}`);
    }
    const listening = requests.length > 0 ? await this.listeningPorts() : new Set<string>();
    const bindings: PortBinding[] = [];
    const requested = new Set<string>();
    for (const request of requests) {
      const protocol = request.protocol ?? "tcp";
      checkPort(containerId, "target", request.targetPort);
      let published = request.publishedPort;
      if (published !== undefined && published !== 0) {
        checkPort(containerId, "published", published);
        // Without this, the second copy would be refused as "used by another container".
        if (requested.has(`${published}/${protocol}`)) {
          throw new ShoalError(
            NetworkErrorCode.InvalidPort,
            `port ${published}/${protocol} for container "${containerId}" is published twice`,
            { hint: "publish each port once" },
          );
        }
        requested.add(`${published}/${protocol}`);
      }
      if (published === undefined || published === 0) {
        published = this.pickEphemeral(protocol, taken, listening);
      } else if (taken.has(`${published}/${protocol}`) || listening.has(`${published}/${protocol}`)) {
        const holder = taken.has(`${published}/${protocol}`) ? "another container" : "a process of the node";
        throw new ShoalError(
          NetworkErrorCode.PortInUse,
          `port ${published}/${protocol} for container "${containerId}" is already used by ${holder}`,
          { hint: "publish a different port, or leave the published port out to get a free one" },
        );
      }
      taken.add(`${published}/${protocol}`);
      bindings.push({ protocol, targetPort: request.targetPort, publishedPort: published });
    }
    return bindings;
  }

  private pickEphemeral(protocol: Protocol, taken: Set<string>, listening: Set<string>): number {
    const [low, high] = this.ephemeral;
    for (let port = low; port <= high; port++) {
      const key = `${port}/${protocol}`;
      if (!taken.has(key) && !listening.has(key)) return port;
    }
    throw new ShoalError(
      NetworkErrorCode.NoEphemeralPort,
      `no free ${protocol} port left in the range ${low}-${high}`,
      { hint: "publish fixed ports, or remove containers that hold published ports" },
    );
  }

  private async listeningPorts(): Promise<Set<string>> {
    const out = await this.runner.run("ss", ["-Hlntu"], { allowFailure: true });
    const ports = new Set<string>();
    for (const line of out.stdout.split("\n")) {
      const fields = line.trim().split(/\s+/);
      const m = /:(\d+)$/.exec(fields[4] ?? "");
      if (m !== null && (fields[0] === "tcp" || fields[0] === "udp")) ports.add(`${m[1]}/${fields[0]}`);
    }
    return ports;
  }

  private async doDetach(containerId: string): Promise<void> {
    const lease = this.state.leases[containerId];
    if (lease === undefined) return;
    this.detaching.add(containerId);
    try {
      if (lease.ports.length > 0) await this.serialised(() => this.applyRules());
      await this.removeKernelObjects(lease);
      await this.serialised(async () => {
        this.dropLease(lease);
        await this.save();
      });
    } finally {
      this.detaching.delete(containerId);
    }
    this.log.debug({ containerId }, "container detached");
  }

  /** A lease's namespace and veth, and the conntrack entries of its address. */
  private async removeKernelObjects(lease: Lease): Promise<void> {
    await Promise.all([
      // Established flows would otherwise keep NATing to an address that a new container may get.
      ...(lease.ip === ""
        ? []
        : ["-s", "-r"].map((flag) =>
            this.runner.run("conntrack", ["-D", flag, lease.ip], { allowFailure: true }),
          )),
      // One `ip` run; -force goes on past a link already gone to the namespace.
      this.runner.run("ip", ["-force", "-batch", "-"], {
        input: `${lease.hostVeth === "" ? "" : `link del ${lease.hostVeth}\n`}netns del ${lease.netns}\n`,
        allowFailure: true,
      }),
    ]);
  }

  private dropLease(lease: Lease): void {
    if (this.state.leases[lease.containerId] !== lease) return;
    delete this.state.leases[lease.containerId];
    if (lease.ip !== "") this.ipam.release(lease.ip);
  }

  /**
   * Undoes an attach that failed at any step. The lease goes from the record first, so a restart
   * never re-creates what this attach did not finish (nor installs its DNAT rules), and the
   * address and ports are free again. Kernel objects follow; whatever of them cannot be removed
   * now carries our prefixes and is removed by the next `open`. The rules are rewritten without
   * the lease (a failed `iptables-restore` may have committed its nat table before failing in
   * filter); if that fails too, the rules on record are applied by the next change or `open`, and
   * the failure is logged, not hidden.
   */
  private async undoAttach(lease: Lease): Promise<void> {
    const { containerId } = lease;
    delete this.state.leases[containerId];
    if (lease.ip !== "") this.ipam.release(lease.ip);
    const problems: string[] = [];
    const attempt = async (what: string, work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (err) {
        problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    await attempt("record", () => this.save());
    if (lease.ports.length > 0) await attempt("rules", () => this.applyRules());
    if (lease.hostVeth !== "") await attempt("veth", () => this.removeLink(lease.hostVeth));
    await attempt("netns", () => this.removeNetns(lease.netns));
    if (problems.length > 0)
      this.log.error(
        { containerId, problems },
        "undoing a failed attach left something; the next open removes it",
      );
  }

  /** `ip link del` that takes "no such device" as done. */
  private async removeLink(name: string): Promise<void> {
    const r = await this.runner.run("ip", ["link", "del", name], { allowFailure: true });
    if ((r.code ?? 0) !== 0 && !/Cannot find device|does not exist/.test(r.stderr))
      throw new ShoalError(
        NetworkErrorCode.CommandFailed,
        `ip link del "${name}" failed: ${r.stderr.trim()}`,
      );
  }

  /** `ip netns del` that takes "no such namespace" as done. */
  private async removeNetns(name: string): Promise<void> {
    const r = await this.runner.run("ip", ["netns", "del", name], { allowFailure: true });
    if ((r.code ?? 0) !== 0 && !/No such file or directory|Cannot remove namespace file/.test(r.stderr))
      throw new ShoalError(
        NetworkErrorCode.CommandFailed,
        `ip netns del "${name}" failed: ${r.stderr.trim()}`,
      );
  }

  /** The record with the IPAM's position, so a restart does not hand out a just-released address. */
  private async save(): Promise<void> {
    this.state.ipamCursor = this.ipam.cursor;
    await saveState(this.statePath, this.state);
  }

  private async applyRules(
    leases: readonly Lease[] = Object.values(this.state.leases).filter(
      (l) => !this.detaching.has(l.containerId),
    ),
  ): Promise<void> {
    const rules = renderRules(this.chains, this.bridge, this.subnet.cidr, leases);
    await this.runner.run("iptables-restore", ["--noflush", "-w"], { input: rules });
  }

  private async iptables(
    table: string,
    args: readonly string[],
    allowFailure = false,
  ): Promise<{ failed: boolean }> {
    try {
      await this.runner.run("iptables", ["-w", "-t", table, ...args]);
      return { failed: false };
    } catch (err) {
      if (!allowFailure) throw err;
      return { failed: true };
    }
  }
}
