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
import { type Store, StoreErrorCode } from "@shoal/store";
import { DaemonErrorCode } from "./errors.js";
import type { ManagerBus } from "./manager-bus.js";

const isNotFound = (err: unknown) => err instanceof ShoalError && err.code === StoreErrorCode.NotFound;

/**
 * A service name, id or unique id prefix, or a task id or unique prefix (the 12 characters
 * `service ps` shows) → the service (and the task). An ambiguous prefix is the store's error.
 */
function resolveTarget(store: Store, target: string): { serviceId: string; taskId?: string } {
  const found = store.view((tx) => {
    try {
      return { serviceId: tx.services.resolve(target).id };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      const t = tx.tasks.resolve(target);
      return { serviceId: t.serviceId, taskId: t.id };
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return undefined;
    }
  });
  if (found === undefined) {
    throw new ShoalError(DaemonErrorCode.InvalidArgument, `no such service or task: "${target}"`, {
      hint: "see `shoal service ls` or `shoal service ps SERVICE`",
    });
  }
  return found;
}

/**
 * An events filter's service or node: a name (hostname), id or unique prefix of one the store
 * has; else taken as an id, so the events of a removed service or node can still be asked for.
 */
function filterId(store: Store, kind: "services" | "nodes", ref: string): string {
  if (ref === "") return "";
  return store.view((tx) => {
    try {
      return tx[kind].resolve(ref).id;
    } catch (err) {
      if (isNotFound(err)) return ref;
      throw err;
    }
  });
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
  store: Store,
  req: ClusterEventsRequest,
  send: (m: ClusterEventsMessage) => void,
  signal: AbortSignal,
): Promise<void> {
  if (req.type !== "" && !EVENT_TYPES.has(req.type)) {
    throw new ShoalError(DaemonErrorCode.InvalidArgument, `event type "${req.type}" is unknown`, {
      hint: "use service, task, node or leader",
    });
  }
  const serviceId = filterId(store, "services", req.serviceId);
  const nodeId = filterId(store, "nodes", req.nodeId);
  for await (const e of readEvents(
    { js: bus.js },
    {
      ...(req.sinceMs > 0 ? { sinceMs: req.sinceMs } : {}),
      ...(req.untilMs > 0 ? { untilMs: req.untilMs } : {}),
      ...(req.type === "" ? {} : { type: req.type as EventType }),
      ...(serviceId === "" ? {} : { serviceId }),
      ...(nodeId === "" ? {} : { nodeId }),
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
