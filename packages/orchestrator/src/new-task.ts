import { type Service, type Task, TaskState } from "@shoal/proto";
import { needsNoAllocation } from "./allocator/allocation-free.js";

export interface NewTaskArgs {
  id: string;
  nowMs: number;
  /** 1-based slot of a replicated service or job; 0 for global ones. */
  slot: number;
  /** The node of a global service's task; "" for replicated ones (the scheduler picks). */
  nodeId: string;
  desiredState: TaskState;
  restartAtMs: number;
  restartHistoryMs: readonly number[];
  jobIteration?: number | undefined;
}

/**
 * A NEW task: an immutable copy of the service's task template at its spec version. `meta` is
 * the store's to keep; the times here are what a plan proposes (the store stamps its own). A
 * task that needs nothing from the allocator starts PENDING with the service's endpoint
 * (`needsNoAllocation`).
 */
export function newTask(service: Service, args: NewTaskArgs): Task {
  const name = service.spec?.name ?? service.id;
  const pending = needsNoAllocation(service);
  const task: Task = {
    id: args.id,
    meta: { version: 0, createdAtMs: args.nowMs, updatedAtMs: args.nowMs },
    spec: service.spec?.taskTemplate,
    specVersion: service.specVersion,
    serviceId: service.id,
    slot: args.slot,
    nodeId: args.nodeId,
    name: `${name}.${args.slot > 0 ? args.slot : args.nodeId}.${args.id}`,
    serviceLabels: { ...(service.spec?.labels ?? {}) },
    status: pending
      ? { timestampMs: args.nowMs, state: TaskState.PENDING, message: "pending task scheduling", err: "" }
      : { timestampMs: args.nowMs, state: TaskState.NEW, message: "created", err: "" },
    desiredState: args.desiredState,
    networks: [],
    assignedGenericResources: [],
    address: "",
    restartAtMs: args.restartAtMs,
    restartHistoryMs: [...args.restartHistoryMs],
  };
  if (pending) task.endpoint = service.endpoint;
  if (args.jobIteration !== undefined) task.jobIteration = args.jobIteration;
  return task;
}
