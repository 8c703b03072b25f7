// OverlayNetworks' apply with a scripted runner (no kernel): endpoints coming and going (a scale)
// sync a network's forwarding entries without re-programming its devices, and the mesh's rules
// are cleared once, not listed on every apply of a node without an ingress network.
import { silentLogger } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { OverlayNetworks } from "./overlay.js";
import type { OverlayDesired } from "./overlay-spec.js";
import type { CommandRunner } from "./runner.js";

/** Records commands; the link listings show the links of `shown()` (the state last applied). */
function recordingRunner(overlays: () => OverlayNetworks, shown: () => OverlayDesired) {
  const calls: string[] = [];
  const runner: CommandRunner = {
    async run(cmd, args) {
      calls.push(`${cmd} ${args.join(" ")}`);
      if (cmd === "ip" && (args.join(" ") === "-o -d link show" || args.join(" ") === "-o link show")) {
        const o = overlays();
        const d = shown();
        const names = [
          ...d.networks.flatMap((n) => [o.bridgeName(n.id), o.vxlanName(n.id)]),
          ...d.endpoints.flatMap((e) => e.attachments.map((a) => o.vethName(e.containerId, a.networkId))),
        ];
        const vni = d.networks[0]?.vni ?? 0;
        return {
          stdout: names.map((n, i) => `${i + 1}: ${n}: <UP> vxlan id ${vni} \n`).join(""),
          stderr: "",
        };
      }
      // The delete loops run until iptables says the rule is not there.
      return { stdout: "", stderr: "", code: cmd === "iptables" && args.includes("-D") ? 1 : 0 };
    },
  };
  return { runner, take: () => calls.splice(0) };
}

const state = (local: number, remote: number): OverlayDesired => ({
  networks: [
    {
      id: "app",
      name: "app",
      vni: 4300,
      subnet: "10.64.0.0/24",
      gateway: "10.64.0.1",
      peers: [
        {
          nodeAddr: "10.231.0.2",
          endpoints: Array.from({ length: local }, (_, i) => ({ ip: `10.64.0.${10 + i}` })),
        },
        {
          nodeAddr: "10.231.0.3",
          endpoints: Array.from({ length: remote }, (_, i) => ({ ip: `10.64.0.${20 + i}` })),
        },
      ],
    },
  ],
  endpoints: Array.from({ length: local }, (_, i) => ({
    containerId: `c${i}`,
    netns: `ns-c${i}`,
    attachments: [{ networkId: "app", ip: `10.64.0.${10 + i}`, ifname: "eth1" }],
  })),
  services: [],
});

describe("OverlayNetworks.apply", () => {
  it("a scale syncs forwarding entries and the new endpoint, not the network's devices", async () => {
    let desired = state(1, 1);
    let applied: OverlayDesired = { networks: [], endpoints: [], services: [] };
    let overlays: OverlayNetworks | undefined;
    const r = recordingRunner(
      () => overlays as OverlayNetworks,
      () => applied,
    );
    overlays = new OverlayNetworks({
      localAddr: "10.231.0.2",
      underlayMtu: 1500,
      runner: r.runner,
      logger: silentLogger(),
    });
    await overlays.apply(desired);
    applied = desired;
    const first = r.take();
    expect(first.filter((c) => c.startsWith("sysctl -q -w net.ipv4.conf."))).toHaveLength(1);
    expect(first.filter((c) => c === "ip rule show pref 17700")).toHaveLength(1);

    // A replica more on another node, and one more here.
    desired = state(2, 2);
    await overlays.apply(desired);
    applied = desired;
    const scaled = r.take();
    // No device programming, no mesh rule listing; the forwarding entries are synced.
    expect(scaled.filter((c) => c.startsWith("sysctl"))).toEqual([]);
    expect(scaled.filter((c) => c.includes(" type bridge") || c.includes(" type vxlan"))).toEqual([]);
    expect(scaled.filter((c) => c === "ip rule show pref 17700")).toEqual([]);
    expect(
      scaled.filter((c) => c.startsWith("bridge fdb show") || c.startsWith("ip neigh show")),
    ).toHaveLength(2);
    expect(scaled.filter((c) => c.includes(" type veth "))).toEqual([
      `ip link add ${overlays.vethName("c1", "app")} type veth peer name eth1 netns ns-c1`,
    ]);

    // The network's own fields change (another VNI): the devices are programmed again.
    desired = { ...state(2, 2), networks: state(2, 2).networks.map((n) => ({ ...n, vni: 4301 })) };
    await overlays.apply(desired);
    expect(r.take().filter((c) => c.startsWith("sysctl -q -w net.ipv4.conf."))).toHaveLength(1);
  });
});
