import { ManualClock, silentLogger } from "@shoal/base";
import { Task, TaskState, TaskStatus, type TaskStatusUpdate } from "@shoal/proto";
import { Store } from "@shoal/store";
import { describe, expect, it } from "vitest";
import { MIN_STATUS_WRITE_GAP_MS, StatusBatcher } from "./status-batcher.js";

const report = (taskId: string, state: TaskState): TaskStatusUpdate => ({
  taskId,
  status: TaskStatus.fromPartial({ state, message: "" }),
});

/** A real store whose batch writes wait until `release()`: a write in flight, held. */
async function heldStore() {
  const store = new Store({ logger: silentLogger() });
  await store.update((tx) => {
    for (const id of ["a", "b", "c"])
      tx.tasks.create(Task.fromPartial({ id, nodeId: "n1", status: { state: TaskState.ASSIGNED } }));
  });
  /** Per write, how many reports it carried. */
  const writes: number[] = [];
  let gates: (() => void)[] = [];
  const held = {
    batch: async (fn: Parameters<Store["batch"]>[0]) => {
      const updates: Parameters<Parameters<typeof fn>[0]["update"]>[0][] = [];
      fn({ update: (u) => updates.push(u) } as Parameters<typeof fn>[0]);
      writes.push(updates.length);
      await new Promise<void>((resolve) => gates.push(resolve));
      return store.batch((b) => {
        for (const u of updates) b.update(u);
      });
    },
  } as unknown as Store;
  const release = () => {
    const open = gates;
    gates = [];
    for (const g of open) g();
  };
  return { store, held, writes, release };
}

describe("StatusBatcher", () => {
  it("writes a lone report at the next tick, and what came meanwhile right after the write in flight", async () => {
    const clock = new ManualClock();
    const { store, held, writes, release } = await heldStore();
    const batcher = new StatusBatcher(held, clock, 100, silentLogger());
    const first = batcher.enqueue([report("a", TaskState.RUNNING)]);
    clock.advance(0);
    expect(writes.length).toBe(1); // in flight, held
    const second = batcher.enqueue([report("b", TaskState.RUNNING)]);
    const third = batcher.enqueue([report("c", TaskState.RUNNING)]);
    clock.advance(50);
    expect(writes.length).toBe(1); // nothing starts beside the write in flight before the cap
    release();
    await first;
    // No waiting out the flush interval: b and c go at once (the first write began 50 ms ago).
    clock.advance(0);
    expect(writes.length).toBe(2);
    release();
    await Promise.all([second, third]);
    expect(writes).toEqual([1, 2]);
    expect(store.view((tx) => tx.tasks.get("c")?.status?.state)).toBe(TaskState.RUNNING);
  });

  it("starts writes that follow one another at least the minimum gap apart", async () => {
    const clock = new ManualClock();
    const { held, writes, release } = await heldStore();
    const batcher = new StatusBatcher(held, clock, 100, silentLogger());
    const first = batcher.enqueue([report("a", TaskState.RUNNING)]);
    clock.advance(0);
    const second = batcher.enqueue([report("b", TaskState.RUNNING)]);
    clock.advance(5);
    release();
    await first; // applied 5 ms after it began: b waits for the gap
    clock.advance(MIN_STATUS_WRITE_GAP_MS - 6);
    expect(writes.length).toBe(1);
    clock.advance(1);
    expect(writes.length).toBe(2);
    release();
    await second;
    // A lone report long after the last write goes at the next tick.
    clock.advance(1_000);
    const third = batcher.enqueue([report("c", TaskState.RUNNING)]);
    clock.advance(0);
    expect(writes.length).toBe(3);
    release();
    await third;
  });

  it("starts the next write at the flush interval when the write in flight takes longer", async () => {
    const clock = new ManualClock();
    const { held, writes, release } = await heldStore();
    const batcher = new StatusBatcher(held, clock, 100, silentLogger());
    const first = batcher.enqueue([report("a", TaskState.RUNNING)]);
    clock.advance(0);
    const second = batcher.enqueue([report("b", TaskState.RUNNING)]);
    clock.advance(100);
    expect(writes.length).toBe(2);
    release();
    await Promise.all([first, second]);
  });
});
