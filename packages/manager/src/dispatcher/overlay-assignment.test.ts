// The overlay state each node gets, from one store view: only the networks its tasks are on,
// peers with their underlay address and task addresses, VIPs and healthy backends, the mesh on
// every node once a port is published, and a node that went down taken out everywhere.
import { silentLogger } from "@shoal/base";
import {
  Network,
  Node,
  NodeOverlay,
  NodeState,
  PortProtocol,
  PublishMode,
  Service,
  Task,
  TaskState,
} from "@shoal/proto";
import { Store } from "@shoal/store";
import { describe, expect, it } from "vitest";
import { OverlayCatalog, OverlayCatalogCache, overlayOf } from "./overlay-assignment.js";

const STACK = "com.docker.stack.namespace";
const net = (id: string, subnet: string, ingress = false) =>
  Network.fromPartial({
    id,
    spec: { name: id === "ing" ? "ingress" : `app_${id}`, ingress },
    driverState: {
      name: "overlay",
      options: { vni: id === "front" ? "4096" : id === "back" ? "4097" : "4098" },
    },
    ipam: { configs: [{ subnet, gateway: subnet.replace(/0\/24$/, "1") }] },
  });
const node = (id: string, addr: string, ingressAddress: string, state = NodeState.READY) =>
  Node.fromPartial({ id, spec: { name: id }, status: { state, addr }, ingressAddress });
const svc = (id: string, vips: [string, string][], ports = false) =>
  Service.fromPartial({
    id,
    spec: { name: `app_${id}`, labels: { [STACK]: "app" } },
    endpoint: {
      virtualIps: vips.map(([networkId, addr]) => ({ networkId, addr })),
      ports: ports
        ? [
            {
              protocol: PortProtocol.TCP,
              targetPort: 80,
              publishedPort: 8080,
              publishMode: PublishMode.INGRESS,
            },
          ]
        : [],
    },
  });
const task = (id: string, serviceId: string, nodeId: string, nets: [string, string][], health = "") =>
  Task.fromPartial({
    id,
    serviceId,
    nodeId,
    desiredState: TaskState.RUNNING,
    status: { state: TaskState.RUNNING, containerStatus: { health } },
    networks: nets.map(([networkId, addr]) => ({ networkId, addresses: [addr] })),
  });

async function store(extra: (s: Store) => Promise<void> = async () => {}): Promise<Store> {
  const s = new Store({ logger: silentLogger() });
  await s.update((tx) => {
    for (const n of [
      net("front", "10.0.1.0/24"),
      net("back", "10.0.2.0/24"),
      net("ing", "10.0.0.0/24", true),
    ])
      tx.networks.create(n);
    tx.nodes.create(node("a", "10.231.0.2", "10.0.0.2/24"));
    tx.nodes.create(node("b", "10.231.0.3", "10.0.0.3/24"));
    tx.nodes.create(node("c", "10.231.0.4", "10.0.0.4/24"));
    tx.services.create(svc("web", [["front", "10.0.1.2/24"]]));
    tx.services.create(
      svc("api", [
        ["front", "10.0.1.3/24"],
        ["back", "10.0.2.2/24"],
      ]),
    );
    tx.services.create(svc("db", [["back", "10.0.2.3/24"]]));
    tx.tasks.create(task("w1", "web", "a", [["front", "10.0.1.10/24"]]));
    tx.tasks.create(
      task("a1", "api", "b", [
        ["front", "10.0.1.11/24"],
        ["back", "10.0.2.10/24"],
      ]),
    );
    tx.tasks.create(
      task(
        "a2",
        "api",
        "c",
        [
          ["front", "10.0.1.12/24"],
          ["back", "10.0.2.11/24"],
        ],
        "unhealthy",
      ),
    );
    tx.tasks.create(task("d1", "db", "c", [["back", "10.0.2.12/24"]]));
  });
  await extra(s);
  return s;
}

describe("a node's overlay state", () => {
  it("holds only the networks its tasks are on, with every peer and the services on them", async () => {
    const s = await store();
    const a = s.view((tx) => overlayOf(tx, "a"));
    expect(a?.networks.map((n) => [n.name, n.vni, n.subnet, n.gateway])).toEqual([
      ["app_front", 4096, "10.0.1.0/24", "10.0.1.1"],
    ]);
    expect(a?.networks[0]?.peers.map((p) => [p.nodeAddr, p.endpointIps])).toEqual([
      ["10.231.0.2", ["10.0.1.10"]],
      ["10.231.0.3", ["10.0.1.11"]],
      ["10.231.0.4", ["10.0.1.12"]],
    ]);
    // db is on back only: the front's node does not learn of it.
    expect(a?.services.map((x) => [x.name, x.stack, x.vips.map((v) => v.addr)])).toEqual([
      ["api", "app", ["10.0.1.3"]],
      ["web", "app", ["10.0.1.2"]],
    ]);
    const api = a?.services.find((x) => x.id === "api");
    expect(api?.tasks.map((t) => [t.id, t.healthy, t.addresses.map((x) => x.addr)])).toEqual([
      ["a1", true, ["10.0.1.11"]],
      ["a2", false, ["10.0.1.12"]],
    ]);
    const c = s.view((tx) => overlayOf(tx, "c"));
    expect(c?.networks.map((n) => n.name)).toEqual(["app_back", "app_front"]);
  });

  it("a node that is down leaves every other node's state", async () => {
    const s = await store((st) =>
      st
        .update((tx) => {
          const b = tx.nodes.get("b") as Node;
          tx.nodes.update({ ...b, status: { state: NodeState.DOWN, message: "", addr: "10.231.0.3" } });
        })
        .then(() => undefined),
    );
    const a = s.view((tx) => overlayOf(tx, "a"));
    expect(a?.networks[0]?.peers.map((p) => p.nodeAddr)).toEqual(["10.231.0.2", "10.231.0.4"]);
    expect(a?.services.find((x) => x.id === "api")?.tasks.map((t) => t.id)).toEqual(["a2"]);
    expect(s.view((tx) => overlayOf(tx, "b"))).toBeUndefined();
  });

  it("a published port brings the ingress network, with every node's mesh address, to all nodes", async () => {
    const s = await store((st) =>
      st
        .update((tx) => {
          tx.services.create(svc("edge", [["ing", "10.0.0.5/24"]], true));
          tx.tasks.create(task("e1", "edge", "c", [["ing", "10.0.0.6/24"]]));
        })
        .then(() => undefined),
    );
    const a = s.view((tx) => overlayOf(tx, "a"));
    const ingress = a?.networks.find((n) => n.ingress);
    expect(ingress?.peers.map((p) => [p.nodeIp, p.endpointIps])).toEqual([
      ["10.0.0.2", []],
      ["10.0.0.3", []],
      ["10.0.0.4", ["10.0.0.6"]],
    ]);
    expect(a?.services.find((x) => x.id === "edge")?.ingressPorts).toEqual([
      { protocol: "tcp", targetPort: 80, publishedPort: 8080 },
    ]);
  });
});

describe("the shared overlay catalog", () => {
  it("gives every node what a catalog of its own gives, building once per store index", async () => {
    const s = await store();
    const cache = new OverlayCatalogCache();
    const encode = (o: NodeOverlay | undefined) =>
      o === undefined ? undefined : Buffer.from(NodeOverlay.encode(o).finish()).toString("hex");
    for (const id of ["a", "b", "c", "gone"]) {
      const shared = s.view((tx) => overlayOf(tx, id, cache.at(tx, s.applied)));
      expect(encode(shared), `node ${id}`).toEqual(encode(s.view((tx) => overlayOf(tx, id))));
    }
    expect(cache.built).toBe(1);
    await s.update((tx) => tx.tasks.delete("d1"));
    s.view((tx) => cache.at(tx, s.applied));
    expect(cache.built).toBe(2);
  });

  it("keys differ exactly when the node's state does: a change on back leaves front's node alone", async () => {
    const s = await store();
    const keyed = () =>
      s.view((tx) => {
        const catalog = new OverlayCatalog(tx);
        return new Map(["a", "b", "c"].map((id) => [id, catalog.forNode(tx, id)]));
      });
    const before = keyed();
    await s.update((tx) => {
      const d1 = tx.tasks.get("d1") as Task;
      const status = {
        ...d1.status,
        containerStatus: { ...d1.status?.containerStatus, health: "unhealthy" },
      };
      tx.tasks.update(Task.fromPartial({ ...d1, status }));
    });
    const after = keyed();
    // a holds front only; b and c hold back, where db's task became unhealthy.
    expect(after.get("a")?.key).toBe(before.get("a")?.key);
    expect(after.get("a")?.overlay).toEqual(before.get("a")?.overlay);
    for (const id of ["b", "c"]) {
      expect(after.get(id)?.key, id).not.toBe(before.get(id)?.key);
      expect(after.get(id)?.overlay, id).not.toEqual(before.get(id)?.overlay);
    }
    // Same state, same key: a catalog of another view at the same index agrees.
    expect(keyed().get("c")?.key).toBe(after.get("c")?.key);
  });

  it("a task attached twice to one network is one endpoint, as before", async () => {
    const s = await store((st) =>
      st
        .update((tx) => {
          tx.tasks.create(
            task("w2", "web", "b", [
              ["front", "10.0.1.20/24"],
              ["front", "10.0.1.20/24"],
            ]),
          );
        })
        .then(() => undefined),
    );
    const a = s.view((tx) => overlayOf(tx, "a"));
    const b = a?.networks[0]?.peers.find((p) => p.nodeId === "b");
    expect(b?.endpointIps).toEqual(["10.0.1.11", "10.0.1.20"]);
  });
});
