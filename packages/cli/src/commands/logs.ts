// `shoal service logs` and `shoal events` (issue 19): read through the manager daemon's admin
// socket (NodeAdmin.ServiceLogs / ClusterEvents), printed as docker prints them.
import { ShoalError } from "@shoal/base";
import { formatLogLine, type LogLine } from "@shoal/bus";
import type { Command } from "commander";
import { CliErrorCode } from "../errors.js";
import type { CommandContext } from "../io.js";
import { nowMs, printJson } from "./common.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since` / `--until`: a duration back from now (`10m`, `1h30m`), an RFC 3339 time, or epoch seconds. */
export function parseTimeFlag(flag: string, value: string | undefined, now: number): number {
  if (value === undefined || value === "") return 0;
  if (/^(\d+(ms|s|m|h|d))+$/.test(value)) {
    let ms = 0;
    for (const m of value.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
    return now - ms;
  }
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    throw new ShoalError(CliErrorCode.Usage, `${flag} "${value}" is not a time`, {
      hint: "give a duration back from now (10m, 2h), an RFC 3339 time, or seconds since the epoch",
    });
  }
  return t;
}

function parseTail(value: string | undefined): number {
  if (value === undefined || value === "all") return -1;
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 0)) {
    throw new ShoalError(CliErrorCode.Usage, `--tail "${value}": must be a number of lines or "all"`);
  }
  return n;
}

interface LogsFlags {
  follow?: boolean;
  since?: string;
  until?: string;
  tail?: string;
  timestamps?: boolean;
  taskIds: boolean;
  trunc: boolean;
  raw?: boolean;
}

export function registerServiceLogs(service: Command, ctx: CommandContext): void {
  service
    .command("logs")
    .summary("show the logs of a service or a task")
    .argument("<service|task>", "a service name or id, or a task id")
    .option("-f, --follow", "go on printing new lines")
    .option("--since <time>", "lines since a time (RFC 3339) or a duration back (10m)")
    .option("--until <time>", "lines before a time (RFC 3339) or a duration back (10m)")
    .option("-n, --tail <lines>", 'the last N lines ("all" by default)')
    .option("-t, --timestamps", "show each line's time")
    .option("--no-task-ids", "leave the task ids out of the prefix")
    .option("--no-trunc", "show whole task ids")
    .option("--raw", "the lines only, no prefix")
    .action(async (target: string, flags: LogsFlags) => {
      const now = nowMs(ctx);
      const request = {
        service: target,
        sinceMs: parseTimeFlag("--since", flags.since, now),
        untilMs: parseTimeFlag("--until", flags.until, now),
        tail: parseTail(flags.tail),
        follow: flags.follow === true,
      };
      const format = {
        timestamps: flags.timestamps === true,
        noTaskIds: !flags.taskIds,
        noTrunc: !flags.trunc,
        raw: flags.raw === true,
      };
      await ctx.withApi((api) =>
        api.adminStream("serviceLogs", request, (m) => {
          if (m.line !== undefined) {
            const line: LogLine = { ...m.line, stream: m.line.stream === "stderr" ? "stderr" : "stdout" };
            const text = `${formatLogLine(line, format)}\n`;
            if (line.stream === "stderr") ctx.io.stderr.write(text);
            else ctx.io.stdout.write(text);
          } else if (m.notice !== "") ctx.io.stderr.write(`${m.notice}\n`);
        }),
      );
    });
}

interface EventsFlags {
  follow?: boolean;
  since?: string;
  until?: string;
  filter: string[];
  type?: string;
  service?: string;
  node?: string;
}

const EVENT_FILTER_KEYS = ["type", "service", "node"] as const;
type EventFilterKey = (typeof EVENT_FILTER_KEYS)[number];

/**
 * docker's `--filter key=value` (type, service, node; each once) merged with the shorthand
 * flags `--type`, `--service`, `--node`; the same key twice is refused.
 */
export function eventFilters(
  flags: Pick<EventsFlags, "filter" | EventFilterKey>,
): Record<EventFilterKey, string> {
  const out: Record<EventFilterKey, string> = { type: "", service: "", node: "" };
  const given = (key: EventFilterKey, value: string, from: string) => {
    if (out[key] !== "") {
      throw new ShoalError(CliErrorCode.Usage, `${from}: the ${key} filter is given twice`, {
        hint: "give each of type, service and node at most once",
      });
    }
    out[key] = value;
  };
  for (const key of EVENT_FILTER_KEYS) {
    const v = flags[key];
    if (v !== undefined && v !== "") given(key, v, `--${key} ${v}`);
  }
  for (const f of flags.filter) {
    const eq = f.indexOf("=");
    const key = f.slice(0, eq);
    const value = f.slice(eq + 1);
    if (eq <= 0 || value === "" || !(EVENT_FILTER_KEYS as readonly string[]).includes(key)) {
      throw new ShoalError(CliErrorCode.Usage, `--filter "${f}" is not a filter`, {
        hint: "use --filter type=service|task|node|leader, --filter service=NAME|ID, --filter node=HOSTNAME|ID",
      });
    }
    given(key as EventFilterKey, value, `--filter ${f}`);
  }
  return out;
}

export function registerEvents(program: Command, ctx: CommandContext): void {
  program
    .command("events")
    .summary("show cluster events (services, tasks, nodes, leader)")
    .option("-f, --follow", "go on printing new events")
    .option("--since <time>", "events since a time (RFC 3339) or a duration back (10m)")
    .option("--until <time>", "events before a time (RFC 3339) or a duration back (10m)")
    .option(
      "--filter <key=value>",
      "type=service|task|node|leader, service=NAME|ID, node=HOSTNAME|ID (as docker's)",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option("--type <type>", "the same as --filter type=TYPE")
    .option("--service <service>", "the same as --filter service=SERVICE")
    .option("--node <node>", "the same as --filter node=NODE")
    .action(async (flags: EventsFlags) => {
      const now = nowMs(ctx);
      const filters = eventFilters(flags);
      const request = {
        sinceMs: parseTimeFlag("--since", flags.since, now),
        untilMs: parseTimeFlag("--until", flags.until, now),
        type: filters.type,
        serviceId: filters.service,
        nodeId: filters.node,
        follow: flags.follow === true,
      };
      const json = ctx.globals().format === "json";
      await ctx.withApi((api) =>
        api.adminStream("clusterEvents", request, (e) => {
          if (json) {
            printJson(ctx, e);
            return;
          }
          const attrs = Object.entries(e.attributes)
            .map(([k, v]) => `${k}=${v}`)
            .join(", ");
          const time = new Date(e.timeMs).toISOString();
          ctx.io.stdout.write(`${time} ${e.type} ${e.action} ${e.id}${attrs === "" ? "" : ` (${attrs})`}\n`);
        }),
      );
    });
}
