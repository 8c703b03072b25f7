import { type Clock, ShoalError, systemClock } from "@shoal/base";
import type { Api } from "../api/connection.js";
import { CliErrorCode } from "../errors.js";
import type { CliIo } from "../io.js";
import { type ProgressState, progressFrame } from "./render.js";

/** How often the loop asks the manager for the service and its tasks. */
export const DEFAULT_POLL_MS = 250;

export interface WaitOptions {
  /** Print frames (false for -q and --format json: wait silently). */
  show: boolean;
  pollMs?: number;
  /** Waiting for a rollback the user asked for: ROLLBACK_COMPLETED is success. */
  rollback?: boolean;
}

/**
 * Polls the service, its tasks and its status until `progressFrame` says converged or failed.
 * On a terminal, each frame replaces the last; elsewhere only the final frame is printed. Throws
 * CLI_NOT_CONVERGED (exit code 9) with each failed task's error when the service does not converge.
 */
export async function waitForService(
  api: Api,
  serviceId: string,
  io: CliIo,
  options: WaitOptions,
): Promise<void> {
  const clock: Clock = io.clock ?? systemClock;
  const tty = (io.stdout as { isTTY?: boolean }).isTTY === true;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  let state: ProgressState = { startedAtMs: clock.now() };
  let shown = 0;
  let lines: string[] = [];
  for (;;) {
    const [{ service }, { tasks }, { statuses }] = await Promise.all([
      api.control("getService", { serviceId, insertDefaults: false }),
      api.control("listTasks", { filters: emptyTaskFilters([serviceId]) }),
      api.control("listServiceStatuses", { serviceIds: [serviceId] }),
    ]);
    if (service === undefined)
      throw new ShoalError(CliErrorCode.NotFound, `service "${serviceId}" disappeared while waiting`);
    const frame = progressFrame(state, {
      service,
      tasks,
      desiredTasks: statuses.find((s) => s.serviceId === service.id)?.desiredTasks ?? 0,
      nowMs: clock.now(),
      rollback: options.rollback,
    });
    state = frame.state;
    lines = frame.lines;
    if (options.show && tty) {
      if (shown > 0) io.stdout.write(`\u001b[${shown}A\u001b[J`);
      io.stdout.write(`${lines.join("\n")}\n`);
      shown = lines.length;
    }
    if (frame.outcome.kind !== "waiting") {
      if (options.show && !tty) io.stdout.write(`${lines.join("\n")}\n`);
      if (frame.outcome.kind === "failed") {
        const name = service.spec?.name ?? serviceId;
        const errors = frame.outcome.taskErrors;
        throw new ShoalError(
          CliErrorCode.NotConverged,
          `service "${name}" did not converge: ${frame.outcome.reason}${errors.map((e) => `\n  ${e}`).join("")}`,
          {
            hint:
              frame.outcome.hint ??
              `see \`shoal service ps --no-trunc ${name}\`; the service keeps trying unless you update or remove it`,
            details: { taskErrors: errors },
          },
        );
      }
      return;
    }
    await clock.sleep(pollMs);
  }
}

export function emptyTaskFilters(serviceIds: string[] = []) {
  return {
    names: [],
    namePrefixes: [],
    ids: [],
    idPrefixes: [],
    labels: {},
    serviceIds,
    nodeIds: [],
    desiredStates: [],
    slots: [],
  };
}
