import { isIP } from "node:net";

/** A published or exposed port as the normalized stack model holds it. */
export interface PortConfig {
  mode: "ingress" | "host";
  target: number;
  published?: number;
  protocol: "tcp" | "udp" | "sctp";
  host_ip?: string;
}

export interface PortRangeSpec {
  hostIp?: string;
  published?: [number, number];
  target: [number, number];
  protocol: "tcp" | "udp" | "sctp";
}

const PROTOCOLS = new Set(["tcp", "udp", "sctp"]);

function parseRange(s: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  if (m === null) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start < 1 || end > 65535 || end < start) return undefined;
  return [start, end];
}

/**
 * Parses the short port syntax `[ip:][published[-end]:]target[-end][/protocol]` as Docker's
 * nat.ParsePortSpec does (IPv6 addresses in brackets). Undefined when it is not a port spec.
 */
export function parsePortRange(spec: string): PortRangeSpec | undefined {
  let rest = spec.trim();
  let protocol = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    protocol = rest.slice(slash + 1).toLowerCase();
    rest = rest.slice(0, slash);
    if (!PROTOCOLS.has(protocol)) return undefined;
  }
  const parts = rest.split(":");
  let hostIp: string | undefined;
  let published: string | undefined;
  const target = parts[parts.length - 1] as string;
  if (parts.length === 2) published = parts[0];
  else if (parts.length >= 3) {
    published = parts[parts.length - 2];
    hostIp = parts
      .slice(0, -2)
      .join(":")
      .replace(/^\[(.*)\]$/, "$1");
    if (!isIp(hostIp)) return undefined;
  }
  const targetRange = parseRange(target);
  if (targetRange === undefined) return undefined;
  const out: PortRangeSpec = { target: targetRange, protocol: protocol as PortRangeSpec["protocol"] };
  if (hostIp !== undefined && hostIp !== "") out.hostIp = hostIp;
  if (published !== undefined && published !== "") {
    const p = parseRange(published);
    if (p === undefined) return undefined;
    // A published range must pair one to one with the target range.
    if (p[1] - p[0] !== targetRange[1] - targetRange[0]) return undefined;
    out.published = p;
  }
  return out;
}

function isIp(s: string): boolean {
  return isIP(s) !== 0;
}

/** Expands a short-syntax port into one entry per port, as docker/cli's loader does. */
export function expandPortSpec(spec: string): PortConfig[] | undefined {
  const r = parsePortRange(spec);
  if (r === undefined) return undefined;
  const out: PortConfig[] = [];
  for (let i = 0; i <= r.target[1] - r.target[0]; i++) {
    const p: PortConfig = { mode: "ingress", target: r.target[0] + i, protocol: r.protocol };
    if (r.published !== undefined) p.published = r.published[0] + i;
    if (r.hostIp !== undefined) p.host_ip = r.hostIp;
    out.push(p);
  }
  return out;
}
