import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createHosts, type TestHosts } from "./hosts.js";
import { cleanupStaleHosts, listNetns, listRootLinks, STATE_DIR } from "./registry.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");
const fixture = resolve(here, "../test/fixtures/owner.ts");

/** Starts a harness in another process and resolves with it and its slot once its hosts exist. */
async function startOwner(
  mode: "idle" | "exit" | "throw" = "idle",
): Promise<{ child: ChildProcess; slot: number }> {
  const child = spawn(process.execPath, ["--conditions=shoal-source", "--import", "tsx", fixture, mode], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => {
    stderr += String(b);
  });
  const slot = await new Promise<number>((resolveSlot, reject) => {
    child.stdout?.once("data", (b: Buffer) => resolveSlot((JSON.parse(String(b)) as { slot: number }).slot));
    child.once("exit", (code) =>
      reject(new Error(`owner process exited with ${code} before creating hosts: ${stderr}`)),
    );
  });
  return { child, slot };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((r) =>
    child.exitCode !== null || child.signalCode !== null ? r() : child.once("exit", () => r()),
  );
}

function leftovers(slot: number): string[] {
  return [
    ...listNetns().filter((n) => n.startsWith(`shoal-t${slot}-`)),
    ...listRootLinks().filter((l) => l === `shoaltk${slot}`),
    ...(existsSync(join(STATE_DIR, `${slot}.json`)) ? [`${slot}.json`] : []),
  ];
}

describe("stale cleanup", () => {
  const children: ChildProcess[] = [];
  let mine: TestHosts | undefined;
  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    await mine?.destroy();
    // SIGKILLed owners leave their hosts behind: reap them so this file leaves nothing either.
    await cleanupStaleHosts();
  });

  it("removes a dead owner's hosts and leaves live owners' alone, in this process and in others", async () => {
    mine = await createHosts(1);
    const [crashed, alive] = await Promise.all([startOwner(), startOwner()]);
    children.push(crashed.child, alive.child);
    const full = (slot: number, hosts: number) =>
      [
        `shoal-t${slot}-sw`,
        ...Array.from({ length: hosts }, (_, i) => `shoal-t${slot}-h${i + 1}`),
        `shoaltk${slot}`,
        `${slot}.json`,
      ].sort();
    expect(leftovers(crashed.slot).sort()).toEqual(full(crashed.slot, 2));
    crashed.child.kill("SIGKILL");
    await exited(crashed.child);
    expect(leftovers(crashed.slot).length).toBeGreaterThan(0);

    const removed = await cleanupStaleHosts();

    expect(removed.slots).toContain(crashed.slot);
    expect(removed.netns).toEqual(
      expect.arrayContaining([`shoal-t${crashed.slot}-sw`, `shoal-t${crashed.slot}-h1`]),
    );
    expect(leftovers(crashed.slot)).toEqual([]);
    expect(removed.slots).not.toContain(alive.slot);
    expect(removed.slots).not.toContain(mine.slot);
    expect(leftovers(alive.slot).sort()).toEqual(full(alive.slot, 2));
    expect(leftovers(mine.slot).sort()).toEqual(full(mine.slot, 1));
    const ping = await mine.get(1).exec("busybox", ["ping", "-c", "1", "-W", "1", mine.gateway ?? ""]);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
  });

  it("tears a harness down when its process gets SIGTERM", async () => {
    const owner = await startOwner();
    children.push(owner.child);
    expect(leftovers(owner.slot).length).toBeGreaterThan(0);
    owner.child.kill("SIGTERM");
    await exited(owner.child);
    expect(owner.child.signalCode).toBe("SIGTERM");
    expect(leftovers(owner.slot)).toEqual([]);
  });

  it("tears a harness down when its process exits or throws without destroy()", async () => {
    const owners = await Promise.all([startOwner("exit"), startOwner("throw")]);
    children.push(...owners.map((o) => o.child));
    await Promise.all(owners.map((o) => exited(o.child)));
    expect(owners.map((o) => o.child.exitCode)).toEqual([0, 1]);
    expect(owners.flatMap((o) => leftovers(o.slot))).toEqual([]);
  });

  it("runs at the start of createHosts", async () => {
    const crashed = await startOwner();
    children.push(crashed.child);
    crashed.child.kill("SIGKILL");
    await exited(crashed.child);
    const hosts = await createHosts(0);
    try {
      expect(leftovers(crashed.slot)).toEqual([]);
    } finally {
      await hosts.destroy();
    }
  });
});
