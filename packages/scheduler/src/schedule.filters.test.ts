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
            holdsResources: false,
            isActive: false,
          }),
          // Told to stop but still running: still holds its memory.
          placed("t3", "a", "db", {
            reservations: { nanoCpus: 0, memoryBytes: 1 * GiB },
            isActive: false,
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
            holdsResources: false,
            isActive: false,
          }),
        ],
        pending: [group("web", 5, { hostPorts: [port] })],
      }),
    );
    expect([...countByNode(r.assignments).keys()].sort()).toEqual(["n1", "n2", "n3"]);
    expect(r.unplaced[0]?.message).toBe("no suitable node (host-mode port already in use on 4 nodes)");
    expect(r.unplaced[0]?.taskIds).toHaveLength(2);
  });

  it("never counts a host-mode port the node chooses itself (published port 0) as a conflict", () => {
    const dynamic = { publishedPort: 0, protocol: "tcp" as const };
    const r = run(
      input({
        nodes: nodes(2),
        placedTasks: [placed("old", "n0", "other", { hostPorts: [dynamic] })],
        pending: [group("web", 6, { hostPorts: [dynamic] })],
      }),
    );
    expect(r.unplaced).toEqual([]);
    expect(Object.fromEntries(countByNode(r.assignments))).toEqual({ n0: 3, n1: 3 });
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
      'invalid placement: constraint "node.colour == red" has unknown key "node.colour"; use node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.ip, node.labels.<name> or engine.labels.<name>',
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

describe("input invariants", () => {
  it("refuses a negative or non-finite capacity or reservation", () => {
    const bad = [
      input({
        nodes: [node("a", { resources: { nanoCpus: -1, memoryBytes: GiB } })],
        pending: [group("web", 1)],
      }),
      input({
        nodes: [node("a")],
        pending: [group("web", 1, { reservations: { nanoCpus: Number.NaN, memoryBytes: 0 } })],
      }),
      input({
        nodes: [node("a")],
        placedTasks: [
          placed("t", "a", "db", { reservations: { nanoCpus: 0, memoryBytes: Number.POSITIVE_INFINITY } }),
        ],
      }),
    ];
    for (const i of bad) {
      expect(() => run(i)).toThrow(/must be finite and at least 0/);
    }
  });
});
