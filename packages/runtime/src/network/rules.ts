import type { Lease } from "./state.js";

/** Names of the chains a node owns; every rule Shoal adds lives in one of them. */
export interface ChainNames {
  /** nat: outbound masquerade and hairpin masquerade. */
  postrouting: string;
  /** nat: DNAT of host-mode published ports; entered from PREROUTING and OUTPUT for local addresses. */
  dnat: string;
  /** filter: lets containers' own and published traffic through (even where FORWARD's policy is DROP), and nothing else in. */
  forward: string;
}

export function chainNames(prefix: string): ChainNames {
  return { postrouting: `${prefix}-POSTROUTING`, dnat: `${prefix}-DNAT`, forward: `${prefix}-FORWARD` };
}

/** The jumps from the built-in chains into ours, as `iptables` arguments after `-t table -I chain`. */
export function jumpRules(chains: ChainNames): { table: string; chain: string; rule: string[] }[] {
  return [
    { table: "nat", chain: "POSTROUTING", rule: ["-j", chains.postrouting] },
    { table: "nat", chain: "PREROUTING", rule: ["-m", "addrtype", "--dst-type", "LOCAL", "-j", chains.dnat] },
    // Locally generated traffic to the node's own addresses (not loopback: DNAT away from 127/8 would
    // need route_localnet, which opens the node's loopback to the network).
    {
      table: "nat",
      chain: "OUTPUT",
      rule: ["!", "-d", "127.0.0.0/8", "-m", "addrtype", "--dst-type", "LOCAL", "-j", chains.dnat],
    },
    { table: "filter", chain: "FORWARD", rule: ["-j", chains.forward] },
  ];
}

/**
 * The whole content of our chains for `iptables-restore --noflush`: declaring a chain there flushes
 * it, so applying this replaces our rules in one atomic step and can never pile up duplicates.
 */
export function renderRules(
  chains: ChainNames,
  bridge: string,
  subnet: string,
  leases: readonly Lease[],
): string {
  const lines = [
    "*nat",
    `:${chains.postrouting} - [0:0]`,
    `:${chains.dnat} - [0:0]`,
    `-A ${chains.postrouting} -s ${subnet} ! -o ${bridge} -j MASQUERADE`,
    // Hairpin: a container reaching a published port of its own node is DNATed back onto the bridge;
    // without masquerade the server would answer the client directly and the client would drop it.
    `-A ${chains.postrouting} -s ${subnet} -o ${bridge} -m conntrack --ctstate DNAT -j MASQUERADE`,
  ];
  const sorted = [...leases].sort((a, b) => a.containerId.localeCompare(b.containerId));
  for (const lease of sorted) {
    for (const port of lease.ports) {
      lines.push(
        `-A ${chains.dnat} -p ${port.protocol} -m ${port.protocol} --dport ${port.publishedPort} ` +
          `-m comment --comment ${lease.containerId} -j DNAT --to-destination ${lease.ip}:${port.targetPort}`,
      );
    }
  }
  lines.push(
    "COMMIT",
    "*filter",
    `:${chains.forward} - [0:0]`,
    // Out of containers (and between them, where br_netfilter sends bridged frames through here).
    `-A ${chains.forward} -i ${bridge} -j ACCEPT`,
    // Into containers only as replies or through a published port: a neighbour that routes the
    // subnet via this node must not reach ports nobody published (Docker blocks this too).
    `-A ${chains.forward} -o ${bridge} -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT`,
    `-A ${chains.forward} -o ${bridge} -j DROP`,
    "COMMIT",
    "",
  );
  return lines.join("\n");
}
