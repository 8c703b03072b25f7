import { describe, expect, it } from "vitest";
import { MAX_MESSAGE_BYTES } from "../../src/index.js";
import { cluster, ids, put, putAtLeader, value, waitApplied, waitLeader } from "./helpers.js";

describe("snapshots", () => {
  it("snapshots and compacts the log on every node (basic)", () => {
    const sim = cluster(3, { snapshotEvery: 20 });
    let index = 0;
    for (let i = 0; i < 100; i++) index = putAtLeader(sim, `k${i % 7}`, `v${i}`);
    expect(waitApplied(sim, index, ids(3))).toBe(true);
    for (const id of ids(3)) {
      const disk = sim.disks.get(id);
      expect(disk?.snapshot().meta.index).toBeGreaterThan(50);
      expect(disk?.firstIndex()).toBeGreaterThan(40);
      expect(value(sim, id, "k1")).toBe("v99");
    }
  });

  it("installs a snapshot on a follower that fell behind the compacted log", () => {
    const sim = cluster(3, { snapshotEvery: 20 });
    const leader = waitLeader(sim);
    const lagging = ids(3).find((i) => i !== leader) as number;
    sim.isolate(lagging);
    let index = 0;
    for (let i = 0; i < 100; i++) index = putAtLeader(sim, `k${i % 5}`, `v${i}`);
    expect(
      waitApplied(
        sim,
        index,
        ids(3).filter((i) => i !== lagging),
      ),
    ).toBe(true);
    expect(sim.disks.get(leader)?.firstIndex()).toBeGreaterThan(50);
    sim.heal();
    expect(waitApplied(sim, index, ids(3))).toBe(true);
    expect(sim.sent.get("snap") ?? 0).toBeGreaterThan(0);
    for (let k = 0; k < 5; k++) expect(value(sim, lagging, `k${k}`)).toBe(value(sim, leader, `k${k}`));
  });

  it("installs a snapshot after a crash and keeps it across another crash", () => {
    const sim = cluster(3, { snapshotEvery: 20 });
    const leader = waitLeader(sim);
    const follower = ids(3).find((i) => i !== leader) as number;
    sim.crash(follower);
    let index = 0;
    for (let i = 0; i < 80; i++) index = putAtLeader(sim, "k", `v${i}`);
    sim.restart(follower);
    expect(waitApplied(sim, index, [follower])).toBe(true);
    expect(sim.disks.get(follower)?.snapshot().meta.index).toBeGreaterThan(0);
    sim.crash(follower);
    sim.runFor(20);
    sim.restart(follower);
    // Right after restart the state machine is rebuilt from the installed snapshot plus the log.
    expect(waitApplied(sim, index, [follower])).toBe(true);
    expect(value(sim, follower, "k")).toBe("v79");
    index = putAtLeader(sim, "k", "after");
    expect(waitApplied(sim, index, ids(3))).toBe(true);
  });

  it("streams a multi-megabyte snapshot in chunks, none over 4 MiB", () => {
    const chunk = 1024 * 1024;
    const sim = cluster(3, {
      snapshotEvery: 8,
      raftConfig: { snapshotChunkBytes: 64 * 1024 * 1024, maxSizePerMsg: 8 * 1024 * 1024 },
    });
    const leader = waitLeader(sim);
    const lagging = ids(3).find((i) => i !== leader) as number;
    sim.isolate(lagging);
    const big = "x".repeat(chunk);
    let index = 0;
    for (let i = 0; i < 12; i++) {
      const r = put(sim, leader, `big${i}`, big);
      if (r.ok && !r.forwarded) index = r.index;
      sim.runFor(30);
    }
    for (let i = 0; i < 10; i++) index = putAtLeader(sim, "small", `${i}`);
    expect(
      waitApplied(
        sim,
        index,
        ids(3).filter((i) => i !== lagging),
      ),
    ).toBe(true);
    expect(sim.disks.get(leader)?.snapshot().data.byteLength).toBeGreaterThan(12 * chunk);
    sim.heal();
    expect(waitApplied(sim, index, ids(3), 5000)).toBe(true);
    // The configured 64 MiB chunk is capped below the 4 MiB message limit.
    expect(sim.sent.get("snap") ?? 0).toBeGreaterThanOrEqual(4);
    expect(sim.maxMessageBytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(value(sim, lagging, "big11")).toBe(big);
  });
});
