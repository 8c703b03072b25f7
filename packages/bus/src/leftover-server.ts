// A nats-server left running by a daemon that died without stopping it (kill -9, OOM kill): it
// still holds the client and route ports and the JetStream store, so a new server would fail to
// bind while the old one answers the readiness probe. The daemon's restart ends it first.
import { readFile } from "node:fs/promises";
import type { Clock, Logger } from "@shoal/base";

/** How long the old server gets to flush JetStream on SIGTERM before SIGKILL. */
const GRACE_MS = 5_000;

/**
 * Stops the process named by `pidFile` if it is a nats-server running `configFile` (a pid file
 * that outlived its server may name an unrelated process by now: that one is left alone).
 * Resolves once it is gone; true when there was one.
 */
export async function stopLeftoverServer(
  pidFile: string,
  configFile: string,
  clock: Clock,
  log: Logger,
): Promise<boolean> {
  const pid = Number.parseInt(await readFile(pidFile, "utf8").catch(() => ""), 10);
  if (!Number.isInteger(pid) || pid <= 0 || !(await runsConfig(pid, configFile))) return false;
  log.warn({ pid }, "a nats-server of an earlier run is still serving this data dir; stopping it");
  signal(pid, "SIGTERM");
  const deadline = clock.now() + GRACE_MS;
  while (await runsConfig(pid, configFile)) {
    if (clock.now() > deadline) signal(pid, "SIGKILL");
    await clock.sleep(50);
  }
  return true;
}

/** Whether `pid` is alive (not a zombie) and its command line names `configFile`. */
async function runsConfig(pid: number, configFile: string): Promise<boolean> {
  const [cmdline, stat] = await Promise.all([
    readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => ""),
    readFile(`/proc/${pid}/stat`, "utf8").catch(() => ""),
  ]);
  // Field 3 of stat, after the parenthesised command name, is the state; Z is a zombie.
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "" && state !== "Z" && cmdline.split("\0").includes(configFile);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone between the check and the signal.
  }
}
