import { type Task, TaskState } from "@shoal/proto";

/** The container's health as its agent reported it: "starting", "healthy", "unhealthy" or "". */
export function healthOf(task: Task): string {
  return task.status?.containerStatus?.health ?? "";
}

/**
 * The task's spec declares its own health check (`["NONE"]` disables one; `[]` inherits the
 * image's, which only the agent knows — then the reported health decides alone).
 */
export function hasHealthCheck(task: Task): boolean {
  const test = task.spec?.container?.healthcheck?.test ?? [];
  return test.length > 0 && test[0] !== "NONE";
}

/**
 * Up, for a rolling update: running, and healthy when it has a health check. A task whose agent
 * reports its health as starting or unhealthy is not up, whatever its spec says.
 */
export function isUp(task: Task): boolean {
  if (task.status?.state !== TaskState.RUNNING) return false;
  const health = healthOf(task);
  if (health === "starting" || health === "unhealthy") return false;
  return !hasHealthCheck(task) || health === "healthy";
}
