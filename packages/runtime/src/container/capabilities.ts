import { ShoalError } from "@shoal/base";
import { ContainerErrorCode } from "./errors.js";

/** Docker's default set (moby `oci/caps/defaults.go`): enough for typical daemons, nothing more. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Every capability the kernel headers name up to Linux 5.9; "ALL" expands to these. */
export const KNOWN_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/** "net_admin", "NET_ADMIN" and "CAP_NET_ADMIN" all mean CAP_NET_ADMIN; "ALL" stays "ALL". */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === "ALL") return upper;
  const full = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  if (!KNOWN_CAPABILITIES.includes(full)) {
    throw new ShoalError(ContainerErrorCode.InvalidSpec, `capability "${name}" is not known`, {
      hint: `use one of ${KNOWN_CAPABILITIES.map((c) => c.slice(4)).join(", ")} or ALL`,
    });
  }
  return full;
}

/**
 * The effective set, as Docker computes it: start from the defaults (everything when `add` has
 * ALL, nothing when `drop` has ALL), remove the drops, then add the adds.
 */
export function resolveCapabilities(add: readonly string[] = [], drop: readonly string[] = []): string[] {
  const adds = add.map(normalizeCapability);
  const drops = drop.map(normalizeCapability);
  let set: Set<string>;
  if (adds.includes("ALL")) set = new Set(KNOWN_CAPABILITIES);
  else if (drops.includes("ALL")) set = new Set();
  else set = new Set(DEFAULT_CAPABILITIES);
  for (const cap of drops) if (cap !== "ALL") set.delete(cap);
  // Adds apply after drops, so a capability both added and dropped by name is kept (moby does
  // the same: the add is the more specific request).
  for (const cap of adds) if (cap !== "ALL") set.add(cap);
  return KNOWN_CAPABILITIES.filter((c) => set.has(c));
}
