// node.json in the data dir: the cluster this daemon belongs to, its node id, its role and the
// addresses it was set up with. Absent = in no cluster yet (the daemon waits for init or join).
// Written under a temporary name, fsynced and renamed.
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { ShoalError } from "@shoal/base";
import { DaemonErrorCode } from "./errors.js";

export type NodeRoleName = "worker" | "manager";

export interface NodeState {
  nodeId: string;
  clusterId: string;
  role: NodeRoleName;
  /** The cluster port's bind address (managers) and the address other nodes reach this node at. */
  listenAddress: string;
  advertiseAddress: string;
  /** Managers to dial first after a restart (the session learns the current list). */
  managers: string[];
}

export async function readNodeState(path: string): Promise<NodeState | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  let parsed: Partial<NodeState>;
  try {
    parsed = JSON.parse(text) as Partial<NodeState>;
  } catch (err) {
    throw corrupt(path, err);
  }
  if (
    typeof parsed.nodeId !== "string" ||
    typeof parsed.clusterId !== "string" ||
    (parsed.role !== "worker" && parsed.role !== "manager") ||
    typeof parsed.listenAddress !== "string" ||
    typeof parsed.advertiseAddress !== "string" ||
    !Array.isArray(parsed.managers)
  ) {
    throw corrupt(path);
  }
  return parsed as NodeState;
}

export async function writeNodeState(path: string, state: NodeState): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, "w", 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(state)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function corrupt(path: string, cause?: unknown): ShoalError {
  return new ShoalError(DaemonErrorCode.StateCorrupt, `"${path}" is not a node state file`, {
    hint: "restore it, or stop the daemon, empty its data dir and join the cluster again",
    ...(cause === undefined ? {} : { cause }),
  });
}
