import { TaskState } from "@shoal/proto";
import { type Plan, PlanBuilder } from "../plan.js";
import { isLive, observedState, withStatus } from "../task-facts.js";
import type { ClusterView, ReconcileContext } from "../view.js";
import { allocateNodeSubnets } from "./node-subnets.js";
import { allocateServicePorts, isEndpointCurrent } from "./ports.js";

/**
 * The allocator's pass (NEW → PENDING): node subnets, then each service's ingress ports for its
 * current spec, then every NEW task whose service is allocated moves to PENDING with a copy of the
 * endpoint. A service whose ports are refused keeps its tasks NEW with the reason in their status
 * (written once). Task addresses are given at assignment (see the scheduling step).
 */
export function reconcileAllocator(view: ClusterView, ctx: Pick<ReconcileContext, "nowMs">): Plan {
  const out = new PlanBuilder();
  const subnets = allocateNodeSubnets(view);
  for (const c of subnets.updateNodes) out.updateNode(c.object, c.reason);
  for (const n of subnets.notes) out.note(n);
  const services = new Map(view.services);
  const refused = new Map<string, string>();
  for (const service of [...services.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (service.pendingDelete || isEndpointCurrent(service)) continue;
    const result = allocateServicePorts(service, services.values());
    if (result.kind === "refused") {
      refused.set(service.id, result.error.message);
      out.note(`service ${service.id}: ${result.error.message}`);
      continue;
    }
    const updated = { ...service, endpoint: result.endpoint };
    services.set(service.id, updated);
    out.updateService(
      updated,
      `ports ${result.endpoint.ports.map((p) => p.publishedPort).join(",") || "none"} allocated`,
    );
  }
  for (const task of view.tasks.values()) {
    if (observedState(task) !== TaskState.NEW || !isLive(task)) continue;
    const service = services.get(task.serviceId);
    if (service === undefined || service.pendingDelete) continue;
    const why = refused.get(service.id);
    if (why !== undefined) {
      if (task.status?.message !== why) out.updateTask(withStatus(task, ctx.nowMs, TaskState.NEW, why), why);
      continue;
    }
    if (!isEndpointCurrent(service)) continue;
    const pending = {
      ...withStatus(task, ctx.nowMs, TaskState.PENDING, "pending task scheduling"),
      endpoint: service.endpoint,
    };
    out.updateTask(pending, "allocated");
  }
  return out.plan;
}
