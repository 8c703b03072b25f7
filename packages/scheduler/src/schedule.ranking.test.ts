import { describe, expect, it } from "vitest";
import { CPU, countByNode, GiB, group, input, node, nodes, placed } from "../test/fixtures.js";
import { schedule } from "./schedule.js";
import type { ScheduleInput } from "./types.js";

const run = (i: ScheduleInput, seed = 1, strategy: "spread" | "binpack" = "spread") =>
  schedule(i, { random: seed, strategy });

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
