// `ListServiceStatuses` (pure): per service, the tasks that should run, those running, and for
// jobs those completed — what `shoal service ls` shows as REPLICAS (`running/desired`).
import {
  type Node,
  NodeAvailability,
  NodeState,
  type Service,
  type ServiceStatus,
  type Task,
  TaskState,
} from "@shoal/proto";

const isEligible = (n: Node) =>
  n.status?.state === NodeState.READY &&
  (n.spec?.availability ?? NodeAvailability.ACTIVE) === NodeAvailability.ACTIVE;

export function serviceStatus(
  service: Service,
  tasks: readonly Task[],
  nodes: readonly Node[],
): ServiceStatus {
  const mode = service.spec?.mode;
  const running = tasks.filter(
    (t) => t.status?.state === TaskState.RUNNING && t.desiredState === TaskState.RUNNING,
  ).length;
  const completed = tasks.filter((t) => t.status?.state === TaskState.COMPLETE).length;
  let desired: number;
  switch (mode?.$case) {
    case "global":
      desired = nodes.filter(isEligible).length;
      break;
    case "replicatedJob":
      desired = Math.min(
        mode.value.maxConcurrent ?? 1,
        Math.max(0, (mode.value.totalCompletions ?? 1) - completed),
      );
      break;
    case "globalJob":
      desired = Math.max(0, nodes.filter(isEligible).length - completed);
      break;
    default:
      desired = mode?.value.replicas ?? 1;
  }
  return { serviceId: service.id, desiredTasks: desired, runningTasks: running, completedTasks: completed };
}
