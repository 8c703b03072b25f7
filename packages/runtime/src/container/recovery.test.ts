import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSandbox, type Sandbox } from "./test-support.js";

const owner = { taskId: "t", serviceId: "s" };
const sleeper = { image: "busybox", command: ["/bin/sh", "-c", "sleep 60"] };

/** Rewrites a container's state.json as a crash at that point would have left it. */
async function setPhase(root: string, id: string, phase: string): Promise<void> {
  const path = join(root, "containers", id, "state.json");
  const record = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  await writeFile(path, JSON.stringify({ ...record, phase }));
}

describe("recovery of interrupted creates and removes", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await makeSandbox();
  });
  afterAll(async () => {
    await sb?.destroy();
  });

  it("tears down what a crash left half-made, half-removed or unrecorded, and adopts the rest", async () => {
    const root = join(sb.dir, "rt");
    const first = sb.runtime();
    const creating = await first.create({ spec: sleeper, owner });
    const removing = await first.create({ spec: sleeper, owner });
    const unrecorded = await first.create({ spec: sleeper, owner });
    const healthy = await first.create({ spec: sleeper, owner });
    for (const c of [creating, removing, unrecorded, healthy]) await first.start(c.id);
    first.close();
    // A create that died before its last write, a remove that died after marking its record, and a
    // create that died before writing any record (mount, cgroup and runc state exist regardless).
    await setPhase(root, creating.id, "creating");
    await setPhase(root, removing.id, "removing");
    await rm(join(root, "containers", unrecorded.id, "state.json"));

    const second = sb.runtime();
    const report = await second.open();
    expect(report.adopted).toEqual([healthy.id]);
    expect(report.cleanedUp.sort()).toEqual([creating.id, removing.id, unrecorded.id].sort());
    expect((await second.list()).map((c) => [c.id, c.state])).toEqual([[healthy.id, "running"]]);
    expect(sb.images.holders).toEqual(new Set([healthy.id]));
    await second.remove(healthy.id);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
  });

  it("reports a container whose conmon and process were killed behind its back as exited (255)", async () => {
    const rt = sb.runtime();
    const c = await rt.create({ spec: sleeper, owner });
    await rt.start(c.id);
    const conmonPid = Number(
      (await readFile(join(sb.dir, "rt", "containers", c.id, "conmon.pid"), "utf8")).trim(),
    );
    process.kill(conmonPid, "SIGKILL");
    process.kill(c.pid as number, "SIGKILL");
    const exit = await rt.wait(c.id);
    expect(exit.exitCode).toBe(255);
    expect((await rt.inspect(c.id)).state).toBe("exited");
    await rt.remove(c.id);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
  });

  it("refuses a data dir that another live process runs a runtime on", async () => {
    const root = join(sb.dir, "taken");
    await mkdir(root, { recursive: true });
    await writeFile(join(root, "owner.pid"), "1\n");
    const rt = sb.runtime({ root });
    await expect(rt.open()).rejects.toThrowError(`container root "${root}" is in use by process 1`);
  });

  it("rejects bad input with a clear error and leaves nothing behind", async () => {
    const rt = sb.runtime();
    await expect(rt.create({ id: "../x", spec: sleeper, owner })).rejects.toThrowError(
      'container id "../x" must be',
    );
    await expect(rt.create({ spec: { ...sleeper, user: "nobody-here" }, owner })).rejects.toMatchObject({
      code: "CONTAINER_USER_NOT_FOUND",
      message: `user "nobody-here" not found in the image's /etc/passwd`,
    });
    await expect(rt.create({ spec: { ...sleeper, capAdd: ["FLY"] }, owner })).rejects.toThrowError(
      'capability "FLY" is not known',
    );
    await expect(
      rt.create({
        spec: { ...sleeper, mounts: [{ kind: "bind", source: join(sb.dir, "missing"), target: "/m" }] },
        owner,
      }),
    ).rejects.toMatchObject({
      code: "CONTAINER_MOUNT_SOURCE_NOT_FOUND",
      message: `bind mount source "${join(sb.dir, "missing")}" (for "/m") does not exist on this node`,
    });
    const c = await rt.create({ id: "fixed-id", spec: sleeper, owner });
    await expect(rt.create({ id: "fixed-id", spec: sleeper, owner })).rejects.toThrowError(
      'container "fixed-id" already exists',
    );
    await rt.remove(c.id);
    expect(await rt.list()).toEqual([]);
    expect(sb.images.holders.size).toBe(0);
    expect(await readdir(join(sb.dir, "rt", "containers"))).toEqual([]);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
  });
});
