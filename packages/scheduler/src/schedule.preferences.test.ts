import { describe, expect, it } from "vitest";
import { CPU, countByNode, GiB, group, input, node, nodes, placed } from "../test/fixtures.js";
import { schedule } from "./schedule.js";
import type { ScheduleInput } from "./types.js";

const run = (i: ScheduleInput, seed = 1, strategy: "spread" | "binpack" = "spread") =>
  schedule(i, { random: seed, strategy });

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
