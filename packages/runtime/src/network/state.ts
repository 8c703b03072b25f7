import { readFile } from "node:fs/promises";
import { ShoalError } from "@shoal/base";
import { writeFileDurable } from "../durable-write.js";
import { NetworkErrorCode } from "./errors.js";

export const Protocol = { Tcp: "tcp", Udp: "udp" } as const;
export type Protocol = (typeof Protocol)[keyof typeof Protocol];

/** A host-mode published port as recorded: always a concrete node port. */
export interface PortBinding {
  protocol: Protocol;
  targetPort: number;
  publishedPort: number;
}

/** Everything the node holds for one attached container. */
export interface Lease {
  containerId: string;
  /** Container address on the node bridge; "" for mode none. */
  ip: string;
  /** Named network namespace (under /run/netns). */
  netns: string;
  /** Host-side veth name; "" for mode none. */
  hostVeth: string;
  ports: PortBinding[];
}

/** The node's recorded network state: the source of truth that kernel state is reconciled to. */
export interface NetworkState {
  version: 1;
  subnet: string;
  leases: Record<string, Lease>;
  /** The IPAM's next offset to try (see `Ipam.cursor`); absent in records of earlier versions. */
  ipamCursor?: number;
}

export function emptyState(subnet: string): NetworkState {
  return { version: 1, subnet, leases: {} };
}

export async function loadState(path: string, subnet: string): Promise<NetworkState> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return emptyState(subnet);
    throw err;
  }
  try {
    const state = JSON.parse(text) as NetworkState;
    const ok =
      state !== null &&
      state.version === 1 &&
      typeof state.subnet === "string" &&
      typeof state.leases === "object" &&
      state.leases !== null;
    if (!ok) throw new Error("unknown format");
    return state;
  } catch (err) {
    throw new ShoalError(NetworkErrorCode.StateCorrupt, `network state "${path}" cannot be read`, {
      cause: err,
      hint: "move the file away and restart; leftover interfaces and rules are then removed",
    });
  }
}

/** Writes the state atomically and durably (temp file, fsync, rename, directory fsync). */
export async function saveState(path: string, state: NetworkState): Promise<void> {
  await writeFileDurable(path, JSON.stringify(state));
}
