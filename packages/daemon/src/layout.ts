// Where one daemon keeps everything, and the kernel names it uses, all derived from its data dir
// (pure), so several daemons on one machine (one per test host) share no path, cgroup, bridge,
// chain or namespace name. The default data dir keeps the runtime's plain names (shoal0, SHOAL).
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";

export const DEFAULT_DATA_DIR = "/var/lib/shoal";
export const DEFAULT_SOCKET_PATH = "/run/shoal/shoal.sock";
export const DEFAULT_LISTEN_ADDRESS = "0.0.0.0:4270";

export interface DaemonLayout {
  dataDir: string;
  /** node.json: which cluster, which node, which role. */
  nodeFile: string;
  /** Cgroup parent of the node's containers. */
  cgroupParent: (nodeId: string) => string;
  bridge: string;
  chainPrefix: string;
  netnsPrefix: string;
}

export function daemonLayout(dataDir: string): DaemonLayout {
  const dir = resolve(dataDir);
  const plain = dir === DEFAULT_DATA_DIR;
  const tag = createHash("sha256").update(dir).digest("hex").slice(0, 8);
  return {
    dataDir: dir,
    nodeFile: join(dir, "node.json"),
    cgroupParent: (nodeId) => `/shoal/${nodeId}`,
    // Interface names are at most 15 bytes, chain names 28 (the longest suffix is -POSTROUTING).
    bridge: plain ? "shoal0" : `shoal${tag}`,
    chainPrefix: plain ? "SHOAL" : `SHOAL-${tag}`,
    netnsPrefix: plain ? "shoal-c-" : `shoal-${tag}-`,
  };
}
