// The admin socket's bus reads (issue 19): `shoal service logs` and `shoal events`, served by a
// manager daemon from JetStream with the bus's readLogs / readEvents.
import { ShoalError } from "@shoal/base";
import { type EventType, readEvents, readLogs } from "@shoal/bus";
import type {
  ClusterEventsMessage,
  ClusterEventsRequest,
  ServiceLogsMessage,
  ServiceLogsRequest,
} from "@shoal/proto";
import type { Store } from "@shoal/store";
import { DaemonErrorCode } from "./errors.js";
import type { ManagerBus } from "./manager-bus.js";

/** A service name or id, or a task id → the service (and the task). */
function resolveTarget(store: Store, target: string): { serviceId: string; taskId?: string } {
  const found = store.view((tx) => {
    const services = tx.services.list();
    const s = services.find((x) => x.id === target) ?? services.find((x) => x.spec?.name === target);
    if (s !== undefined) return { serviceId: s.id };
    const t = tx.tasks.list().find((x) => x.id === target);
    return t === undefined ? undefined : { serviceId: t.serviceId, taskId: t.id };
  });
  if (found === undefined) {
    throw new ShoalError(DaemonErrorCode.InvalidArgument, `no such service or task: "${target}"`, {
      hint: "see `shoal service ls` or `shoal service ps SERVICE`",
    });
  }
  return found;
}

export async function serveServiceLogs(
  bus: ManagerBus,
  store: Store,
  req: ServiceLogsRequest,
  send: (m: ServiceLogsMessage) => void,
  signal: AbortSignal,
): Promise<void> {
  if (req.service === "") {
    throw new ShoalError(DaemonErrorCode.InvalidArgument, "service logs needs a service or task");
  }
  const target = resolveTarget(store, req.service);
  for await (const item of readLogs(
    { js: bus.js, jsm: bus.jsm },
    {
      ...target,
      ...(req.sinceMs > 0 ? { sinceMs: req.sinceMs } : {}),
      ...(req.untilMs > 0 ? { untilMs: req.untilMs } : {}),
      ...(req.tail >= 0 ? { tail: req.tail } : {}),
      follow: req.follow,
      signal,
    },
  )) {
    if (signal.aborted) return;
    if (item.kind === "notice") send({ notice: item.message, line: undefined });
    else send({ notice: "", line: { ...item.line } });
  }
}

const EVENT_TYPES = new Set(["service", "task", "node", "leader"]);

export async function serveClusterEvents(
  bus: ManagerBus,
  req: ClusterEventsRequest,
  send: (m: ClusterEventsMessage) => void,
  signal: AbortSignal,
): Promise<void> {
  if (req.type !== "" && !EVENT_TYPES.has(req.type)) {
    throw new ShoalError(DaemonErrorCode.InvalidArgument, `event type "${req.type}" is unknown`, {
      hint: "use service, task, node or leader",
    });
  }
  for await (const e of readEvents(
    { js: bus.js },
    {
      ...(req.sinceMs > 0 ? { sinceMs: req.sinceMs } : {}),
      ...(req.untilMs > 0 ? { untilMs: req.untilMs } : {}),
      ...(req.type === "" ? {} : { type: req.type as EventType }),
      ...(req.serviceId === "" ? {} : { serviceId: req.serviceId }),
      ...(req.nodeId === "" ? {} : { nodeId: req.nodeId }),
      follow: req.follow,
      signal,
    },
  )) {
    if (signal.aborted) return;
    send({
      type: e.type,
      action: e.action,
      id: e.id,
      timeMs: e.timeMs,
      serviceId: e.serviceId ?? "",
      nodeId: e.nodeId ?? "",
      attributes: e.attributes,
    });
  }
}
