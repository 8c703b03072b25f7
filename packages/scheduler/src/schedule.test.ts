import { describe, expect, it } from "vitest";
import { CPU, countByNode, GiB, group, input, node, nodes, placed } from "../test/fixtures.js";
import { schedule } from "./schedule.js";
import type { ScheduleInput } from "./types.js";

const run = (i: ScheduleInput, seed = 1, strategy: "spread" | "binpack" = "spread") =>
  schedule(i, { random: seed, strategy });

describe("filters", () => {
  it("only ready and active nodes get tasks", () => {
    const r = run(
      input({
        nodes: [
          node("down", { state: "down" }),
          node("drain", { availability: "drain" }),
          node("pause", { availability: "pause" }),
          node("disc", { state: "disconnected" }),
          node("ok"),
        ],
        pending: [group("web", 3)],
      }),
    );
    expect(r.assignments.map((a) => a.nodeId)).toEqual(["ok", "ok", "ok"]);
    expect(r.unplaced).toEqual([]);
  });

  it("counts reservations of active tasks against capacity, ignoring finished ones", () => {
    const r = run(
      input({
        nodes: [node("a", { resources: { nanoCpus: 4 * CPU, memoryBytes: 4 * GiB } })],
        placedTasks: [
          placed("t1", "a", "db", { reservations: { nanoCpus: 0, memoryBytes: 2 * GiB } }),
          placed("t2", "a", "db", {
            reservations: { nanoCpus: 0, memoryBytes: 2 * GiB },
            observedState: "failed",
            desiredState: "shutdown",
          }),
          // Told to stop but still running: still holds its memory.
          placed("t3", "a", "db", {
            reservations: { nanoCpus: 0, memoryBytes: 1 * GiB },
            desiredState: "shutdown",
          }),
        ],
        pending: [group("web", 3, { reservations: { nanoCpus: 0, memoryBytes: 0.5 * GiB } })],
      }),
    );
    expect(r.assignments).toHaveLength(2);
    expect(r.unplaced).toHaveLength(1);
    expect(r.unplaced[0]?.message).toBe("no suitable node (insufficient memory on 1 node)");
    expect(r.unplaced[0]?.taskIds).toEqual(["web.2"]);
  });

  it("breaks resources down into CPU, memory, and both", () => {
    const r = run(
      input({
        nodes: [
          node("m1", { resources: { nanoCpus: 8 * CPU, memoryBytes: 1 * GiB } }),
          node("m2", { resources: { nanoCpus: 8 * CPU, memoryBytes: 1 * GiB } }),
          node("c1", { resources: { nanoCpus: 1 * CPU, memoryBytes: 8 * GiB } }),
          node("b1", { resources: { nanoCpus: 1 * CPU, memoryBytes: 1 * GiB } }),
          node("x1", { resources: { nanoCpus: 8 * CPU, memoryBytes: 8 * GiB }, labels: { zone: "b" } }),
        ],
        pending: [
          group("big", 1, {
            reservations: { nanoCpus: 2 * CPU, memoryBytes: 2 * GiB },
            constraints: ["node.labels.zone == a"],
          }),
        ],
      }),
    );
    expect(r.assignments).toEqual([]);
    expect(r.unplaced[0]?.message).toBe(
      "no suitable node (insufficient memory on 2 nodes; insufficient CPU and memory on 1 node; insufficient CPU on 1 node; scheduling constraints not satisfied on 1 node)",
    );
    expect(r.unplaced[0]?.rejections).toEqual([
      { reason: "insufficient-memory", nodes: 2 },
      { reason: "insufficient-cpu-and-memory", nodes: 1 },
      { reason: "insufficient-cpu", nodes: 1 },
      { reason: "constraints", nodes: 1 },
    ]);
  });

  it("explains with the most frequent rejection first, as in the issue's example", () => {
    const r = run(
      input({
        nodes: [
          node("a", { resources: { nanoCpus: 4 * CPU, memoryBytes: GiB } }),
          node("b", { resources: { nanoCpus: 4 * CPU, memoryBytes: GiB } }),
          node("c", { role: "manager" }),
          node("d", { state: "down" }),
          node("e", { state: "down" }),
          node("f", { state: "down" }),
        ],
        pending: [
          group("web", 1, {
            reservations: { nanoCpus: 0, memoryBytes: 2 * GiB },
            constraints: ["node.role == worker"],
          }),
        ],
      }),
    );
    expect(r.unplaced[0]?.message).toBe(
      "no suitable node (3 nodes not available for new tasks; insufficient memory on 2 nodes; scheduling constraints not satisfied on 1 node)",
    );
  });

  it("says so when the cluster has no nodes", () => {
    const r = run(input({ pending: [group("web", 2)] }));
    expect(r.unplaced[0]?.message).toBe("no suitable node (no nodes in the cluster)");
    expect(r.unplaced[0]?.taskIds).toEqual(["web.0", "web.1"]);
  });

  it("applies constraints", () => {
    const r = run(
      input({
        nodes: [node("a", { labels: { zone: "eu" } }), node("b", { labels: { zone: "us" } }), node("c")],
        pending: [group("web", 4, { constraints: ["node.labels.zone == EU"] })],
      }),
    );
    expect([...countByNode(r.assignments)]).toEqual([["a", 4]]);
  });

  it("matches platforms with architecture aliases", () => {
    const r = run(
      input({
        nodes: [
          node("x86", { platform: { os: "linux", architecture: "x86_64" } }),
          node("arm", { platform: { os: "linux", architecture: "aarch64" } }),
          node("win", { platform: { os: "windows", architecture: "amd64" } }),
        ],
        pending: [
          group("amd", 2, { platforms: [{ os: "linux", architecture: "amd64" }] }),
          group("arm", 2, { platforms: [{ os: "Linux", architecture: "arm64" }] }),
          group("any-linux", 1, { platforms: [{ os: "linux", architecture: "" }] }),
          group("ppc", 1, { platforms: [{ os: "linux", architecture: "ppc64le" }] }),
        ],
      }),
    );
    const byService = (s: string) => r.assignments.filter((a) => a.serviceId === s).map((a) => a.nodeId);
    expect(byService("amd")).toEqual(["x86", "x86"]);
    expect(byService("arm")).toEqual(["arm", "arm"]);
    expect(["x86", "arm"]).toContain(byService("any-linux")[0]);
    expect(r.unplaced.map((u) => u.message)).toEqual(["no suitable node (unsupported platform on 3 nodes)"]);
  });

  it("refuses nodes where a host-mode port is in use, and puts one task per node", () => {
    const port = { publishedPort: 8080, protocol: "tcp" as const };
    const r = run(
      input({
        nodes: nodes(4),
        placedTasks: [
          placed("old", "n0", "other", { hostPorts: [port] }),
          // Same number, other protocol: no conflict.
          placed("udp", "n1", "other", { hostPorts: [{ publishedPort: 8080, protocol: "udp" }] }),
          // Finished task: its port is free again.
          placed("gone", "n2", "other", {
            hostPorts: [port],
            observedState: "complete",
            desiredState: "shutdown",
          }),
        ],
        pending: [group("web", 5, { hostPorts: [port] })],
      }),
    );
    expect([...countByNode(r.assignments).keys()].sort()).toEqual(["n1", "n2", "n3"]);
    expect(r.unplaced[0]?.message).toBe("no suitable node (host-mode port already in use on 4 nodes)");
    expect(r.unplaced[0]?.taskIds).toHaveLength(2);
  });

  it("respects max replicas per node, counting the service's running tasks", () => {
    const r = run(
      input({
        nodes: nodes(3),
        placedTasks: [placed("w0", "n0", "web"), placed("w1", "n0", "web")],
        pending: [group("web", 5, { maxReplicasPerNode: 2, specVersion: "2" })],
      }),
    );
    expect(Object.fromEntries(countByNode(r.assignments))).toEqual({ n1: 2, n2: 2 });
    expect(r.unplaced[0]?.message).toBe(
      "no suitable node (max replicas per node limit (2) reached on 3 nodes)",
    );
  });

  it("leaves a group with an invalid constraint unplaced with the parse error", () => {
    const r = run(
      input({ nodes: nodes(2), pending: [group("web", 1, { constraints: ["node.colour == red"] })] }),
    );
    expect(r.assignments).toEqual([]);
    expect(r.unplaced[0]?.message).toBe(
      'invalid placement: constraint "node.colour == red" has an unknown key "node.colour"',
    );
  });
});

describe("global tasks", () => {
  it("are checked on their node, never moved", () => {
    const g = group("agent", 0, {
      tasks: [
        { id: "g0", nodeId: "a" },
        { id: "g1", nodeId: "b" },
        { id: "g2", nodeId: "c" },
        { id: "g3", nodeId: "gone" },
      ],
      reservations: { nanoCpus: 0, memoryBytes: 4 * GiB },
      constraints: ["node.role == worker"],
    });
    const r = run(
      input({
        nodes: [
          node("a"),
          node("b", { role: "manager" }),
          node("c", { resources: { nanoCpus: CPU, memoryBytes: GiB } }),
        ],
        pending: [g],
      }),
    );
    expect(r.assignments).toEqual([{ taskId: "g0", nodeId: "a", serviceId: "agent" }]);
    expect(r.unplaced.map((u) => [u.taskIds, u.message])).toEqual([
      [["g1"], "no suitable node (scheduling constraints not satisfied on 1 node)"],
      [["g2"], "no suitable node (insufficient memory on 1 node)"],
      [["g3"], "no suitable node (1 node not available for new tasks)"],
    ]);
  });

  it("count toward preference groups for the free tasks of the same group", () => {
    const ns = [node("a0", { labels: { zone: "a" } }), node("b0", { labels: { zone: "b" } })];
    const g = group("web", 0, {
      tasks: [{ id: "pinned", nodeId: "a0" }, { id: "free" }],
      preferences: [{ spreadDescriptor: "node.labels.zone" }],
    });
    const r = run(input({ nodes: ns, pending: [g] }));
    expect(r.assignments.map((a) => `${a.taskId}@${a.nodeId}`)).toEqual(["pinned@a0", "free@b0"]);
  });

  it("take their resources before replicated groups that come later", () => {
    const r = run(
      input({
        nodes: [node("a", { resources: { nanoCpus: CPU, memoryBytes: 2 * GiB } })],
        pending: [
          group("agent", 0, {
            tasks: [{ id: "g0", nodeId: "a" }],
            reservations: { nanoCpus: 0, memoryBytes: GiB },
          }),
          group("web", 2, { reservations: { nanoCpus: 0, memoryBytes: GiB } }),
        ],
      }),
    );
    expect(r.assignments.map((a) => a.taskId)).toEqual(["g0", "web.0"]);
    expect(r.unplaced[0]?.taskIds).toEqual(["web.1"]);
  });
});

describe("ranking", () => {
  it("spreads a service evenly, filling emptier nodes first", () => {
    const r = run(
      input({
        nodes: nodes(3),
        placedTasks: [placed("w0", "n0", "web"), placed("w1", "n0", "web"), placed("w2", "n1", "web")],
        pending: [group("web", 3, { specVersion: "2" })],
      }),
    );
    // Existing 2/1/0 plus 3 new → 2/2/2.
    expect(Object.fromEntries(countByNode(r.assignments))).toEqual({ n1: 1, n2: 2 });
  });

  it("prefers nodes with fewer tasks overall when the service count ties", () => {
    const r = run(
      input({
        nodes: nodes(3),
        placedTasks: [placed("x", "n0", "db"), placed("y", "n0", "db"), placed("z", "n2", "db")],
        pending: [group("web", 1)],
      }),
    );
    expect(r.assignments[0]?.nodeId).toBe("n1");
  });

  it("spread: least-allocated wins among nodes with equal task counts", () => {
    const r = run(
      input({
        nodes: [
          node("small", { resources: { nanoCpus: 2 * CPU, memoryBytes: 2 * GiB } }),
          node("large", { resources: { nanoCpus: 16 * CPU, memoryBytes: 64 * GiB } }),
        ],
        pending: [group("web", 1, { reservations: { nanoCpus: CPU, memoryBytes: GiB } })],
      }),
    );
    expect(r.assignments[0]?.nodeId).toBe("large");
  });

  it("binpack: fills the most-allocated node first", () => {
    const r = run(
      input({
        nodes: [
          node("busy", { resources: { nanoCpus: 4 * CPU, memoryBytes: 4 * GiB } }),
          node("idle", { resources: { nanoCpus: 4 * CPU, memoryBytes: 4 * GiB } }),
        ],
        placedTasks: [
          placed("x", "busy", "db", { reservations: { nanoCpus: 2 * CPU, memoryBytes: 2 * GiB } }),
        ],
        pending: [group("web", 3, { reservations: { nanoCpus: CPU, memoryBytes: GiB } })],
      }),
      1,
      "binpack",
    );
    expect(r.assignments.map((a) => a.nodeId)).toEqual(["busy", "busy", "idle"]);
  });

  it("binpack on empty equal nodes fills one node before the next", () => {
    const r = run(
      input({
        nodes: nodes(3, () => ({ resources: { nanoCpus: 2 * CPU, memoryBytes: 8 * GiB } })),
        pending: [group("web", 4, { reservations: { nanoCpus: CPU, memoryBytes: GiB } })],
      }),
      7,
      "binpack",
    );
    expect([...countByNode(r.assignments).values()].sort()).toEqual([2, 2]);
  });

  it("puts nodes with 5 recent failures of this service version last", () => {
    const nowMs = 10_000_000;
    const fail = (nodeId: string, agoMs: number, specVersion = "1") => ({
      serviceId: "web",
      specVersion,
      nodeId,
      atMs: nowMs - agoMs,
    });
    const failures = [
      ...[1, 2, 3, 4, 5].map((i) => fail("n0", i * 1000)),
      // Only 4 recent ones on n1: not enough to matter.
      ...[1, 2, 3, 4].map((i) => fail("n1", i * 1000)),
      fail("n1", 6 * 60_000),
      // Failures of another version do not count.
      ...[1, 2, 3, 4, 5].map((i) => fail("n2", i * 1000, "0")),
    ];
    const r = run(input({ nodes: nodes(3), failures, nowMs, pending: [group("web", 2)] }));
    expect(r.assignments.map((a) => a.nodeId).sort()).toEqual(["n1", "n2"]);
    // Failures decide before spread: a third task still avoids n0…
    const r2 = run(input({ nodes: nodes(3), failures, nowMs, pending: [group("web", 3)] }));
    expect([...countByNode(r2.assignments).keys()].sort()).toEqual(["n1", "n2"]);
    // …but when nothing else is left, the failing node is still used.
    const r3 = run(
      input({ nodes: nodes(3), failures, nowMs, pending: [group("web", 3, { maxReplicasPerNode: 1 })] }),
    );
    expect([...countByNode(r3.assignments).keys()].sort()).toEqual(["n0", "n1", "n2"]);
    // Five minutes later the failures have aged out.
    const r4 = run(
      input({ nodes: nodes(3), failures, nowMs: nowMs + 5 * 60_000, pending: [group("web", 3)] }),
    );
    expect([...countByNode(r4.assignments).keys()].sort()).toEqual(["n0", "n1", "n2"]);
  });

  it("breaks ties with the seed, not by node order", () => {
    const firstNode = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      const r = run(input({ nodes: nodes(5), pending: [group("web", 1)] }), seed);
      firstNode.add(r.assignments[0]?.nodeId as string);
    }
    expect(firstNode.size).toBeGreaterThan(2);
    const a = run(input({ nodes: nodes(5), pending: [group("web", 3)] }), 42);
    const b = run(input({ nodes: nodes(5), pending: [group("web", 3)] }), 42);
    expect(a).toEqual(b);
  });
});

describe("placement preferences", () => {
  const zones = (i: number) => ({ labels: { zone: ["a", "b", "c"][i % 3] as string } });

  it("spreads over one label level, filling the emptiest group first", () => {
    // 6 nodes in zone a, 1 in b, 1 in c: without the preference most tasks would land in a.
    const ns = [
      ...nodes(6, () => ({ labels: { zone: "a" } })),
      node("b0", { labels: { zone: "b" } }),
      node("c0", { labels: { zone: "c" } }),
    ];
    const r = run(
      input({
        nodes: ns,
        pending: [group("web", 9, { preferences: [{ spreadDescriptor: "node.labels.zone" }] })],
      }),
    );
    const perZone = new Map<string, number>();
    for (const a of r.assignments) {
      const z = ns.find((n) => n.id === a.nodeId)?.labels.zone as string;
      perZone.set(z, (perZone.get(z) ?? 0) + 1);
    }
    expect(Object.fromEntries(perZone)).toEqual({ a: 3, b: 3, c: 3 });
    expect(countByNode(r.assignments).get("b0")).toBe(3);
  });

  it("counts existing tasks per group and treats a missing label as its own group", () => {
    const ns = [
      node("a0", { labels: { zone: "a" } }),
      node("b0", { labels: { zone: "b" } }),
      node("x0"),
      node("x1"),
    ];
    const r = run(
      input({
        nodes: ns,
        placedTasks: [placed("p0", "a0", "web"), placed("p1", "a0", "web")],
        pending: [
          group("web", 4, { specVersion: "2", preferences: [{ spreadDescriptor: "node.labels.zone" }] }),
        ],
      }),
    );
    // a has 2; b and "no zone" each get 2; the unlabelled group spreads over its 2 nodes.
    expect(Object.fromEntries(countByNode(r.assignments))).toEqual({ b0: 2, x0: 1, x1: 1 });
  });

  it("spreads over two levels", () => {
    // zone a: racks 1,2; zone b: rack 1 only. 8 tasks → 4 per zone; in zone a, 2 per rack.
    const ns = [
      node("a1x", { labels: { zone: "a", rack: "1" } }),
      node("a1y", { labels: { zone: "a", rack: "1" } }),
      node("a2x", { labels: { zone: "a", rack: "2" } }),
      node("b1x", { labels: { zone: "b", rack: "1" } }),
      node("b1y", { labels: { zone: "b", rack: "1" } }),
    ];
    const r = run(
      input({
        nodes: ns,
        pending: [
          group("web", 8, {
            preferences: [{ spreadDescriptor: "node.labels.zone" }, { spreadDescriptor: "node.labels.rack" }],
          }),
        ],
      }),
    );
    expect(Object.fromEntries([...countByNode(r.assignments)].sort())).toEqual({
      a1x: 1,
      a1y: 1,
      a2x: 2,
      b1x: 2,
      b1y: 2,
    });
  });

  it("moves on to other groups when one group is full", () => {
    const ns = [
      node("a0", { labels: { zone: "a" }, resources: { nanoCpus: CPU, memoryBytes: GiB } }),
      node("b0", { labels: { zone: "b" } }),
    ];
    const r = run(
      input({
        nodes: ns,
        pending: [
          group("web", 5, {
            reservations: { nanoCpus: 0, memoryBytes: GiB },
            preferences: [{ spreadDescriptor: "node.labels.zone" }],
          }),
        ],
      }),
    );
    expect(Object.fromEntries(countByNode(r.assignments))).toEqual({ a0: 1, b0: 4 });
  });

  it("uses constraints and preferences together", () => {
    const r = run(
      input({
        nodes: nodes(9, zones),
        pending: [
          group("web", 4, {
            constraints: ["node.labels.zone != c"],
            preferences: [{ spreadDescriptor: "node.labels.zone" }],
          }),
        ],
      }),
    );
    const zoneOf = (id: string) => ["a", "b", "c"][Number(id.slice(1)) % 3] as string;
    const perZone = new Map<string, number>();
    for (const a of r.assignments) perZone.set(zoneOf(a.nodeId), (perZone.get(zoneOf(a.nodeId)) ?? 0) + 1);
    expect(Object.fromEntries(perZone)).toEqual({ a: 2, b: 2 });
  });

  it("does what the README's example says", () => {
    const ns = [
      node("a0", { labels: { zone: "a" } }),
      node("a1", { labels: { zone: "a" } }),
      node("a2", { labels: { zone: "a" } }),
      node("b0", { labels: { zone: "b" } }),
      node("x0"),
    ];
    const placedTasks = [placed("w0", "a0", "web"), placed("w1", "a0", "web")];
    const withPreference = run(
      input({
        nodes: ns,
        placedTasks,
        pending: [
          group("web", 4, { specVersion: "2", preferences: [{ spreadDescriptor: "node.labels.zone" }] }),
        ],
      }),
    );
    expect(Object.fromEntries(countByNode(withPreference.assignments))).toEqual({ b0: 2, x0: 2 });
    const without = run(input({ nodes: ns, placedTasks, pending: [group("web", 4, { specVersion: "2" })] }));
    expect(Object.fromEntries([...countByNode(without.assignments)].sort())).toEqual({
      a1: 1,
      a2: 1,
      b0: 1,
      x0: 1,
    });
  });

  it("keeps a label set to the empty string apart from a missing label", () => {
    const ns = [node("e0", { labels: { zone: "" } }), node("m0"), node("m1")];
    const r = run(
      input({
        nodes: ns,
        pending: [group("web", 4, { preferences: [{ spreadDescriptor: "node.labels.zone" }] })],
      }),
    );
    // Two groups ("" and missing), 2 tasks each.
    expect(countByNode(r.assignments).get("e0")).toBe(2);
  });

  it("rejects a preference it cannot spread over", () => {
    const r = run(
      input({
        nodes: nodes(2),
        pending: [group("web", 1, { preferences: [{ spreadDescriptor: "node.colour" }] })],
      }),
    );
    expect(r.unplaced[0]?.message).toMatch(/^invalid placement: placement preference "spread=node.colour"/);
  });
});

describe("several groups", () => {
  it("later groups see the placements of earlier ones", () => {
    const r = run(
      input({
        nodes: nodes(2, () => ({ resources: { nanoCpus: 2 * CPU, memoryBytes: 2 * GiB } })),
        pending: [
          group("web", 2, { reservations: { nanoCpus: CPU, memoryBytes: GiB } }),
          group("web", 2, {
            specVersion: "2",
            reservations: { nanoCpus: CPU, memoryBytes: GiB },
            tasks: [{ id: "v2.0" }, { id: "v2.1" }],
          }),
          group("db", 1, { reservations: { nanoCpus: CPU, memoryBytes: GiB } }),
        ],
      }),
    );
    expect(Object.fromEntries(countByNode(r.assignments))).toEqual({ n0: 2, n1: 2 });
    expect(r.unplaced[0]?.serviceId).toBe("db");
    expect(r.unplaced[0]?.message).toBe("no suitable node (insufficient CPU and memory on 2 nodes)");
  });
});
