import { seededRandom } from "@shoal/base";
import { TaskState } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { cluster, node, service, task } from "../test/fixtures.js";
import { planScheduling } from "./scheduling-step.js";
import { viewOf } from "./view.js";

const pending = (id: string, memMiB: number, message = "") =>
  task(id, { slot: 1, state: TaskState.PENDING, memMiB, message });
const run = (view: ReturnType<typeof viewOf>) => planScheduling(view, { nowMs: 10, random: seededRandom(1) });

describe("planScheduling", () => {
  it("assigns PENDING tasks with an address from the chosen node's subnet (Swarm: PENDING → ASSIGNED)", () => {
    const plan = run(
      viewOf({
        nodes: [node("n1", { subnet: "10.42.0.0/24" })],
        services: [service("s1")],
        tasks: [pending("t", 100)],
      }),
    );
    const t = plan.updateTasks[0]?.object;
    expect([t?.status?.state, t?.nodeId, t?.address]).toEqual([TaskState.ASSIGNED, "n1", "10.42.0.2/24"]);
  });

  it("a task that fits nowhere stays PENDING with the scheduler's readable reason", () => {
    const plan = run(
      viewOf({
        nodes: [node("n1", { subnet: "10.42.0.0/24", memGiB: 1 })],
        services: [service("s1")],
        tasks: [pending("t", 4096)],
      }),
    );
    const t = plan.updateTasks[0]?.object;
    expect(t?.status?.state).toBe(TaskState.PENDING);
    expect(t?.status?.message).toBe("no suitable node (insufficient memory on 1 node)");
  });

  it("the reason is rewritten only when it changes", () => {
    const view = viewOf({
      nodes: [node("n1", { subnet: "10.42.0.0/24", memGiB: 1 })],
      services: [service("s1")],
      tasks: [pending("t", 4096, "no suitable node (insufficient memory on 1 node)")],
    });
    expect(run(view).updateTasks).toEqual([]);
  });

  it("nodes without a container subnet yet take no tasks", () => {
    const plan = run(viewOf({ nodes: [node("n1")], services: [service("s1")], tasks: [pending("t", 1)] }));
    expect(plan.updateTasks[0]?.object.status?.state).toBe(TaskState.PENDING);
    expect(plan.updateTasks[0]?.object.nodeId).toBe("");
  });

  it("says when ready nodes take nothing because the node subnet pool is exhausted", () => {
    const plan = run(
      viewOf({
        cluster: cluster({ allocator: { nodeSubnetPool: "10.9.0.0/23", subnetSize: 24 } }),
        nodes: [
          node("n1", { subnet: "10.9.0.0/24", memGiB: 1 }),
          node("n2", { subnet: "10.9.1.0/24", memGiB: 1 }),
          node("n3"),
        ],
        services: [service("s1")],
        tasks: [pending("t", 4096)],
      }),
    );
    expect(plan.updateTasks[0]?.object.status?.message).toBe(
      "no suitable node (insufficient memory on 2 nodes); 1 ready node without a container subnet: the node subnet pool 10.9.0.0/23 is exhausted (2 subnets of /24; set a larger allocator.nodeSubnetPool, e.g. 10.40.0.0/14)",
    );
  });

  it("does nothing without pending tasks", () => {
    expect(
      run(viewOf({ nodes: [node("n1", { subnet: "10.42.0.0/24" })], tasks: [task("t", { node: "n1" })] }))
        .updateTasks,
    ).toEqual([]);
  });
});
