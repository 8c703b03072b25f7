import { readFile } from "node:fs/promises";
import { ignoring } from "../ignore.js";

/**
 * A process as the kernel knows it, not only its number: pids are reused, and after a reboot the
 * pid recorded for a container may belong to anything. The boot id tells a new boot; the start
 * time (clock ticks since boot, field 22 of /proc/<pid>/stat) tells a new process of this boot.
 */
export interface ProcessIdentity {
  pid: number;
  startTicks: number;
  bootId: string;
}

const BOOT_ID = "/proc/sys/kernel/random/boot_id";

let bootIdOnce: Promise<string> | undefined;

/** This boot's id (read once per process: it does not change while we run). */
export function currentBootId(): Promise<string> {
  bootIdOnce ??= readFile(BOOT_ID, "utf8").then((s) => s.trim());
  return bootIdOnce;
}

/** State letter and start time of a live pid; undefined when there is no such process. */
async function readStat(pid: number): Promise<{ state: string; startTicks: number } | undefined> {
  const stat = await ignoring(readFile(`/proc/${pid}/stat`, "utf8"), ["ENOENT", "ESRCH"], undefined);
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { state: rest[0] ?? "", startTicks: Number(rest[19]) };
}

export async function identify(pid: number): Promise<ProcessIdentity | undefined> {
  const s = await readStat(pid);
  if (s === undefined) return undefined;
  return { pid, startTicks: s.startTicks, bootId: await currentBootId() };
}

/**
 * True while `who` is running: same boot, same start time, not a zombie. A bare pid (a record
 * written before identities were kept) is taken as alive when some process has it.
 */
export async function isAlive(who: ProcessIdentity | number): Promise<boolean> {
  const pid = typeof who === "number" ? who : who.pid;
  if (typeof who !== "number" && who.bootId !== (await currentBootId())) return false;
  const s = await readStat(pid);
  if (s === undefined || s.state === "Z") return false;
  return typeof who === "number" || s.startTicks === who.startTicks;
}

/** True when `pid` is a live conmon monitoring container `id` (its command line names the id). */
export async function isConmonOf(pid: number, id: string): Promise<boolean> {
  if (!(await isAlive(pid))) return false;
  const cmdline = await ignoring(readFile(`/proc/${pid}/cmdline`, "utf8"), ["ENOENT", "ESRCH"], "");
  const argv = cmdline.split("\0");
  return argv[0]?.endsWith("conmon") === true && argv.includes(id);
}

/** True while `pid` is still runc's init (a created container whose process has not been let run). */
export async function isRuncInit(pid: number): Promise<boolean> {
  const cmdline = await ignoring(readFile(`/proc/${pid}/cmdline`, "utf8"), ["ENOENT", "ESRCH"], "");
  return cmdline.split("\0")[1] === "init";
}
