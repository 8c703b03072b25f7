import { spawn } from "node:child_process";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSandbox, type Sandbox } from "./test-support.js";

const OWNER = fileURLToPath(new URL("./testdata/owner-process.ts", import.meta.url));

/** Starts the owner in its own process group (as a daemon would be) and returns the ids it made. */
function startOwner(args: object): Promise<{ pid: number; ids: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--conditions=shoal-source", "--import", "tsx", OWNER, JSON.stringify(args)],
      {
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
        cwd: fileURLToPath(new URL("../..", import.meta.url)),
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl !== -1) resolve({ pid: child.pid as number, ids: JSON.parse(out.slice(0, nl)) as string[] });
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("exit", (code) =>
      reject(new Error(`owner process exited with ${code} before reporting: ${err}`)),
    );
  });
}

describe("re-adoption after the owning process is SIGKILLed", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await makeSandbox();
  });
  afterAll(async () => {
    await sb?.destroy();
  });

  it("keeps containers running, reports exits and OOM kills that happened meanwhile, and logs without a gap", async () => {
    const ctlDir = join(sb.dir, "ctl");
    await mkdir(ctlDir);
    const root = join(sb.dir, "rt");
    const owner = await startOwner({
      root,
      runcRoot: sb.runcRoot,
      cgroupParent: sb.cgroupParent,
      rootfs: sb.rootfs,
      ctlDir,
      count: 10,
    });
    expect(owner.ids).toHaveLength(10);
    // Kill the owner's whole process group, as a crashing daemon's supervisor would.
    process.kill(-owner.pid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 300));
    await writeFile(join(ctlDir, "stop-0"), "");
    await writeFile(join(ctlDir, "stop-1"), "");
    // Both exit while no runtime process exists; conmon records it in the exit dir.
    for (const id of owner.ids.slice(0, 2)) await waitForFile(join(root, "exits", id));

    const rt = await sb.open();
    const report = rt.recovery;
    expect(report.adopted.sort()).toEqual([...owner.ids].sort());
    expect(report.cleanedUp).toEqual([]);
    const byId = new Map((await rt.list()).map((c) => [c.id, c]));
    expect(byId.size).toBe(10);
    const [first, second, ...rest] = owner.ids as [string, string, ...string[]];
    expect(byId.get(first)).toMatchObject({ state: "exited", exit: { exitCode: 40, oomKilled: false } });
    expect(byId.get(second)).toMatchObject({ state: "exited", exit: { exitCode: 137, oomKilled: true } });
    expect(byId.get(first)?.exit?.finishedAtMs).toBeGreaterThan(
      byId.get(first)?.startedAtMs ?? Number.POSITIVE_INFINITY,
    );
    for (const id of rest) expect(byId.get(id)?.state).toBe("running");

    // A running container's log counts 0, 1, 2, … across the owner's death, with no number missing.
    const target = rest[0] as string;
    await new Promise((r) => setTimeout(r, 300));
    const numbers: number[] = [];
    for await (const e of rt.logs(target)) numbers.push(Number(e.log));
    expect(numbers.length).toBeGreaterThan(10);
    expect(numbers).toEqual(numbers.map((_, i) => i));
    // And a follow picks up lines written from now on.
    const ac = new AbortController();
    const last = numbers.at(-1) as number;
    for await (const e of rt.logs(target, { follow: true, tail: 0, signal: ac.signal })) {
      if (Number(e.log) > last + 2) {
        ac.abort();
        break;
      }
    }
    for (const id of owner.ids) await rt.remove(id);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
  });
});

async function waitForFile(path: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (
    !(await stat(path).then(
      () => true,
      () => false,
    ))
  ) {
    if (Date.now() > deadline) throw new Error(`"${path}" did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
