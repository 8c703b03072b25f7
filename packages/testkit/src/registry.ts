import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseIpv4Subnet, ShoalError } from "@shoal/base";
import { runSync } from "./command.js";
import { TestkitErrorCode } from "./errors.js";
import { MAX_SLOT, slotOfNetns, slotOfRootLink } from "./names.js";
import { defaultSubnet, overlaps, parseTestSubnet, type Subnet } from "./subnet.js";

/**
 * Who owns which slot. One JSON file per live harness: `/run/shoal-testkit/<slot>.json`, written
 * (O_EXCL) before any kernel object of that slot exists and removed after the last one is gone.
 * A slot whose file names a dead process — or no file at all — is a crashed run's leftover.
 * /run is a tmpfs: a reboot clears the records together with the namespaces they describe.
 */
export const STATE_DIR = "/run/shoal-testkit";

export interface HarnessRecord {
  slot: number;
  pid: number;
  /** /proc/<pid>/stat start time: a recycled pid does not keep a dead run's slot alive. */
  pidStart: string;
  subnet: string;
  rootLink: boolean;
  createdAt: string;
}

export interface StaleCleanup {
  /** Slots whose owner was dead (or unrecorded) and whose objects were removed. */
  slots: number[];
  netns: string[];
  links: string[];
}

function recordPath(slot: number): string {
  return join(STATE_DIR, `${slot}.json`);
}

/** The start time of a running process, or undefined when it is gone (or a zombie). */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)": state is the 3rd field, starttime the 22nd.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

function isOwnerAlive(record: HarnessRecord): boolean {
  return processStart(record.pid) === record.pidStart;
}

function readRecords(): HarnessRecord[] {
  const records: HarnessRecord[] = [];
  for (const file of readdirSync(STATE_DIR)) {
    if (!/^\d{1,3}\.json$/.test(file)) continue;
    try {
      records.push(JSON.parse(readFileSync(join(STATE_DIR, file), "utf8")) as HarnessRecord);
    } catch {
      // Half-written or corrupt: treat as absent; its slot's objects then count as orphans.
    }
  }
  return records;
}

export function listNetns(): string[] {
  const r = runSync("ip", ["netns", "list"]);
  return r.stdout
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name !== "");
}

export function listRootLinks(): string[] {
  const r = runSync("ip", ["-o", "link", "show"]);
  // "7: shoaltk3@if2: <BROADCAST,…" → "shoaltk3"
  return r.stdout
    .split("\n")
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? "")
    .filter((name) => name !== "");
}

/** Kills what still runs inside a test namespace (it can only be test processes), then deletes it. */
export function deleteNetnsSync(name: string): void {
  for (const pid of runSync("ip", ["netns", "pids", name]).stdout.split("\n")) {
    if (/^\d+$/.test(pid) && Number(pid) !== process.pid) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  runSync("ip", ["netns", "delete", name]);
}

/**
 * Holds the cross-process lock around stale cleanup and slot claiming, so that one process never
 * reaps a slot another has just claimed. The lock is a `flock` child that waits on its stdin: if
 * this process dies, the pipe closes, the child exits and the lock is released by the kernel.
 */
async function withLock<T>(fn: () => T): Promise<T> {
  mkdirSync(STATE_DIR, { recursive: true });
  const holder = spawn("flock", ["-w", "60", join(STATE_DIR, "lock"), "sh", "-c", "echo locked; read _"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let stderr = "";
      holder.stderr.on("data", (b: Buffer) => {
        stderr += b.toString();
      });
      holder.stdout.once("data", () => resolve());
      holder.once("error", reject);
      holder.once("exit", (code) =>
        reject(
          new ShoalError(
            TestkitErrorCode.CommandFailed,
            `testkit lock "${STATE_DIR}/lock" not taken (flock exited ${code}): ${stderr.trim()}`,
          ),
        ),
      );
    });
    return fn();
  } finally {
    holder.stdin.end();
  }
}

function reapLocked(): StaleCleanup {
  const live = new Set<number>();
  for (const record of readRecords()) {
    if (isOwnerAlive(record)) live.add(record.slot);
  }
  const out: StaleCleanup = { slots: [], netns: [], links: [] };
  const dead = new Set<number>();
  // Root link first: deleting it is synchronous, while a deleted namespace's links vanish later.
  for (const link of listRootLinks()) {
    const slot = slotOfRootLink(link);
    if (slot === undefined || live.has(slot)) continue;
    runSync("ip", ["link", "delete", link]);
    out.links.push(link);
    dead.add(slot);
  }
  for (const name of listNetns()) {
    const slot = slotOfNetns(name);
    if (slot === undefined || live.has(slot)) continue;
    deleteNetnsSync(name);
    out.netns.push(name);
    dead.add(slot);
  }
  for (const file of readdirSync(STATE_DIR)) {
    const slot = /^(\d{1,3})\.json$/.exec(file)?.[1];
    if (slot === undefined || live.has(Number(slot))) continue;
    unlinkSync(join(STATE_DIR, file));
    dead.add(Number(slot));
  }
  out.slots = [...dead].sort((a, b) => a - b);
  return out;
}

/** Removes every leftover of crashed harness runs; live harnesses (any process) are left alone. */
export function cleanupStaleHosts(): Promise<StaleCleanup> {
  return withLock(reapLocked);
}

function rootRoutes(): Subnet[] {
  const routes: Subnet[] = [];
  for (const line of runSync("ip", ["-4", "-o", "route", "show"]).stdout.split("\n")) {
    const dest = line.split(" ")[0] ?? "";
    if (dest === "" || dest === "default") continue;
    try {
      // A host route is printed as a bare address.
      routes.push(parseIpv4Subnet(dest.includes("/") ? dest : `${dest}/32`));
    } catch {
      // not an IPv4 destination (e.g. "broadcast", "local" types): cannot clash
    }
  }
  return routes;
}

export interface Claim {
  record: HarnessRecord;
  stale: StaleCleanup;
}

/**
 * Reaps stale slots, then claims a free one. With the default subnet a slot whose 10.231.<slot>.0/24
 * clashes with a route in the root namespace is passed over; an explicit subnet that clashes is an
 * error (only when the root link is on: without it the subnet never leaves the switch namespace).
 */
export function claimSlot(subnet: string | undefined, rootLink: boolean): Promise<Claim> {
  return withLock(() => {
    const stale = reapLocked();
    const routes = rootLink ? rootRoutes() : [];
    const taken = new Set(listNetns().map(slotOfNetns).concat(listRootLinks().map(slotOfRootLink)));
    if (subnet !== undefined) {
      const clash = routes.find((r) => overlaps(r, parseTestSubnet(subnet)));
      if (clash) {
        throw new ShoalError(
          TestkitErrorCode.InvalidOptions,
          `subnet "${subnet}" overlaps route "${clash.cidr}" of the root namespace`,
          { hint: "choose another subnet, or pass rootLink: false" },
        );
      }
    }
    const start = (process.pid * 7 + Math.floor(Math.random() * 256)) % (MAX_SLOT + 1);
    const pidStart = processStart(process.pid) ?? "";
    for (let i = 0; i <= MAX_SLOT; i++) {
      const slot = (start + i) % (MAX_SLOT + 1);
      if (taken.has(slot)) continue;
      const slotSubnet = subnet ?? defaultSubnet(slot);
      if (subnet === undefined && routes.some((r) => overlaps(r, parseTestSubnet(slotSubnet)))) continue;
      const record: HarnessRecord = {
        slot,
        pid: process.pid,
        pidStart,
        subnet: slotSubnet,
        rootLink,
        createdAt: new Date().toISOString(),
      };
      try {
        writeFileSync(recordPath(slot), `${JSON.stringify(record)}\n`, { flag: "wx" });
      } catch {
        continue; // held by a live harness
      }
      return { record, stale };
    }
    throw new ShoalError(
      TestkitErrorCode.NoFreeSlot,
      `no free testkit slot: all ${MAX_SLOT + 1} are held or clash with routes`,
      {
        hint: `look at ${STATE_DIR} and "ip netns list"`,
      },
    );
  });
}

export function releaseSlot(slot: number): void {
  try {
    unlinkSync(recordPath(slot));
  } catch {
    // already gone
  }
}
