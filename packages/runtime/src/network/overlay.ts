import { createHash } from "node:crypto";
import { type Logger, ShoalError } from "@shoal/base";
import type { Subnet } from "./cidr.js";
import { NetworkErrorCode } from "./errors.js";
import {
  containerJumps,
  type IngressPortRule,
  type Jump,
  MESH_MARK_MASK,
  meshMark,
  type NodeNetworkRules,
  nodeJumps,
  type OverlayChains,
  overlayChains,
  renderContainerRules,
  renderNodeRules,
  type VipRule,
} from "./overlay-rules.js";
import {
  macOf,
  type OverlayDesired,
  type OverlayEndpoint,
  type OverlayNetworkSpec,
  offsetIn,
  validateOverlay,
} from "./overlay-spec.js";
import { type CommandRunner, createRunner } from "./runner.js";

export interface OverlayNetworksOptions {
  /** This node's underlay address: the VXLAN tunnel endpoint, and how peers name this node. */
  localAddr: string;
  /**
   * MTU of the underlay; overlay devices get 50 less (the VXLAN header). Default: the MTU of the
   * interface holding `localAddr` (1500 if none does).
   */
  underlayMtu?: number;
  /** Prefix of our links (≤ 3 chars; a kind letter and 10 hash chars follow). Default "sv". */
  linkPrefix?: string;
  /** Prefix of our iptables chains. Default "SHOAL". */
  chainPrefix?: string;
  /** UDP port of VXLAN. Default 4789. */
  vxlanPort?: number;
  /** Priority of the mesh's `ip rule`s; their tables are `tableBase + offset`. Defaults 17700 and 1770000. */
  rulePref?: number;
  tableBase?: number;
  /** Runs ip/bridge/iptables/sysctl on the node; default: in this process's namespace. */
  runner?: CommandRunner;
  logger: Logger;
}

/** Routes a container's replies from its ingress address back through the ingress network. */
const CONTAINER_INGRESS_TABLE = 100;
const CONTAINER_INGRESS_PREF = 100;
/** Marks our mesh routes, so stale ones can be told from the kernel's own. */
const ROUTE_PROTO = "177";
const VXLAN_OVERHEAD = 50;

const hash10 = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 10);

function linkNames(stdout: string): Map<string, string> {
  const links = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const m = /^\d+: ([^:@\s]+)[@:]/.exec(line);
    if (m?.[1] !== undefined) links.set(m[1], line);
  }
  return links;
}

/**
 * A node's overlay networks, programmed from what the manager knows (`apply`), never learnt:
 * per network a bridge holding the gateway and a VXLAN device (nolearning, ARP proxy) whose
 * forwarding and neighbour entries are the peers' endpoints; per local endpoint a veth into its
 * namespace with a deterministic MAC; VIPs as DNAT in each container's namespace; ingress ports as
 * DNAT on the node with routes that keep the client's address (README, "Networking (stage 2)").
 *
 * Stateless: every object carries a name derived from the desired state and our prefixes, so
 * `apply` with the current desired state after a crash removes whatever nobody wants any more.
 */
export class OverlayNetworks {
  private readonly log: Logger;
  private readonly runner: CommandRunner;
  private readonly local: string;
  private mtu: number;
  private readonly mtuGiven: boolean;
  private readonly prefix: string;
  private readonly chains: OverlayChains;
  private readonly vxlanPort: number;
  private readonly rulePref: number;
  private readonly tableBase: number;
  private queue: Promise<unknown> = Promise.resolve();
  /** Rules last applied per namespace ("" is the node): unchanged ones are not rewritten. */
  private applied = new Map<string, string>();
  /**
   * What each network and endpoint was last programmed from: an unchanged one whose links are
   * still there is not run through its (idempotent) commands again, so a backend change costs
   * a rules rewrite, not a pass over every device. A new instance (a restart) programs all.
   */
  private programmed = new Map<string, string>();
  /** Each network's fields but its remote peers, as last programmed: a peers-only change syncs the forwarding entries alone. */
  private programmedBase = new Map<string, string>();
  /** Mesh rules may be there (an ingress network was programmed, or nothing is known yet). */
  private meshRulesMayExist = true;
  private forwardingOn = false;
  private current: OverlayDesired = { networks: [], endpoints: [], services: [] };

  constructor(options: OverlayNetworksOptions) {
    this.log = options.logger.child({ module: "runtime/overlay" });
    this.runner = options.runner ?? createRunner();
    this.local = options.localAddr;
    this.mtu = (options.underlayMtu ?? 1500) - VXLAN_OVERHEAD;
    this.mtuGiven = options.underlayMtu !== undefined;
    this.prefix = options.linkPrefix ?? "sv";
    if (!/^[a-z]{1,3}$/.test(this.prefix))
      throw new ShoalError(
        NetworkErrorCode.CommandFailed,
        `link prefix "${this.prefix}" is not 1-3 lower-case letters`,
      );
    this.chains = overlayChains(options.chainPrefix ?? "SHOAL");
    this.vxlanPort = options.vxlanPort ?? 4789;
    this.rulePref = options.rulePref ?? 17700;
    this.tableBase = options.tableBase ?? 1_770_000;
  }

  /** The desired state last applied in full. */
  get desired(): OverlayDesired {
    return this.current;
  }

  bridgeName(networkId: string): string {
    return `${this.prefix}b${hash10(networkId)}`;
  }

  vxlanName(networkId: string): string {
    return `${this.prefix}x${hash10(networkId)}`;
  }

  vethName(containerId: string, networkId: string): string {
    return `${this.prefix}e${hash10(`${containerId}/${networkId}`)}`;
  }

  /**
   * Makes the node match `desired` (idempotent): creates what is missing, corrects what differs,
   * removes our links, entries, routes and rules nobody wants. An invalid desired state is refused
   * before anything changes. Calls are serialised.
   */
  apply(desired: OverlayDesired): Promise<void> {
    const next = this.queue.then(
      () => this.doApply(desired),
      () => this.doApply(desired),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Removes every overlay object of this node (links, routes, rules, chains). */
  destroy(): Promise<void> {
    return this.apply({ networks: [], endpoints: [], services: [] }).then(() => this.removeChains());
  }

  private async doApply(desired: OverlayDesired): Promise<void> {
    const subnets = validateOverlay(desired);
    if (!this.forwardingOn) {
      await this.runner.run("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
      if (!this.mtuGiven) this.mtu = (await this.underlayMtu()) - VXLAN_OVERHEAD;
      this.forwardingOn = true;
    }
    let links = linkNames((await this.runner.run("ip", ["-o", "-d", "link", "show"])).stdout);
    const wanted = new Set<string>();
    for (const net of desired.networks) {
      wanted.add(this.bridgeName(net.id));
      wanted.add(this.vxlanName(net.id));
    }
    for (const ep of desired.endpoints)
      for (const a of ep.attachments) wanted.add(this.vethName(ep.containerId, a.networkId));
    const ours = new RegExp(`^${this.prefix}[bxe][0-9a-f]{10}$`);
    // Veths first, then VXLAN devices, then bridges: nothing is left enslaved to a vanishing bridge.
    const stale = [...links.keys()].filter((n) => ours.test(n) && !wanted.has(n));
    const order = (n: string) => "exb".indexOf(n.charAt(this.prefix.length));
    for (const name of stale.sort((a, b) => order(a) - order(b))) {
      this.log.info({ link: name }, "removing an overlay link nobody wants");
      await this.runner.run("ip", ["link", "del", name], { allowFailure: true });
      links.delete(name);
    }
    const keep = new Set<string>();
    for (const net of desired.networks) {
      const key = `net:${net.id}`;
      const print = JSON.stringify(net);
      keep.add(key);
      // What ensureNetwork programs beyond the forwarding entries: everything but the peers,
      // of which only this node's mesh address.
      const me = net.peers.find((p) => p.nodeAddr === this.local);
      const base = JSON.stringify({ ...net, peers: [], nodeIp: me?.nodeIp });
      const present = links.has(this.bridgeName(net.id)) && links.has(this.vxlanName(net.id));
      if (present && this.programmed.get(key) === print) continue;
      const peersOnly = present && this.programmedBase.get(key) === base;
      this.programmed.delete(key);
      this.programmedBase.delete(key);
      if (peersOnly) {
        // Endpoints came or went on other nodes (a scale): the devices and addresses stand.
        await this.syncForwarding(net, this.vxlanName(net.id));
        await this.syncMesh(net, this.bridgeName(net.id), subnets.get(net.id) as Subnet);
      } else await this.ensureNetwork(net, subnets.get(net.id) as Subnet, links);
      this.programmed.set(key, print);
      this.programmedBase.set(key, base);
    }
    for (const key of [...this.programmedBase.keys()]) if (!keep.has(key)) this.programmedBase.delete(key);
    // Mesh rules name their bridge by `iif` and outlive it: without an ingress network, none stays.
    if (desired.networks.some((n) => n.ingress === true)) this.meshRulesMayExist = true;
    else if (this.meshRulesMayExist) {
      await this.clearMeshRules();
      this.meshRulesMayExist = false;
    }
    links = linkNames((await this.runner.run("ip", ["-o", "link", "show"])).stdout);
    // One endpoint that cannot be set up (its namespace went with its container, say) must not
    // keep the others and the node's rules from being programmed: it is reported at the end.
    const failed: { containerId: string; error: string }[] = [];
    const each = async (ep: OverlayEndpoint, work: () => Promise<void>) => {
      try {
        await work();
      } catch (err) {
        if (!failed.some((f) => f.containerId === ep.containerId))
          failed.push({
            containerId: ep.containerId,
            error: err instanceof Error ? err.message : String(err),
          });
      }
    };
    for (const ep of desired.endpoints) {
      const key = `ep:${ep.containerId}`;
      keep.add(key);
      const print = JSON.stringify({
        ep,
        nets: ep.attachments.map((a) => {
          const n = desired.networks.find((x) => x.id === a.networkId);
          return [n?.subnet, n?.gateway, n?.internal, n?.ingress];
        }),
      });
      const present = ep.attachments.every((a) => links.has(this.vethName(ep.containerId, a.networkId)));
      if (present && this.programmed.get(key) === print) continue;
      this.programmed.delete(key);
      // Set up again (a new namespace, maybe): its chains too.
      this.applied.delete(ep.netns);
      await each(ep, async () => {
        await this.ensureEndpoint(ep, desired, subnets, links);
        this.programmed.set(key, print);
      });
    }
    for (const key of [...this.programmed.keys()]) if (!keep.has(key)) this.programmed.delete(key);
    await this.applyNodeRules(desired, subnets);
    for (const ep of desired.endpoints) {
      if (failed.some((f) => f.containerId === ep.containerId)) continue;
      await each(ep, () => this.applyContainerRules(ep, desired));
    }
    const live = new Set(desired.endpoints.map((e) => e.netns));
    for (const key of this.applied.keys()) if (key !== "" && !live.has(key)) this.applied.delete(key);
    this.current = desired;
    if (failed.length > 0) {
      this.log.warn({ failed }, "some overlay endpoints could not be set up");
      throw new ShoalError(
        NetworkErrorCode.OverlayEndpointFailed,
        `overlay endpoint(s) ${failed.map((f) => `"${f.containerId}"`).join(", ")} could not be set up: ${failed[0]?.error}`,
        { hint: "the rest of the desired state is applied; apply again once their namespaces exist" },
      );
    }
  }

  private async ensureNetwork(
    net: OverlayNetworkSpec,
    subnet: Subnet,
    links: Map<string, string>,
  ): Promise<void> {
    const br = this.bridgeName(net.id);
    const vx = this.vxlanName(net.id);
    const me = net.peers.find((p) => p.nodeAddr === this.local);
    const len = subnet.prefixLength;
    if (!links.has(br)) await this.runner.run("ip", ["link", "add", br, "type", "bridge"]);
    const vxLine = links.get(vx);
    if (vxLine !== undefined && !vxLine.includes(`vxlan id ${net.vni} `)) {
      await this.runner.run("ip", ["link", "del", vx]);
    }
    if (vxLine === undefined || !vxLine.includes(`vxlan id ${net.vni} `)) {
      await this.runner.run("ip", [
        "link",
        "add",
        vx,
        "type",
        "vxlan",
        "id",
        String(net.vni),
        "local",
        this.local,
        "dstport",
        String(this.vxlanPort),
        "nolearning",
        "proxy",
      ]);
    }
    const host = [
      `link set ${br} mtu ${this.mtu}`,
      ...(me?.nodeIp === undefined ? [] : [`link set ${br} address ${macOf(me.nodeIp)}`]),
      `addr replace ${net.gateway}/${len} dev ${br}`,
      ...(me?.nodeIp === undefined ? [] : [`addr replace ${me.nodeIp}/${len} dev ${br}`]),
      `link set ${vx} mtu ${this.mtu} master ${br} up`,
      `link set ${br} up`,
    ];
    await this.runner.run("ip", ["-batch", "-"], { input: `${host.join("\n")}\n` });
    // The mesh forwards in and out of the same bridge: no redirects, and replies may arrive on
    // another interface than the route to their source.
    await this.runner.run("sysctl", [
      "-q",
      "-w",
      `net.ipv4.conf.${br}.rp_filter=2`,
      `net.ipv4.conf.${br}.accept_redirects=0`,
      `net.ipv4.conf.${br}.send_redirects=0`,
    ]);
    await this.syncForwarding(net, vx);
    await this.syncMesh(net, br, subnet);
  }

  /** Static FDB (MAC → node) and neighbour (IP → MAC) entries for every remote endpoint. */
  private async syncForwarding(net: OverlayNetworkSpec, vx: string): Promise<void> {
    const fdb = new Map<string, string>();
    const neigh = new Map<string, string>();
    for (const peer of net.peers) {
      if (peer.nodeAddr === this.local) continue;
      const entries = [...peer.endpoints, ...(peer.nodeIp === undefined ? [] : [{ ip: peer.nodeIp }])];
      for (const e of entries) {
        const mac = ("mac" in e && e.mac !== undefined ? e.mac : macOf(e.ip)).toLowerCase();
        fdb.set(mac, peer.nodeAddr);
        neigh.set(e.ip, mac);
      }
    }
    const bridgeLines: string[] = [];
    for (const line of (await this.runner.run("bridge", ["fdb", "show", "dev", vx])).stdout.split("\n")) {
      const m = /^([0-9a-f:]{17}) dst (\S+) self/.exec(line);
      if (m === null) continue;
      if (fdb.get(m[1] as string) !== m[2]) bridgeLines.push(`fdb del ${m[1]} dev ${vx} dst ${m[2]} self`);
    }
    for (const [mac, dst] of fdb) bridgeLines.push(`fdb replace ${mac} dev ${vx} dst ${dst} self permanent`);
    if (bridgeLines.length > 0)
      await this.runner.run("bridge", ["-batch", "-"], { input: `${bridgeLines.join("\n")}\n` });
    const ipLines: string[] = [];
    for (const line of (await this.runner.run("ip", ["neigh", "show", "dev", vx])).stdout.split("\n")) {
      const ip = line.split(" ")[0];
      if (ip !== undefined && ip !== "" && !neigh.has(ip)) ipLines.push(`neigh del ${ip} dev ${vx}`);
    }
    for (const [ip, mac] of neigh) ipLines.push(`neigh replace ${ip} lladdr ${mac} dev ${vx} nud permanent`);
    if (ipLines.length > 0)
      await this.runner.run("ip", ["-batch", "-"], { input: `${ipLines.join("\n")}\n` });
  }

  /**
   * The routing mesh's routes (ingress network only): each remote endpoint via its node's address
   * on the network, so the node that DNATs a client's connection routes it there (not bridges it);
   * and per remote node a table and a fwmark rule that route replies back through it.
   */
  private async syncMesh(net: OverlayNetworkSpec, br: string, subnet: Subnet): Promise<void> {
    if (net.ingress !== true) return;
    const routes = new Map<string, string>();
    const rules = new Map<string, { table: number; via: string }>();
    for (const peer of net.peers) {
      if (peer.nodeAddr === this.local || peer.nodeIp === undefined) continue;
      for (const e of peer.endpoints) routes.set(`${e.ip}`, peer.nodeIp);
      const off = offsetIn(subnet, peer.nodeIp);
      const mark = meshMark(off);
      rules.set(`0x${mark.toString(16)}/0x${MESH_MARK_MASK.toString(16)}`, {
        table: this.tableBase + off,
        via: peer.nodeIp,
      });
    }
    const lines: string[] = [];
    const shown = await this.runner.run("ip", ["-o", "route", "show", "dev", br, "proto", ROUTE_PROTO]);
    for (const line of shown.stdout.split("\n")) {
      const dst = line.split(" ")[0];
      if (dst !== undefined && dst !== "" && !routes.has(dst))
        lines.push(`route del ${dst} dev ${br} proto ${ROUTE_PROTO}`);
    }
    for (const [dst, via] of routes)
      lines.push(`route replace ${dst}/32 via ${via} dev ${br} proto ${ROUTE_PROTO}`);
    for (const { table, via } of rules.values())
      lines.push(`route replace default via ${via} dev ${br} table ${table}`);
    // `iif`: only the replies forwarded from the bridge. The VXLAN packets that carry them keep
    // the mark (the outer route is looked up with it) and must not be routed into the overlay.
    const pref = String(this.rulePref);
    const present = new Set<string>();
    for (const line of (await this.runner.run("ip", ["rule", "show", "pref", pref])).stdout.split("\n")) {
      const m = /fwmark (\S+)( iif \S+)? lookup (\d+)/.exec(line);
      if (m === null) continue;
      const key = m[1] as string;
      const want = rules.get(key);
      if (want === undefined || String(want.table) !== m[3] || m[2] !== ` iif ${br}`)
        lines.push(`rule del pref ${pref} fwmark ${key}${m[2] ?? ""} table ${m[3]}`);
      else present.add(key);
    }
    for (const [key, { table }] of rules)
      if (!present.has(key)) lines.push(`rule add pref ${pref} fwmark ${key} iif ${br} table ${table}`);
    if (lines.length > 0) await this.runner.run("ip", ["-batch", "-"], { input: `${lines.join("\n")}\n` });
  }

  /** The MTU of the interface that holds the local address, or 1500. */
  private async underlayMtu(): Promise<number> {
    const addr = await this.runner.run("ip", ["-o", "-4", "addr", "show", "to", this.local], {
      allowFailure: true,
    });
    const dev = /^\d+: (\S+)/.exec(addr.stdout)?.[1];
    if (dev === undefined) return 1500;
    const link = await this.runner.run("ip", ["-o", "link", "show", "dev", dev], { allowFailure: true });
    const mtu = Number(/ mtu (\d+)/.exec(link.stdout)?.[1]);
    return Number.isInteger(mtu) && mtu > VXLAN_OVERHEAD ? mtu : 1500;
  }

  private async clearMeshRules(): Promise<void> {
    const pref = String(this.rulePref);
    const shown = (await this.runner.run("ip", ["rule", "show", "pref", pref])).stdout;
    const count = shown.split("\n").filter((l) => l.trim() !== "").length;
    for (let i = 0; i < count; i++)
      await this.runner.run("ip", ["rule", "del", "pref", pref], { allowFailure: true });
  }

  private async ensureEndpoint(
    ep: OverlayEndpoint,
    desired: OverlayDesired,
    subnets: Map<string, Subnet>,
    links: Map<string, string>,
  ): Promise<void> {
    const inside: string[] = ["link set lo up"];
    let defaultVia: string | undefined;
    let ingress: { ip: string; gateway: string; ifname: string } | undefined;
    const ours = new Set<string>();
    for (const [i, a] of ep.attachments.entries()) {
      const net = desired.networks.find((n) => n.id === a.networkId) as OverlayNetworkSpec;
      const hv = this.vethName(ep.containerId, a.networkId);
      const ifname = a.ifname ?? `eth${i}`;
      ours.add(ifname);
      if (!links.has(hv)) {
        // The pair is made in one step, so without its host end an interface of that name in the
        // namespace is ours only when it carries our MAC (a veth moved away by hand, say): then it
        // goes. Anything else (the node bridge's eth0) is not ours to delete.
        const there = await this.runner.run("ip", ["-n", ep.netns, "-o", "link", "show", "dev", ifname], {
          allowFailure: true,
        });
        if ((there.code ?? 0) === 0 && there.stdout.trim() !== "") {
          if (!there.stdout.includes(`link/ether ${macOf(a.ip)} `))
            throw new ShoalError(
              NetworkErrorCode.OverlayInvalidSpec,
              `endpoint "${ep.containerId}": interface "${ifname}" already exists in namespace "${ep.netns}" and is not an overlay one`,
              { hint: "give the attachment another ifname (the node bridge's interface is eth0)" },
            );
          await this.runner.run("ip", ["-n", ep.netns, "link", "del", ifname]);
        }
        await this.runner.run("ip", [
          "link",
          "add",
          hv,
          "type",
          "veth",
          "peer",
          "name",
          ifname,
          "netns",
          ep.netns,
        ]);
      }
      await this.runner.run("ip", [
        "link",
        "set",
        hv,
        "mtu",
        String(this.mtu),
        "master",
        this.bridgeName(net.id),
        "up",
      ]);
      const len = (subnets.get(net.id) as Subnet).prefixLength;
      inside.push(
        `link set ${ifname} mtu ${this.mtu} address ${macOf(a.ip)}`,
        `addr replace ${a.ip}/${len} dev ${ifname}`,
        `link set ${ifname} up`,
      );
      if (net.ingress === true) ingress = { ip: a.ip, gateway: net.gateway, ifname };
      else if (net.internal !== true && defaultVia === undefined) defaultVia = `${net.gateway} dev ${ifname}`;
    }
    await this.runner.run("ip", ["-n", ep.netns, "-batch", "-"], { input: `${inside.join("\n")}\n` });
    // The default route is ours to set only where no other (the node bridge's, say) is there.
    const current = (await this.runner.run("ip", ["-n", ep.netns, "-o", "route", "show", "default"])).stdout;
    const dev = /dev (\S+)/.exec(current)?.[1];
    if (current.trim() === "" || (dev !== undefined && ours.has(dev))) {
      const route =
        defaultVia ?? (ingress === undefined ? undefined : `${ingress.gateway} dev ${ingress.ifname}`);
      if (route !== undefined)
        await this.runner.run("ip", ["-n", ep.netns, ...`route replace default via ${route}`.split(" ")]);
      else if (current.trim() !== "")
        await this.runner.run("ip", ["-n", ep.netns, "route", "del", "default"]);
    }
    await this.syncIngressSourceRoute(ep.netns, ingress);
  }

  /** Replies from a task's ingress address go back through the ingress network's gateway (this node). */
  private async syncIngressSourceRoute(
    netns: string,
    ingress: { ip: string; gateway: string; ifname: string } | undefined,
  ): Promise<void> {
    const pref = String(CONTAINER_INGRESS_PREF);
    const table = String(CONTAINER_INGRESS_TABLE);
    const shown = (await this.runner.run("ip", ["-n", netns, "rule", "show", "pref", pref])).stdout;
    const want = ingress === undefined ? undefined : `from ${ingress.ip} lookup ${table}`;
    if (want !== undefined && shown.includes(want)) {
      await this.runner.run("ip", [
        "-n",
        netns,
        ...`route replace default via ${ingress?.gateway} dev ${ingress?.ifname} table ${table}`.split(" "),
      ]);
      return;
    }
    const stale = shown.split("\n").filter((l) => l.trim() !== "").length;
    for (let i = 0; i < stale; i++)
      await this.runner.run("ip", ["-n", netns, "rule", "del", "pref", pref], { allowFailure: true });
    if (ingress === undefined) return;
    await this.runner.run("ip", [
      "-n",
      netns,
      ...`route replace default via ${ingress.gateway} dev ${ingress.ifname} table ${table}`.split(" "),
    ]);
    await this.runner.run("ip", [
      "-n",
      netns,
      "rule",
      "add",
      "pref",
      pref,
      "from",
      ingress.ip,
      "table",
      table,
    ]);
  }

  private async applyNodeRules(desired: OverlayDesired, subnets: Map<string, Subnet>): Promise<void> {
    const networks: NodeNetworkRules[] = desired.networks.map((net) => {
      const rules: NodeNetworkRules = {
        bridge: this.bridgeName(net.id),
        subnet: (subnets.get(net.id) as Subnet).cidr,
        internal: net.internal === true,
      };
      if (net.ingress === true) {
        rules.meshPeers = net.peers
          .filter((p) => p.nodeAddr !== this.local && p.nodeIp !== undefined)
          .map((p) => ({
            mac: macOf(p.nodeIp as string),
            mark: meshMark(offsetIn(subnets.get(net.id) as Subnet, p.nodeIp as string)),
          }));
      }
      return rules;
    });
    const ingressNet = desired.networks.find((n) => n.ingress === true);
    const ingress: IngressPortRule[] = [];
    for (const svc of desired.services) {
      for (const port of svc.ingressPorts ?? []) {
        const backends = healthyAddresses(svc.tasks, ingressNet?.id).map((ip) => `${ip}:${port.targetPort}`);
        ingress.push({
          protocol: port.protocol ?? "tcp",
          publishedPort: port.publishedPort,
          backends,
          service: svc.id,
        });
      }
    }
    const text = renderNodeRules(this.chains, `${this.prefix}b+`, networks, ingress);
    const previous = this.applied.get("");
    if (previous !== text) {
      await this.runner.run("iptables-restore", ["--noflush", "-w"], { input: text });
      if (previous === undefined) await this.ensureJumps(nodeJumps(this.chains), []);
      this.applied.set("", text);
    }
    await this.ensureForwardFirst();
  }

  /**
   * Our FORWARD chain must come before the node bridge's (stage 1), which accepts everything its
   * containers send: else a container reaches, through its node, the overlay networks of other
   * stacks that have a task on the same node. Another chain inserted at the top later (the node
   * network reopened on a new subnet) is put behind ours again by the next apply.
   */
  private async ensureForwardFirst(): Promise<void> {
    const jump = nodeJumps(this.chains).find((j) => j.chain === "FORWARD");
    if (jump === undefined) return;
    const shown = await this.runner.run("iptables", ["-w", "-t", "filter", "-S", "FORWARD"]);
    const first = shown.stdout.split("\n").find((l) => l.startsWith("-A FORWARD "));
    if (first === `-A FORWARD ${jump.rule.join(" ")}`) return;
    for (;;) {
      const r = await this.runner.run("iptables", ["-w", "-t", "filter", "-D", "FORWARD", ...jump.rule], {
        allowFailure: true,
      });
      if ((r.code ?? 0) !== 0) break;
    }
    await this.runner.run("iptables", ["-w", "-t", "filter", "-I", "FORWARD", "1", ...jump.rule]);
  }

  private async applyContainerRules(ep: OverlayEndpoint, desired: OverlayDesired): Promise<void> {
    const joined = new Set(ep.attachments.map((a) => a.networkId));
    const vips: VipRule[] = [];
    for (const svc of desired.services) {
      if ((svc.endpointMode ?? "vip") !== "vip") continue;
      for (const vip of svc.vips) {
        if (!joined.has(vip.networkId)) continue;
        vips.push({ vip: vip.ip, backends: healthyAddresses(svc.tasks, vip.networkId), service: svc.id });
      }
    }
    const text = renderContainerRules(this.chains, vips);
    const previous = this.applied.get(ep.netns);
    if (previous === text) return;
    const exec = ["netns", "exec", ep.netns];
    await this.runner.run("ip", [...exec, "iptables-restore", "--noflush", "-w"], { input: text });
    if (previous === undefined) await this.ensureJumps(containerJumps(this.chains), exec);
    this.applied.set(ep.netns, text);
  }

  private async ensureJumps(jumps: readonly Jump[], exec: readonly string[]): Promise<void> {
    const run = (args: string[], allowFailure: boolean) =>
      exec.length === 0
        ? this.runner.run("iptables", args, { allowFailure })
        : this.runner.run("ip", [...exec, "iptables", ...args], { allowFailure });
    for (const j of jumps) {
      const present = await run(["-w", "-t", j.table, "-C", j.chain, ...j.rule], true);
      if ((present.code ?? 0) !== 0) await run(["-w", "-t", j.table, "-I", j.chain, "1", ...j.rule], false);
    }
  }

  private async removeChains(): Promise<void> {
    for (const j of nodeJumps(this.chains)) {
      for (;;) {
        const r = await this.runner.run("iptables", ["-w", "-t", j.table, "-D", j.chain, ...j.rule], {
          allowFailure: true,
        });
        if ((r.code ?? 0) !== 0) break;
      }
    }
    const c = this.chains;
    for (const [table, chain] of [
      ["filter", c.forward],
      ["nat", c.postrouting],
      ["nat", c.ingress],
      ["mangle", c.mark],
    ] as const) {
      await this.runner.run("iptables", ["-w", "-t", table, "-F", chain], { allowFailure: true });
      await this.runner.run("iptables", ["-w", "-t", table, "-X", chain], { allowFailure: true });
    }
    this.applied.delete("");
  }
}

/** Addresses on `networkId` of the tasks that are running and healthy. */
export function healthyAddresses(
  tasks: readonly { healthy?: boolean; addresses: readonly { networkId: string; ip: string }[] }[],
  networkId: string | undefined,
): string[] {
  const out: string[] = [];
  for (const t of tasks) {
    if (t.healthy === false) continue;
    const a = t.addresses.find((x) => x.networkId === networkId);
    if (a !== undefined) out.push(a.ip);
  }
  return out;
}
