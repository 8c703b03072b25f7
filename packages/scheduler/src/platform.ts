import type { SchedulerPlatform } from "./types.js";

// Daemons report `uname -m` names, images use Go names; both mean the same machine.
const ARCH_ALIASES: Readonly<Record<string, string>> = {
  x86_64: "amd64",
  "x86-64": "amd64",
  aarch64: "arm64",
  armv8: "arm64",
};

/** Lower-cases an architecture and maps its aliases onto one name (x86_64 → amd64, aarch64 → arm64). */
export function normalizeArch(arch: string): string {
  const lower = arch.trim().toLowerCase();
  return ARCH_ALIASES[lower] ?? lower;
}

/** True when the node's platform is one of `wanted` (an empty list accepts every platform). */
export function platformMatches(wanted: readonly SchedulerPlatform[], node: SchedulerPlatform): boolean {
  if (wanted.length === 0) return true;
  const os = node.os.trim().toLowerCase();
  const arch = normalizeArch(node.architecture);
  for (const p of wanted) {
    const osOk = p.os === "" || p.os.trim().toLowerCase() === os;
    const archOk = p.architecture === "" || normalizeArch(p.architecture) === arch;
    if (osOk && archOk) return true;
  }
  return false;
}
