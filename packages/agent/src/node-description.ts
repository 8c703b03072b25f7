import { arch, cpus, hostname, networkInterfaces, totalmem } from "node:os";
import type { NodeDescription } from "@shoal/proto";

/** Go's GOARCH names, which images and placement constraints use. */
const ARCHITECTURES: Readonly<Record<string, string>> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
};

export interface NodeDescriptionOptions {
  /** Labels from the daemon's command line (`engine.labels.<name>` in constraints). */
  engineLabels?: Record<string, string>;
  engineVersion?: string;
  /** Overrides the host name (tests with several agents on one host). */
  hostname?: string;
  /** Overrides the addresses found on the host's interfaces. */
  addresses?: string[];
}

/** What the node tells the dispatcher about itself: host name, platform, capacity, addresses. */
export function describeNode(options: NodeDescriptionOptions = {}): NodeDescription {
  return {
    hostname: options.hostname ?? hostname(),
    platform: { os: "linux", architecture: ARCHITECTURES[arch()] ?? arch() },
    resources: { nanoCpus: cpus().length * 1_000_000_000, memoryBytes: totalmem(), pids: 0, generic: [] },
    engine: { engineVersion: options.engineVersion ?? "", labels: { ...options.engineLabels } },
    addresses: options.addresses ?? hostAddresses(),
  };
}

function hostAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal) out.push(a.address);
  }
  return out;
}
