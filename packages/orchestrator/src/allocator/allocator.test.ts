import { PortProtocol, PublishMode, type Service, TaskState } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { cluster, node, service, task } from "../../test/fixtures.js";
import { OrchErrorCode } from "../errors.js";
import { newTask } from "../new-task.js";
import { isEmptyPlan } from "../plan.js";
import { viewOf } from "../view.js";
import { needsNoAllocation, trivialEndpoint } from "./allocation-free.js";
import { reconcileAllocator } from "./allocator.js";
import { allocateNodeSubnets, nodeSubnetPoolOf } from "./node-subnets.js";
import { allocateServicePorts, checkPublishedPorts } from "./ports.js";
import { NodeAddressBook } from "./task-addresses.js";

const ingress = (publishedPort: number, targetPort = 80, protocol: PortProtocol = PortProtocol.TCP) => ({
  name: "",
  targetPort,
  publishedPort,
  protocol,
  publishMode: PublishMode.INGRESS,
});
const withPorts = (
  id: string,
  ports: ReturnType<typeof ingress>[],
  allocated?: ReturnType<typeof ingress>[],
) =>
  service(
    id,
    { endpointSpec: { ports } },
    allocated === undefined
      ? {}
      : { endpoint: { spec: { mode: 0, ports }, ports: allocated, virtualIps: [] } },
  );

describe("node subnets", () => {
  const cases = [
    {
      swarm: "each node gets a /24 of the default pool 10.42.0.0/16, lowest first",
      nodes: [node("a"), node("b")],
      want: { a: "10.42.0.0/24", b: "10.42.1.0/24" },
    },
    {
      swarm: "subnets in use are skipped (a removed node's subnet is free again)",
      nodes: [node("a", { subnet: "10.42.1.0/24" }), node("b")],
      want: { b: "10.42.0.0/24" },
    },
    {
      swarm: "the cluster's pool and subnet size apply",
      nodes: [node("a"), node("b")],
      cluster: cluster({ allocator: { nodeSubnetPool: "172.30.0.0/16", subnetSize: 26 } }),
      want: { a: "172.30.0.0/26", b: "172.30.0.64/26" },
    },
  ];
  it.each(cases)("$swarm", (c) => {
    const plan = allocateNodeSubnets(viewOf({ nodes: c.nodes, cluster: c.cluster }));
    expect(Object.fromEntries(plan.updateNodes.map((u) => [u.object.id, u.object.containerSubnet]))).toEqual(
      c.want,
    );
  });

  it("an exhausted pool leaves the node without a subnet and says so", () => {
    const plan = allocateNodeSubnets(
      viewOf({
        nodes: [node("a", { subnet: "10.9.0.0/25" }), node("b")],
        cluster: cluster({ allocator: { nodeSubnetPool: "10.9.0.0/25", subnetSize: 25 } }),
      }),
    );
    expect(plan.updateNodes).toEqual([]);
    expect(plan.notes[0]).toMatch(/node subnet pool "10.9.0.0\/25" is exhausted/);
  });

  it("a pool that is not a CIDR is an error naming it", () => {
    expect(() =>
      nodeSubnetPoolOf(viewOf({ cluster: cluster({ allocator: { nodeSubnetPool: "10.42.0.1/16" } }) })),
    ).toThrow(
      expect.objectContaining({
        code: OrchErrorCode.InvalidSubnetPool,
        message: expect.stringContaining('"10.42.0.1/16"'),
      }),
    );
  });
});

describe("task addresses", () => {
  it("skip the network, gateway (.1) and broadcast addresses and never hand out one held", () => {
    const view = viewOf({
      nodes: [node("n1", { subnet: "10.42.0.0/30" }), node("n2", { subnet: "10.42.1.0/29" })],
      tasks: [task("held", { node: "n2", address: "10.42.1.2/29" })],
    });
    const book = new NodeAddressBook(view);
    expect(book.allocate("n1")).toBe("10.42.0.2/30");
    expect(book.allocate("n1")).toBeUndefined();
    expect(book.allocate("n2")).toBe("10.42.1.3/29");
  });

  it("an ended task's address is free again", () => {
    const view = viewOf({
      nodes: [node("n1", { subnet: "10.42.0.0/24" })],
      tasks: [task("gone", { node: "n1", address: "10.42.0.2/24", state: TaskState.FAILED })],
    });
    expect(new NodeAddressBook(view).allocate("n1")).toBe("10.42.0.2/24");
  });
});

describe("published ports", () => {
  it("ingress ports without a number get the lowest free one from 30000 (Swarm's dynamic range)", () => {
    const r = allocateServicePorts(withPorts("s2", [ingress(0), ingress(0, 81)]), [
      withPorts("s1", [ingress(0)], [ingress(30000)]),
    ]);
    expect(r.kind === "allocated" && r.endpoint.ports.map((p) => p.publishedPort)).toEqual([30001, 30002]);
  });

  it("a dynamic port keeps the number it had when the spec changes elsewhere", () => {
    const s = withPorts("s1", [ingress(0), ingress(8080, 81)], [ingress(30123)]);
    const r = allocateServicePorts(s, [s]);
    expect(r.kind === "allocated" && r.endpoint.ports.map((p) => p.publishedPort)).toEqual([30123, 8080]);
  });

  it("the same number over another protocol is no conflict", () => {
    const r = allocateServicePorts(withPorts("s2", [ingress(53, 53, PortProtocol.UDP)]), [
      withPorts("s1", [ingress(53, 53)]),
    ]);
    expect(r.kind).toBe("allocated");
  });

  it("a published port another service holds is refused, naming that service", () => {
    const other = withPorts("s1", [ingress(8080)], [ingress(8080)]);
    const error = checkPublishedPorts(
      withPorts("s2", [ingress(8080)]).spec ?? ({ name: "" } as never),
      "s2",
      [other],
    );
    expect(error?.code).toBe(OrchErrorCode.PublishedPortInUse);
    expect(error?.message).toBe('published port 8080/tcp is already in use by service "s1"');
    expect(allocateServicePorts(withPorts("s2", [ingress(8080)]), [other]).kind).toBe("refused");
  });

  it("a service may keep its own port on update", () => {
    const s = withPorts("s1", [ingress(8080)], [ingress(8080)]);
    expect(checkPublishedPorts(s.spec ?? ({} as never), "s1", [s])).toBeUndefined();
  });
});

describe("reconcileAllocator (NEW → PENDING)", () => {
  it("moves NEW tasks of an allocated service to PENDING with the service's endpoint", () => {
    const s = withPorts("s1", [ingress(0)]);
    const plan = reconcileAllocator(
      viewOf({ services: [s], tasks: [task("t", { state: TaskState.NEW, slot: 1 })] }),
      { nowMs: 5 },
    );
    expect(plan.updateServices[0]?.object.endpoint?.ports[0]?.publishedPort).toBe(30000);
    const t = plan.updateTasks[0]?.object;
    expect(t?.status?.state).toBe(TaskState.PENDING);
    expect(t?.endpoint?.ports[0]?.publishedPort).toBe(30000);
  });

  it("keeps tasks NEW with the refusal in their status while the ports are refused, written once", () => {
    const holder = withPorts("s0", [ingress(8080)], [ingress(8080)]);
    const s = withPorts("s1", [ingress(8080)]);
    const plan = reconcileAllocator(
      viewOf({ services: [holder, s], tasks: [task("t", { service: "s1", state: TaskState.NEW })] }),
      { nowMs: 5 },
    );
    const t = plan.updateTasks[0]?.object;
    expect(t?.status?.state).toBe(TaskState.NEW);
    expect(t?.status?.message).toMatch(/in use by service "s0"/);
    const again = reconcileAllocator(viewOf({ services: [holder, s], tasks: t === undefined ? [] : [t] }), {
      nowMs: 6,
    });
    expect(again.updateTasks).toEqual([]);
  });

  it("leaves tasks that are no longer wanted alone", () => {
    const plan = reconcileAllocator(
      viewOf({
        services: [service("s1")],
        tasks: [task("t", { state: TaskState.NEW, desired: TaskState.SHUTDOWN })],
      }),
      { nowMs: 5 },
    );
    expect(plan.updateTasks).toEqual([]);
  });
});

describe("tasks that need no allocation", () => {
  const args = {
    id: "t1",
    nowMs: 5,
    slot: 1,
    nodeId: "",
    desiredState: TaskState.RUNNING,
    restartAtMs: 5,
    restartHistoryMs: [],
  };
  const onNetwork = service("s", { taskTemplate: { networks: [{ target: "backend", aliases: [] }] } });
  const cases: { swarm: string; svc: Service; want: TaskState }[] = [
    {
      swarm: "Swarm creates every task NEW for the allocator; one with nothing to allocate starts PENDING",
      svc: service("s", {}, { endpoint: trivialEndpoint(service("s")) }),
      want: TaskState.PENDING,
    },
    {
      swarm: "a service whose endpoint the allocator has not given yet: NEW",
      svc: service("s"),
      want: TaskState.NEW,
    },
    {
      swarm: "a service publishing an ingress port (the ingress network gives an address): NEW",
      svc: withPorts("s", [ingress(8080)], [ingress(8080)]),
      want: TaskState.NEW,
    },
    {
      swarm: "a service on an overlay network (an address per network): NEW",
      svc: { ...onNetwork, endpoint: { spec: { mode: 0, ports: [] }, ports: [], virtualIps: [] } },
      want: TaskState.NEW,
    },
    {
      swarm: "a service that left its network keeps a VIP to give back: NEW",
      svc: service(
        "s",
        {},
        {
          endpoint: {
            spec: { mode: 0, ports: [] },
            ports: [],
            virtualIps: [{ networkId: "n", addr: "10.0.0.2/24" }],
          },
        },
      ),
      want: TaskState.NEW,
    },
  ];
  it.each(cases)("$swarm", (c) => {
    const t = newTask(c.svc, args);
    expect(t.status?.state).toBe(c.want);
    expect(needsNoAllocation(c.svc)).toBe(c.want === TaskState.PENDING);
    if (c.want === TaskState.PENDING) {
      expect(t.endpoint).toEqual(c.svc.endpoint);
      // The allocator's pass has nothing left to do for it.
      const plan = reconcileAllocator(viewOf({ services: [c.svc], tasks: [t] }), { nowMs: 6 });
      expect(isEmptyPlan(plan)).toBe(true);
    }
  });

  it("the control API's endpoint is the allocator's for a service with nothing to publish", () => {
    const s = service("s");
    const plan = reconcileAllocator(viewOf({ services: [s] }), { nowMs: 1 });
    expect(plan.updateServices.map((c) => c.object.endpoint)).toEqual([trivialEndpoint(s)]);
    expect(trivialEndpoint(withPorts("p", [ingress(0)]))).toBeUndefined();
    expect(trivialEndpoint(onNetwork)).toBeUndefined();
  });
});
