import { ShoalError } from "@shoal/base";
import { EndpointMode, Network, NetworkSpec, TaskState } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { cluster, NOW, node, service, task } from "../../test/fixtures.js";
import { OrchErrorCode } from "../errors.js";
import { viewOf } from "../view.js";
import { reconcileAllocator } from "./allocator.js";
import { NetworkAddressBook } from "./network-addresses.js";
import { allocateNetwork, allocationOf, withAllocation } from "./networks.js";

const spec = (name: string, subnet = "", o: Partial<NetworkSpec> = {}) =>
  NetworkSpec.fromPartial({ name, ipam: subnet === "" ? undefined : { configs: [{ subnet }] }, ...o });

/** Networks created one after another, as the control API does. */
function create(specs: NetworkSpec[]): Network[] {
  const out: Network[] = [];
  for (const [i, s] of specs.entries())
    out.push(
      withAllocation(Network.fromPartial({ id: `n${i}`, spec: s }), allocateNetwork(s, out, undefined)),
    );
  return out;
}

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof ShoalError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return "accepted";
}

describe("network allocation at create", () => {
  it("gives the lowest free /24 of 10.0.0.0/8, gateway .1 and VNIs from 4096", () => {
    const [a, b, c] = create([spec("a"), spec("b", "10.0.1.0/24"), spec("c")]);
    expect([a, b, c].map((n) => allocationOf(n as Network))).toMatchObject([
      { subnet: { cidr: "10.0.0.0/24" }, gateway: "10.0.0.1", vni: 4096 },
      { subnet: { cidr: "10.0.1.0/24" }, gateway: "10.0.1.1", vni: 4097 },
      { subnet: { cidr: "10.0.2.0/24" }, gateway: "10.0.2.1", vni: 4098 },
    ]);
  });

  it("skips the node subnet pool", () => {
    const taken = create([spec("x", "10.41.255.0/24")]);
    const a = allocateNetwork(spec("y", "10.43.0.0/24"), taken, undefined);
    expect(a.subnet.cidr).toBe("10.43.0.0/24");
    expect(refusal(() => allocateNetwork(spec("z", "10.42.7.0/24"), taken, undefined))).toBe(
      `${OrchErrorCode.NetworkSubnetOverlap}: network "z": subnet 10.42.7.0/24 overlaps the node subnet pool 10.42.0.0/16`,
    );
  });

  it.each([
    [
      "a name in use",
      spec("a"),
      `${OrchErrorCode.NetworkNameInUse}: network name "a" is in use by network n0`,
    ],
    [
      "an overlapping subnet",
      spec("b", "10.0.0.128/25"),
      `${OrchErrorCode.NetworkSubnetOverlap}: network "b": subnet 10.0.0.128/25 overlaps subnet 10.0.0.0/24 of network "a"`,
    ],
    [
      "a subnet outside the pool",
      spec("c", "192.168.5.0/24"),
      `${OrchErrorCode.NetworkSubnetOutsidePool}: network "c": subnet 192.168.5.0/24 is outside the cluster's address pool 10.0.0.0/8`,
    ],
  ])("refuses %s with a clear message", (_what, s, want) => {
    const existing = create([spec("a")]);
    expect(refusal(() => allocateNetwork(s, existing, undefined))).toBe(want);
  });

  it("uses the cluster's pool and says when it is exhausted", () => {
    const c = cluster({ allocator: { defaultAddressPool: ["172.20.0.0/23"], subnetSize: 24 } });
    const existing: Network[] = [];
    for (const name of ["a", "b"])
      existing.push(
        withAllocation(
          Network.fromPartial({ id: name, spec: spec(name) }),
          allocateNetwork(spec(name), existing, c),
        ),
      );
    expect(existing.map((n) => n.ipam?.configs[0]?.subnet)).toEqual(["172.20.0.0/24", "172.20.1.0/24"]);
    expect(refusal(() => allocateNetwork(spec("c"), existing, c))).toMatch(
      OrchErrorCode.NetworkPoolExhausted,
    );
  });
});

describe("allocator pass on overlay networks", () => {
  const [front, back, ingress] = create([
    spec("app_front"),
    spec("app_back"),
    spec("ingress", "", { ingress: true }),
  ]);
  const nets = [front, back, ingress] as Network[];
  const web = service("web", {
    taskTemplate: { networks: [{ target: "app_front", aliases: ["web"] }, { target: (back as Network).id }] },
    endpointSpec: { ports: [{ targetPort: 80, publishedPort: 8080 }] },
  });

  it("gives VIPs per network, task addresses per network and node ingress addresses", () => {
    const view = viewOf({
      nodes: [node("a", { subnet: "10.42.0.0/24" })],
      services: [web],
      tasks: [
        task("t1", { service: "web", state: TaskState.NEW }),
        task("t2", { service: "web", state: TaskState.NEW }),
      ],
      networks: nets,
    });
    const plan = reconcileAllocator(view, { nowMs: NOW });
    expect(plan.updateNodes.map((c) => c.object.ingressAddress)).toEqual(["10.0.2.2/24"]);
    const svc = plan.updateServices[0]?.object;
    expect(svc?.endpoint?.virtualIps).toEqual([
      { networkId: "n0", addr: "10.0.0.2/24" },
      { networkId: "n1", addr: "10.0.1.2/24" },
      { networkId: "n2", addr: "10.0.2.3/24" },
    ]);
    const t1 = plan.updateTasks.find((c) => c.object.id === "t1")?.object;
    expect(t1?.status?.state).toBe(TaskState.PENDING);
    expect(t1?.networks).toEqual([
      { networkId: "n0", addresses: ["10.0.0.3/24"], aliases: ["web"] },
      { networkId: "n1", addresses: ["10.0.1.3/24"], aliases: [] },
      { networkId: "n2", addresses: ["10.0.2.4/24"], aliases: [] },
    ]);
    expect(t1?.endpoint?.virtualIps).toHaveLength(3);
    const t2 = plan.updateTasks.find((c) => c.object.id === "t2")?.object;
    expect(t2?.networks.map((a) => a.addresses[0])).toEqual(["10.0.0.4/24", "10.0.1.4/24", "10.0.2.5/24"]);
  });

  it("a new leader's book holds what the store holds, and an ended task's address is free again", () => {
    const running = {
      ...task("t1", { service: "web", state: TaskState.RUNNING, node: "a" }),
      networks: [{ networkId: "n0", addresses: ["10.0.0.3/24"], aliases: [] }],
    };
    const ended = {
      ...task("t0", { service: "web", state: TaskState.FAILED, node: "a" }),
      networks: [{ networkId: "n0", addresses: ["10.0.0.4/24"], aliases: [] }],
    };
    const withVip = {
      ...web,
      endpoint: { spec: undefined, ports: [], virtualIps: [{ networkId: "n0", addr: "10.0.0.2/24" }] },
    };
    const book = new NetworkAddressBook(
      viewOf({ services: [withVip], tasks: [running, ended], networks: nets }),
    );
    expect(book.allocate("n0")).toBe("10.0.0.4/24");
    expect(book.allocate("n0")).toBe("10.0.0.5/24");
  });

  it("with a scoped view, addresses of tasks outside the scope (networkTasks) are held too", () => {
    const elsewhere = {
      ...task("o1", { service: "other", state: TaskState.RUNNING, node: "a" }),
      networks: [{ networkId: "n0", addresses: ["10.0.0.2/24"], aliases: [] }],
    };
    const view = { ...viewOf({ networks: nets }), networkTasks: new Map([["o1", elsewhere]]) };
    expect(new NetworkAddressBook(view).allocate("n0")).toBe("10.0.0.3/24");
  });

  it("a task waits, with the reason, while its network does not exist; dnsrr gets no VIP", () => {
    const lost = service("lost", { taskTemplate: { networks: [{ target: "nowhere" }] } });
    const rr = service("rr", {
      taskTemplate: { networks: [{ target: "app_front" }] },
      endpointSpec: { mode: EndpointMode.DNSRR },
    });
    const plan = reconcileAllocator(
      viewOf({
        services: [lost, rr],
        tasks: [
          task("t1", { service: "lost", state: TaskState.NEW }),
          task("t2", { service: "rr", state: TaskState.NEW }),
        ],
        networks: nets,
      }),
      { nowMs: NOW },
    );
    const t1 = plan.updateTasks.find((c) => c.object.id === "t1")?.object;
    expect([t1?.status?.state, t1?.status?.message]).toEqual([TaskState.NEW, 'network "nowhere" not found']);
    expect(plan.updateServices.find((c) => c.object.id === "rr")?.object.endpoint?.virtualIps ?? []).toEqual(
      [],
    );
    const t2 = plan.updateTasks.find((c) => c.object.id === "t2")?.object;
    expect(t2?.networks[0]?.addresses).toEqual(["10.0.0.2/24"]);
  });
});
