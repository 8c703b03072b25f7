/** Names of the chains the overlay owns on the node and in each container's namespace. */
export interface OverlayChains {
  /** filter, from FORWARD: isolation between overlay networks, `internal`, mesh traffic in. */
  forward: string;
  /** nat, from POSTROUTING: masquerade out of non-internal overlay subnets. */
  postrouting: string;
  /** nat, from PREROUTING for local addresses: ingress-published ports DNAT to tasks. */
  ingress: string;
  /** mangle, from PREROUTING: marks mesh connections by the node they came from, for the reply. */
  mark: string;
  /** nat, from OUTPUT in a container's namespace: VIP → backends. */
  vip: string;
  /** filter, from OUTPUT in a container's namespace: refuses a VIP that has no backend. */
  vipReject: string;
}

export function overlayChains(prefix: string): OverlayChains {
  return {
    forward: `${prefix}-OV-FWD`,
    postrouting: `${prefix}-OV-POST`,
    ingress: `${prefix}-OV-ING`,
    mark: `${prefix}-OV-MARK`,
    vip: `${prefix}-VIP`,
    vipReject: `${prefix}-VIPF`,
  };
}

export interface Jump {
  table: string;
  chain: string;
  rule: string[];
}

export function nodeJumps(c: OverlayChains): Jump[] {
  return [
    { table: "filter", chain: "FORWARD", rule: ["-j", c.forward] },
    { table: "nat", chain: "POSTROUTING", rule: ["-j", c.postrouting] },
    { table: "nat", chain: "PREROUTING", rule: ["-m", "addrtype", "--dst-type", "LOCAL", "-j", c.ingress] },
    { table: "mangle", chain: "PREROUTING", rule: ["-j", c.mark] },
  ];
}

export function containerJumps(c: OverlayChains): Jump[] {
  return [
    { table: "nat", chain: "OUTPUT", rule: ["-j", c.vip] },
    { table: "filter", chain: "OUTPUT", rule: ["-j", c.vipReject] },
  ];
}

/** Mark bits the mesh uses: the sending node's offset in the ingress subnet, shifted up 16. */
export const MESH_MARK_MASK = 0xffff0000;
export const meshMark = (offset: number): number => (offset << 16) >>> 0;
const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * Rules that pick one of `targets` uniformly: the i-th of n matches with probability 1/(n-i),
 * the last always (iptables `statistic`, since IPVS is not available).
 */
export function balance(head: string, targets: readonly string[], comment: string): string[] {
  const n = targets.length;
  return targets.map((to, i) => {
    const pick = i < n - 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(8)}` : "";
    return `${head} -m comment --comment ${comment}${pick} -j DNAT --to-destination ${to}`;
  });
}

export interface NodeNetworkRules {
  bridge: string;
  subnet: string;
  internal: boolean;
  /** Ingress network only: the other nodes' bridge MACs and the marks their connections get. */
  meshPeers?: readonly { mac: string; mark: number }[];
}

export interface IngressPortRule {
  protocol: "tcp" | "udp";
  publishedPort: number;
  /** `ip:port` of every healthy task on the ingress network, anywhere in the cluster. */
  backends: readonly string[];
  service: string;
}

/** The node's overlay chains, whole, for `iptables-restore --noflush` (declaring a chain flushes it). */
export function renderNodeRules(
  c: OverlayChains,
  bridgePattern: string,
  networks: readonly NodeNetworkRules[],
  ingress: readonly IngressPortRule[],
): string {
  const sorted = [...networks].sort((a, b) => a.bridge.localeCompare(b.bridge));
  const lines = ["*mangle", `:${c.mark} - [0:0]`];
  for (const n of sorted) {
    for (const p of n.meshPeers ?? []) {
      lines.push(
        `-A ${c.mark} -i ${n.bridge} -m conntrack --ctstate NEW -m mac --mac-source ${p.mac} -j CONNMARK --set-xmark ${hex(p.mark)}/${hex(MESH_MARK_MASK)}`,
      );
    }
    if ((n.meshPeers ?? []).length > 0)
      // Replies of mesh connections take the mark back, and with it the route to the node they came from.
      lines.push(
        `-A ${c.mark} -m conntrack --ctdir REPLY -m connmark ! --mark 0x0/${hex(MESH_MARK_MASK)} -j CONNMARK --restore-mark --nfmask ${hex(MESH_MARK_MASK)} --ctmask ${hex(MESH_MARK_MASK)}`,
      );
  }
  lines.push("COMMIT", "*nat", `:${c.postrouting} - [0:0]`, `:${c.ingress} - [0:0]`);
  for (const n of sorted) {
    if (!n.internal) lines.push(`-A ${c.postrouting} -s ${n.subnet} ! -o ${n.bridge} -j MASQUERADE`);
  }
  for (const rule of [...ingress].sort((a, b) => a.publishedPort - b.publishedPort)) {
    const head = `-A ${c.ingress} -p ${rule.protocol} -m ${rule.protocol} --dport ${rule.publishedPort}`;
    lines.push(...balance(head, rule.backends, rule.service));
  }
  lines.push("COMMIT", "*filter", `:${c.forward} - [0:0]`);
  for (const n of sorted) {
    // Within the segment (bridged frames pass here too with br_netfilter).
    lines.push(`-A ${c.forward} -i ${n.bridge} -o ${n.bridge} -j ACCEPT`);
    if (n.internal) {
      lines.push(`-A ${c.forward} -i ${n.bridge} -j DROP`, `-A ${c.forward} -o ${n.bridge} -j DROP`);
      continue;
    }
    lines.push(
      // Never from one overlay network to another: that is the isolation between stacks.
      `-A ${c.forward} -i ${n.bridge} -o ${bridgePattern} -j DROP`,
      `-A ${c.forward} -i ${n.bridge} -j ACCEPT`,
      `-A ${c.forward} -o ${n.bridge} -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT`,
      `-A ${c.forward} -o ${n.bridge} -j DROP`,
    );
  }
  lines.push("COMMIT", "");
  return lines.join("\n");
}

export interface VipRule {
  vip: string;
  backends: readonly string[];
  service: string;
}

/** A container's VIP chains: any port of a VIP goes to one of its backends' addresses. */
export function renderContainerRules(c: OverlayChains, vips: readonly VipRule[]): string {
  const sorted = [...vips].sort((a, b) => a.vip.localeCompare(b.vip));
  const lines = ["*nat", `:${c.vip} - [0:0]`];
  for (const v of sorted) lines.push(...balance(`-A ${c.vip} -d ${v.vip}/32`, v.backends, v.service));
  lines.push("COMMIT", "*filter", `:${c.vipReject} - [0:0]`);
  // Only a VIP nothing was DNATed for reaches filter with its own address: refuse it at once
  // rather than let the connection hang on an address nobody answers ARP for.
  for (const v of sorted)
    if (v.backends.length === 0)
      lines.push(
        `-A ${c.vipReject} -d ${v.vip}/32 -p tcp -j REJECT --reject-with tcp-reset`,
        `-A ${c.vipReject} -d ${v.vip}/32 -j REJECT`,
      );
  lines.push("COMMIT", "");
  return lines.join("\n");
}
