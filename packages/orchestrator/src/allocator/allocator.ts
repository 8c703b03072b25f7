import { TaskState } from "@shoal/proto";
import { type Plan, PlanBuilder } from "../plan.js";
import { isLive, observedState, withStatus } from "../task-facts.js";
import type { ClusterView, ReconcileContext } from "../view.js";
import { ingressNetworkOf, NetworkAddressBook } from "./network-addresses.js";
import { allocateNodeSubnets } from "./node-subnets.js";
import { allocateServicePorts, isEndpointCurrent } from "./ports.js";
import {
  allocateServiceVips,
  type ServiceNetworks,
  serviceNetworksOf,
  taskAttachments,
} from "./service-networks.js";

/**
 * The allocator's pass (NEW → PENDING): node subnets, then each service's ingress ports for its
 * current spec, then every NEW task whose service is allocated moves to PENDING with a copy of the
 * endpoint. A service whose ports are refused keeps its tasks NEW with the reason in their status
 * (written once). Overlay networks: each node gets its ingress address, each service a VIP per
 * network it is on, and each task an address per network as it goes PENDING (a task waits while
 * one of its networks is missing). Addresses on the node's bridge subnet are given at assignment
 * (see the scheduling step).
 */
export function reconcileAllocator(view: ClusterView, ctx: Pick<ReconcileContext, "nowMs">): Plan {
  const out = new PlanBuilder();
  const subnets = allocateNodeSubnets(view);
  for (const c of subnets.updateNodes) out.updateNode(c.object, c.reason);
  for (const n of subnets.notes) out.note(n);
  const services = new Map(view.services);
  const refused = new Map<string, string>();
  const book = new NetworkAddressBook(view);
  const ingress = ingressNetworkOf(view);
  if (ingress !== undefined) {
    // Nodes that got their subnet in this pass get their ingress address in the next one (one
    // change per node and pass).
    const updated = new Set(subnets.updateNodes.map((c) => c.object.id));
    for (const node of [...view.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      if ((node.ingressAddress ?? "") !== "" || updated.has(node.id)) continue;
      const addr = book.allocate(ingress.id);
      if (addr === undefined) out.note(`node ${node.id}: the ingress network has no free address`);
      else out.updateNode({ ...node, ingressAddress: addr }, `ingress address ${addr}`);
    }
  }
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
  }
  const networksOf = new Map<string, ServiceNetworks>();
  for (const service of [...services.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (service.pendingDelete) continue;
    const nets = serviceNetworksOf(service, view);
    networksOf.set(service.id, nets);
    const portsChanged = services.get(service.id) !== view.services.get(service.id);
    let updated = service;
    if (nets.kind === "resolved") {
      const endpoint = allocateServiceVips(
        service,
        nets.networks.map((n) => n.network),
        book,
      );
      if (endpoint !== undefined) {
        updated = { ...service, endpoint };
        services.set(service.id, updated);
      }
    }
    if (updated === view.services.get(service.id)) continue;
    const ports = updated.endpoint?.ports.map((p) => p.publishedPort).join(",") || "none";
    const vips = updated.endpoint?.virtualIps.map((v) => v.addr).join(",") || "none";
    out.updateService(updated, portsChanged ? `ports ${ports} allocated, VIPs ${vips}` : `VIPs ${vips}`);
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
    const nets = networksOf.get(service.id) ?? serviceNetworksOf(service, view);
    let networks = task.networks;
    if (nets.kind === "waiting" || (networks.length === 0 && nets.networks.length > 0)) {
      const attached = nets.kind === "waiting" ? undefined : taskAttachments(nets.networks, book);
      if (attached === undefined) {
        const why = nets.kind === "waiting" ? nets.message : "a network of the service has no free address";
        if (task.status?.message !== why)
          out.updateTask(withStatus(task, ctx.nowMs, TaskState.NEW, why), why);
        continue;
      }
      networks = attached;
    }
    const pending = {
      ...withStatus(task, ctx.nowMs, TaskState.PENDING, "pending task scheduling"),
      endpoint: service.endpoint,
      networks,
    };
    out.updateTask(pending, "allocated");
  }
  return out.plan;
}
