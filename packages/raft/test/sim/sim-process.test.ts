import { describe, expect, it } from "vitest";
import { EventQueue } from "./event-queue.js";
import { SimProcess } from "./sim-process.js";

function drain(queue: EventQueue, until: number): void {
  for (let e = queue.popDue(until); e !== undefined; e = queue.popDue(until)) e.run();
  queue.now = until;
}

describe("SimProcess pauses", () => {
  it("holds what comes due while paused and runs it, in order, when the pause ends", () => {
    const queue = new EventQueue();
    const proc = new SimProcess(1, queue);
    proc.alive = true;
    const ran: string[] = [];
    proc.pause(500);
    proc.schedule(10, () => ran.push(`a@${queue.now}`));
    proc.schedule(20, () => ran.push(`b@${queue.now}`));
    drain(queue, 499);
    expect(ran).toEqual([]);
    drain(queue, 600);
    expect(ran).toEqual(["a@500", "b@500"]);
  });

  // Seed 1,008,040 of the production-driver sweep: the healed cluster's member that had been
  // paused for 1.3 s more kept its timers and deliveries waiting for the old pause end, so no
  // leader was elected while the clients ran, and the workload check failed.
  it("resume() runs what was held at once instead of at the pause's old end", () => {
    const queue = new EventQueue();
    const proc = new SimProcess(1, queue);
    proc.alive = true;
    const ran: string[] = [];
    proc.pause(1500);
    proc.schedule(10, () => ran.push(`tick@${queue.now}`));
    drain(queue, 100);
    proc.resume();
    proc.schedule(5, () => ran.push(`later@${queue.now}`));
    drain(queue, 200);
    expect(ran).toEqual(["tick@100", "later@105"]);
    drain(queue, 2000);
    expect(ran).toHaveLength(2);
  });

  it("a crash drops what was held", () => {
    const queue = new EventQueue();
    const proc = new SimProcess(1, queue);
    proc.alive = true;
    const ran: string[] = [];
    proc.pause(300);
    proc.schedule(10, () => ran.push("held"));
    drain(queue, 100);
    proc.alive = false;
    proc.incarnation++;
    proc.alive = true;
    proc.resume();
    drain(queue, 1000);
    expect(ran).toEqual([]);
  });
});
