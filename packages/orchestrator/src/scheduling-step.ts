import type { Random } from "@shoal/base";
import { NodeState, SchedulingStrategy, TaskState } from "@shoal/proto";
import { schedule, scheduleInputFromWire, type TaskFactsMemo } from "@shoal/scheduler";
import { nodeSubnetPoolOf } from "./allocator/node-subnets.js";
import { NodeAddressBook } from "./allocator/task-addresses.js";
import { type Plan, PlanBuilder } from "./plan.js";
import { withStatus } from "./task-facts.js";
import type { ClusterView } from "./view.js";

/**
 * The scheduler's facts of each task object (the store's objects are never changed in place):
 * each pass reads every task, and translating 100,000 of them again per pass made ~300,000
 * objects of garbage a pass.
 */
const taskFacts: TaskFactsMemo = new WeakMap();

/** What `service ps` shows for a task waiting for its node's subnet (a moment after a join). */
const NO_ADDRESS = "no free address on the chosen node's container subnet";

/**
 * One scheduling pass: every PENDING task and every node go to `@shoal/scheduler` at once, through
 * its `scheduleInputFromWire` (the only translation). Placed tasks become ASSIGNED with an address
 * from their node's subnet; unplaced ones stay PENDING with the scheduler's reason, rewritten only
 * when it changes (so a stuck task does not cost a store write per pass). Nodes without a subnet
 * yet take no tasks: the allocator gives one in the same pass before this step.
 */
export function planScheduling(view: ClusterView, args: { nowMs: number; random: Random }): Plan {
  const out = new PlanBuilder();
  const nodes = [...view.nodes.values()].filter((n) => n.containerSubnet !== "");
  const input = scheduleInputFromWire({
    nodes,
    tasks: view.tasks.values(),
    nowMs: args.nowMs,
    memo: taskFacts,
  });
  if (input.pending.length === 0) return out.plan;
  const strategy =
    view.cluster?.spec?.scheduler?.strategy === SchedulingStrategy.BINPACK ? "binpack" : "spread";
  const result = schedule(input, { random: args.random, strategy });
  const book = new NodeAddressBook(view);
  const setMessage = (taskId: string, message: string) => {
    const task = view.tasks.get(taskId);
    if (task === undefined || task.status?.message === message) return;
    out.updateTask(withStatus(task, args.nowMs, TaskState.PENDING, message), `pending: ${message}`);
  };
  for (const a of result.assignments) {
    const task = view.tasks.get(a.taskId);
    if (task === undefined) continue;
    const address = book.allocate(a.nodeId);
    if (address === undefined) {
      setMessage(a.taskId, NO_ADDRESS);
      continue;
    }
    const assigned = {
      ...withStatus(task, args.nowMs, TaskState.ASSIGNED, "scheduler assigned task to node"),
      nodeId: a.nodeId,
      address,
    };
    out.updateTask(assigned, `assigned to node ${a.nodeId} at ${address}`);
  }
  const shortfall = exhaustedPool(view);
  for (const u of result.unplaced) for (const id of u.taskIds) setMessage(id, u.message + shortfall);
  return out.plan;
}

/**
 * Why ready nodes take no tasks when the node subnet pool ran out (the default /16 holds 256
 * nodes), for the pending reason; "" while it has room (a node just joined waits a moment).
 */
function exhaustedPool(view: ClusterView): string {
  let without = 0;
  let with_ = 0;
  for (const n of view.nodes.values()) {
    if (n.containerSubnet !== "") with_++;
    else if (n.status?.state === NodeState.READY) without++;
  }
  if (without === 0) return "";
  const { pool, prefixLength } = nodeSubnetPoolOf(view);
  const capacity = 2 ** (prefixLength - pool.prefixLength);
  if (with_ < capacity) return "";
  return `; ${without} ready node${without === 1 ? "" : "s"} without a container subnet: the node subnet pool ${pool.cidr} is exhausted (${capacity} subnets of /${prefixLength}; set a larger allocator.nodeSubnetPool, e.g. 10.40.0.0/14)`;
}
