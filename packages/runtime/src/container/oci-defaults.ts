import { readdir, stat } from "node:fs/promises";
import { ignoring } from "../ignore.js";

/**
 * Fixed parts of every container's config.json, after moby's `oci/defaults.go`: the kernel
 * interfaces a container must not see or change.
 */

/** Paths hidden behind /dev/null or an empty tmpfs: they leak host details or poke the kernel. */
export const MASKED_PATHS: readonly string[] = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/interrupts",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

/** Paths remounted read-only: readable for tools like `ps`, but writes would reach the host. */
export const READONLY_PATHS: readonly string[] = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

/**
 * `/sys/devices/system/cpu/<cpu>/thermal_throttle` of every CPU this node has (moby masks the
 * same glob): its counters leak the host's load and can be reset. Read once per process.
 */
export function thermalThrottlePaths(): Promise<readonly string[]> {
  thermalPaths ??= (async () => {
    const base = "/sys/devices/system/cpu";
    const names = await ignoring(readdir(base), ["ENOENT"], [] as string[]);
    const out: string[] = [];
    for (const n of names
      .filter((x) => /^cpu\d+$/.test(x))
      .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))) {
      const p = `${base}/${n}/thermal_throttle`;
      if (
        await ignoring(
          stat(p).then(() => true),
          ["ENOENT", "ENOTDIR"],
          false,
        )
      )
        out.push(p);
    }
    return out;
  })();
  return thermalPaths;
}
let thermalPaths: Promise<readonly string[]> | undefined;

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** The pseudo filesystems every container gets, in mount order. */
export function baseMounts(): OciMount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["ro", "nosuid", "noexec", "nodev", "relatime"],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"],
    },
  ];
}

/** CFS period for CPU limits: 100 ms, as Docker uses. */
export const CPU_PERIOD_US = 100_000;
