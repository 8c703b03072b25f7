// Cluster addresses from flags and requests (pure but for the interface list it is given):
// a port defaults to 4270, and an advertise address left out is the listen address or, for a
// wildcard listen, the node's one non-loopback IPv4 address (as `docker swarm init` does).
import { networkInterfaces } from "node:os";
import { ShoalError } from "@shoal/base";
import { DaemonErrorCode } from "./errors.js";

const CLUSTER_PORT = 4270;

/** `host` or `host:port` → `host:port`; refuses anything else, naming `what`. */
export function withDefaultPort(address: string, what: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+)(?::(\d+))?$/.exec(address.trim());
  const port = m?.[2] === undefined ? CLUSTER_PORT : Number(m[2]);
  if (m === null || port < 0 || port > 65_535) {
    throw new ShoalError(DaemonErrorCode.InvalidArgument, `${what} "${address}" is not host[:port]`, {
      hint: "write it as 10.0.0.1:4270 (the port defaults to 4270)",
    });
  }
  return `${m[1]}:${port}`;
}

/** `host:port` (or `[v6]:port`) → the host. */
export const hostOf = (address: string) => address.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
const portOf = (address: string) => /:(\d+)$/.exec(address)?.[1] ?? String(CLUSTER_PORT);

export function resolveAdvertiseAddress(
  advertise: string | undefined,
  listen: string,
  interfaces: () => string[] = nonLoopbackIpv4,
): string {
  if (advertise !== undefined && advertise !== "") {
    // A bare host advertises the listen port.
    return /:\d+$/.test(advertise)
      ? withDefaultPort(advertise, "advertise address")
      : `${advertise}:${portOf(listen)}`;
  }
  const host = hostOf(listen);
  if (host !== "0.0.0.0" && host !== "::" && host !== "") return listen;
  const found = interfaces();
  if (found.length !== 1) {
    throw new ShoalError(
      DaemonErrorCode.InvalidArgument,
      found.length === 0
        ? "no address to advertise: this node has no non-loopback IPv4 address"
        : `which address to advertise is ambiguous: ${found.join(", ")}`,
      { hint: "pass --advertise-addr ADDR[:PORT] (or start the daemon with --advertise)" },
    );
  }
  return `${found[0]}:${portOf(listen)}`;
}

function nonLoopbackIpv4(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === "IPv4" && !a.internal)
    .map((a) => (a as { address: string }).address);
}
