import { enumValueName, type Node, type Service, Task, TaskState } from "@shoal/proto";
import type { Api } from "../api/connection.js";
import type { CommandContext } from "../io.js";
import { printRows } from "../output.js";
import { emptyTaskFilters } from "../progress/wait.js";
import { ago, formatPorts, nowMs, shortId } from "./common.js";
import { emptyNodeFilters } from "./node.js";

const title = (s: string) => (s === "" ? "" : s[0]?.toUpperCase() + s.slice(1));
/** docker cuts the ERROR column to this width without --no-trunc. */
const ERROR_WIDTH = 30;

export interface TaskTableOptions {
  quiet?: boolean;
  noTrunc?: boolean;
}

/**
 * `service ps` / `stack ps`: docker's columns; per slot the newest task first, older ones under it
 * as ` \_ name`. ERROR shows the task's error or, for a pending task, why it waits.
 */
export async function printTasks(
  ctx: CommandContext,
  api: Api,
  services: readonly Service[],
  options: TaskTableOptions,
): Promise<void> {
  const ids = services.map((s) => s.id);
  const [{ tasks }, { nodes }] = await Promise.all([
    api.control("listTasks", { filters: emptyTaskFilters(ids) }),
    api.control("listNodes", { filters: emptyNodeFilters() }),
  ]);
  const rows = orderTasks(services, tasks);
  if (options.quiet === true) return void ctx.io.stdout.write(rows.map((r) => `${r.task.id}\n`).join(""));
  const hostnames = new Map(nodes.map((n: Node) => [n.id, n.description?.hostname ?? n.id]));
  const byId = new Map(services.map((s) => [s.id, s]));
  const now = nowMs(ctx);
  const trunc = (s: string) =>
    options.noTrunc === true || s.length <= ERROR_WIDTH ? s : `${s.slice(0, ERROR_WIDTH - 1)}…`;
  printRows(
    ctx.io,
    ctx.globals().format,
    rows,
    [
      { header: "ID", value: (r) => (options.noTrunc === true ? r.task.id : shortId(r.task.id)) },
      {
        header: "NAME",
        value: (r) => `${r.history ? " \\_ " : ""}${taskName(byId.get(r.task.serviceId), r.task)}`,
      },
      { header: "IMAGE", value: (r) => r.task.spec?.container?.image ?? "" },
      {
        header: "NODE",
        value: (r) => (r.task.nodeId === "" ? "" : (hostnames.get(r.task.nodeId) ?? r.task.nodeId)),
      },
      { header: "DESIRED STATE", value: (r) => title(enumValueName(TaskState, r.task.desiredState)) },
      {
        header: "CURRENT STATE",
        // "Running (healthy) 3 seconds ago": the health check, as `docker ps` shows it.
        value: (r) => {
          const health = r.task.status?.containerStatus?.health ?? "";
          const state = title(enumValueName(TaskState, r.task.status?.state ?? TaskState.NEW));
          return `${state}${health === "" ? "" : ` (${health})`} ${ago(r.task.status?.timestampMs, now)}`.trim();
        },
      },
      { header: "ERROR", value: (r) => trunc(taskProblem(r.task)) },
      { header: "PORTS", value: (r) => formatPorts(r.task.status?.portStatus?.ports ?? []) },
    ],
    (r) => Task.toJSON(r.task),
  );
}

/** What is wrong with a task: its error, or the reason it is still pending. */
export function taskProblem(task: Task): string {
  const status = task.status;
  if (status === undefined) return "";
  if (status.err !== "") return `"${status.err}"`;
  if (status.state === TaskState.PENDING && status.message !== "") return `"${status.message}"`;
  return "";
}

/** `web.1` for replicated, `web.<node id>` for global (docker's task names). */
function taskName(service: Service | undefined, task: Task): string {
  const name = service?.spec?.name ?? task.serviceId;
  const global = service?.spec?.mode?.$case === "global" || service?.spec?.mode?.$case === "globalJob";
  return global ? `${name}.${task.nodeId}` : `${name}.${task.slot}`;
}

function orderTasks(
  services: readonly Service[],
  tasks: readonly Task[],
): { task: Task; history: boolean }[] {
  const order = new Map(services.map((s, i) => [s.id, i]));
  const global = new Set(
    services
      .filter((s) => s.spec?.mode?.$case === "global" || s.spec?.mode?.$case === "globalJob")
      .map((s) => s.id),
  );
  const key = (t: Task) => `${t.serviceId}/${global.has(t.serviceId) ? t.nodeId : t.slot}`;
  const groups = new Map<string, Task[]>();
  for (const t of tasks) groups.set(key(t), [...(groups.get(key(t)) ?? []), t]);
  const time = (t: Task) => t.status?.timestampMs ?? t.meta?.createdAtMs ?? 0;
  const sortedGroups = [...groups.values()].sort((a, b) => {
    const x = a[0] as Task;
    const y = b[0] as Task;
    return (
      (order.get(x.serviceId) ?? 0) - (order.get(y.serviceId) ?? 0) ||
      x.slot - y.slot ||
      x.nodeId.localeCompare(y.nodeId)
    );
  });
  const out: { task: Task; history: boolean }[] = [];
  for (const group of sortedGroups) {
    group.sort((a, b) => time(b) - time(a));
    for (const [i, task] of group.entries()) out.push({ task, history: i > 0 });
  }
  return out;
}
