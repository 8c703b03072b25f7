import { systemClock } from "@shoal/base";
import { type PortConfig, PortProtocol, PublishMode } from "@shoal/proto";
import { usageError } from "../errors.js";
import type { CommandContext } from "../io.js";

/** Docker shows ids cut to 12 characters; `--no-trunc` and `-q` show them whole. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

export function nowMs(ctx: CommandContext): number {
  return (ctx.io.clock ?? systemClock).now();
}

/** Docker's HumanDuration ("About a minute", "3 hours"). */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return "Less than a second";
  if (s === 1) return "1 second";
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return "About a minute";
  if (m < 60) return `${m} minutes`;
  const h = Math.round(m / 60);
  if (h === 1) return "About an hour";
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

export function ago(thenMs: number | undefined, now: number): string {
  if (thenMs === undefined || thenMs === 0) return "";
  return `${humanDuration(Math.max(0, now - thenMs))} ago`;
}

const PROTOCOL_NAMES: Record<number, string> = { [PortProtocol.UDP]: "udp", [PortProtocol.SCTP]: "sctp" };

/** `*:8080->80/tcp` as docker's service ls, host-mode ports without the `*:`. */
export function formatPorts(ports: readonly PortConfig[]): string {
  return ports
    .map((p) => {
      const proto = PROTOCOL_NAMES[p.protocol] ?? "tcp";
      const published = p.publishedPort === 0 ? "" : String(p.publishedPort);
      const host = p.publishMode === PublishMode.HOST ? "" : "*";
      return `${host}:${published}->${p.targetPort}/${proto}`;
    })
    .join(", ");
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function parseLabels(values: readonly string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values ?? []) {
    const at = v.indexOf("=");
    const key = at < 0 ? v : v.slice(0, at);
    if (key === "") throw usageError(`${flag} "${v}": needs KEY=VALUE`);
    out[key] = at < 0 ? "" : v.slice(at + 1);
  }
  return out;
}

/** Writes `text` lines for table output; nothing for JSON (the caller prints the object). */
export function say(ctx: CommandContext, text: string): void {
  if (ctx.globals().format !== "json") ctx.io.stdout.write(`${text}\n`);
}

export function printJson(ctx: CommandContext, value: unknown): void {
  ctx.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
