// Each crash window of the runtime, reproduced by a runtime in a child process that SIGKILLs
// itself at the named step (the `crashAt` option), then recovered by `ContainerRuntime.open`
// here, on real runc and conmon.
import { execFileSync } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageErrorCode } from "../image/errors.js";
import { LocalImageStore } from "../image/image-store.js";
import { buildBusyboxImage, writeOciLayout } from "../testing/busybox-image.js";
import { startChildRuntime } from "./crash-child.js";
import { CrashPoint } from "./crash-points.js";
import { ContainerErrorCode } from "./errors.js";
import { ContainerRuntime } from "./runtime.js";
import { makeSandbox, type Sandbox } from "./test-support.js";
import type { RuntimeMainArgs, Step } from "./testdata/runtime-main.js";

const sleeper = { image: "busybox", command: ["/bin/sh", "-c", "sleep 60"] };
/** Exits 43 on SIGTERM: a stop that honours the grace period sees 43, a SIGKILL 137. */
const graceful = {
  image: "busybox",
  command: ["/bin/sh", "-c", "trap 'exit 43' TERM; while true; do sleep 0.1; done"],
  stopGracePeriodMs: 20_000,
};

describe("crash windows, each killed at its step in a child process and recovered here", () => {
  let sb: Sandbox;
  let n = 0;
  beforeAll(async () => {
    sb = await makeSandbox();
  });
  afterAll(async () => {
    await sb?.destroy();
  });

  /** Runs `steps` in a child runtime on root `rt` that dies at `crashAt`; resolves once it died. */
  async function crashAt(crash: CrashPoint, steps: Step[], extra: Partial<RuntimeMainArgs> = {}) {
    await sb.closeAll();
    const child = startChildRuntime({
      root: join(sb.dir, "rt"),
      runcRoot: sb.runcRoot,
      cgroupParent: sb.cgroupParent,
      rootfs: sb.rootfs,
      crashAt: crash,
      steps,
      ...extra,
    });
    const end = await child.ended;
    expect(end.signal, `child ended by ${end.code}: ${end.stderr}`).toBe("SIGKILL");
    return child;
  }

  const id = () => `crash-${++n}`;

  it("start: killed after the intent, before the process ran: settled as created, and starts", async () => {
    const c = id();
    await crashAt(CrashPoint.StartAfterIntent, [
      { op: "create", id: c, spec: sleeper },
      { op: "start", id: c },
    ]);
    const rt = await sb.open();
    expect(rt.recovery.settledStarts).toEqual([{ id: c, started: false }]);
    expect((await rt.inspect(c)).state).toBe("created");
    expect((await rt.start(c)).state).toBe("running");
    await rt.remove(c);
  });

  it("start: killed after runc let the process run, before recording it: running, and stop gives the grace period", async () => {
    const c = id();
    await crashAt(CrashPoint.StartAfterRun, [
      { op: "create", id: c, spec: graceful },
      { op: "start", id: c },
    ]);
    const rt = await sb.open();
    expect(rt.recovery.settledStarts).toEqual([{ id: c, started: true }]);
    expect((await rt.inspect(c)).state).toBe("running");
    await expect(rt.start(c)).rejects.toMatchObject({ code: ContainerErrorCode.InvalidState });
    // Give the shell time to set its trap.
    await new Promise((r) => setTimeout(r, 300));
    expect((await rt.stop(c)).exitCode).toBe(43);
    await rt.remove(c);
  });

  it("create: killed after runc create, record still creating: torn down, nothing left", async () => {
    const c = id();
    await crashAt(CrashPoint.CreateAfterConmon, [{ op: "create", id: c, spec: sleeper }]);
    const rt = await sb.open();
    expect(rt.recovery.cleanedUp).toContain(c);
    expect(await rt.list()).toEqual([]);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
  });

  it("create: runc state holding only exec.fifo (runc killed mid-create) is cleaned, and the id can be created again", async () => {
    const c = id();
    await sb.open(); // a runtime on the root, so the next open is a restart
    const runcDir = join(sb.runcRoot, c);
    await mkdir(runcDir, { recursive: true });
    execFileSync("mkfifo", [join(runcDir, "exec.fifo")]);
    const rt = await sb.open();
    expect(rt.recovery.cleanedUp).toContain(c);
    const created = await rt.create({ id: c, spec: sleeper, owner: { taskId: "t", serviceId: "s" } });
    expect((await rt.start(created.id)).state).toBe("running");
    await rt.remove(c);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
  });

  describe("remove, with holds in the real image store", () => {
    const imagesRoot = () => join(sb.dir, "images");
    const ref = "fixtures/crash:v1";
    beforeAll(async () => {
      const store = new LocalImageStore({ root: imagesRoot() });
      await store.open();
      const layout = join(sb.dir, "layout");
      await writeOciLayout(await buildBusyboxImage("one-layer"), layout, ref);
      await store.importImage(layout);
    });

    for (const step of [
      CrashPoint.RemoveAfterMark,
      CrashPoint.TeardownBeforeRelease,
      CrashPoint.TeardownBeforeRecordRemoval,
    ]) {
      it(`killed at ${step}: reopen finishes the remove and the image is no longer in use`, async () => {
        const c = id();
        await crashAt(
          step,
          [
            { op: "create", id: c, spec: { ...sleeper, image: ref } },
            { op: "start", id: c },
            { op: "remove", id: c },
          ],
          { imagesRoot: imagesRoot() },
        );
        const store = new LocalImageStore({ root: imagesRoot() });
        await store.open();
        const rt = await sb.open({ images: store });
        expect(rt.recovery.cleanedUp).toContain(c);
        expect(await rt.list()).toEqual([]);
        expect(store.holderIds()).toEqual([]);
        expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
        // Untag and re-tag: IMAGE_IN_USE here would mean a hold outlived its container.
        const image = store.get(ref);
        expect(image).toBeDefined();
        await store.tag(ref, "fixtures/crash:keep");
        await expect(store.remove("fixtures/crash:keep")).resolves.toBeDefined();
        await expect(store.remove(ref)).resolves.toBeDefined();
        const again = new LocalImageStore({ root: imagesRoot() });
        await again.open();
        expect(again.get(ref)).toBeUndefined();
        // Back for the next case.
        const layout = join(sb.dir, "layout");
        await again.importImage(layout);
      });
    }

    it("releases on open a hold whose container left no trace (record and exit file gone), durably", async () => {
      const c = id();
      // Torn down up to the release, then the container's dir and exit file deleted: what an
      // older version's remove (record first) or a hand-deleted dir leaves — a hold of nobody.
      await crashAt(
        CrashPoint.TeardownBeforeRelease,
        [
          { op: "create", id: c, spec: { ...sleeper, image: ref } },
          { op: "start", id: c },
          { op: "remove", id: c },
        ],
        { imagesRoot: imagesRoot() },
      );
      const root = join(sb.dir, "rt");
      await rm(join(root, "containers", c), { recursive: true, force: true });
      await rm(join(root, "exits", c), { force: true });
      const before = new LocalImageStore({ root: imagesRoot() });
      await before.open();
      expect(before.holderIds()).toEqual([c]);
      await expect(before.remove(ref)).rejects.toMatchObject({ code: ImageErrorCode.InUse });

      const store = new LocalImageStore({ root: imagesRoot() });
      await store.open();
      const rt = await sb.open({ images: store });
      expect(rt.recovery.releasedHolds).toEqual([c]);
      expect(rt.recovery.cleanedUp).not.toContain(c);
      expect(store.holderIds()).toEqual([]);
      const again = new LocalImageStore({ root: imagesRoot() });
      await again.open();
      expect(again.holderIds()).toEqual([]);
      await expect(again.remove(ref)).resolves.toMatchObject({ untagged: [`docker.io/${ref}`] });
      await again.importImage(join(sb.dir, "layout"));
    });

    it("keeps the holds of adopted containers of the real store, and releases them at remove", async () => {
      const rt = await sb.open({ images: await openStore() });
      const c = await rt.create({ spec: { ...sleeper, image: ref }, owner: { taskId: "t", serviceId: "s" } });
      await rt.close();
      const store = await openStore();
      const next = await sb.open({ images: store });
      expect(next.recovery).toMatchObject({ adopted: [c.id], releasedHolds: [] });
      expect(store.holderIds()).toEqual([c.id]);
      await next.remove(c.id);
      expect(store.holderIds()).toEqual([]);
    });

    async function openStore(): Promise<LocalImageStore> {
      const store = new LocalImageStore({ root: imagesRoot() });
      await store.open();
      return store;
    }
  });
});

describe("the data dir lock and the records", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await makeSandbox();
  });
  afterAll(async () => {
    await sb?.destroy();
  });

  it("does not take a stale owner.pid whose pid is alive (reused after a reboot) for an owner", async () => {
    const root = join(sb.dir, "stale");
    await mkdir(root, { recursive: true });
    await writeFile(join(root, "owner.pid"), "1\n");
    const rt = await sb.open({ root });
    expect(rt.recovery).toEqual({ adopted: [], cleanedUp: [], settledStarts: [], releasedHolds: [] });
    await rt.close();
  });

  it("refuses a second runtime in another process with CONTAINER_ROOT_IN_USE, and opens once it died", async () => {
    const root = join(sb.dir, "taken");
    const child = startChildRuntime({
      root,
      runcRoot: sb.runcRoot,
      cgroupParent: sb.cgroupParent,
      rootfs: sb.rootfs,
      steps: [],
    });
    await child.until((l) => l.opened === true);
    await expect(ContainerRuntime.open(sb.options({ root }))).rejects.toMatchObject({
      code: ContainerErrorCode.RootInUse,
      message: `container root "${root}" is in use by another runtime (process ${child.pid})`,
    });
    child.kill();
    await child.ended;
    const rt = await sb.open({ root });
    await rt.close();
  });

  it("refuses a second runtime in the same process, and calls after close", async () => {
    const rt = await ContainerRuntime.open(sb.options({ root: join(sb.dir, "same") }));
    await expect(ContainerRuntime.open(sb.options({ root: join(sb.dir, "same") }))).rejects.toMatchObject({
      code: ContainerErrorCode.RootInUse,
    });
    await rt.close();
    await expect(rt.list()).rejects.toMatchObject({ code: ContainerErrorCode.Closed });
    const again = await ContainerRuntime.open(sb.options({ root: join(sb.dir, "same") }));
    await again.close();
  });

  it("refuses to open over an unreadable record and leaves its container running", async () => {
    const root = join(sb.dir, "rt");
    const rt = await sb.open();
    const c = await rt.create({ spec: sleeper, owner: { taskId: "t", serviceId: "s" } });
    await rt.start(c.id);
    await rt.close();
    const file = join(root, "containers", c.id, "state.json");
    const good = await readFile(file, "utf8");
    await writeFile(file, good.slice(0, 40));
    const err = await ContainerRuntime.open(sb.options()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ContainerErrorCode.RecordUnreadable });
    expect((err as Error).message).toContain(`container record "${file}" cannot be read`);
    const runcState = JSON.parse(
      execFileSync("runc", ["--root", sb.runcRoot, "state", c.id], { encoding: "utf8" }),
    ) as { status: string };
    expect(runcState.status).toBe("running");
    await writeFile(file, good);
    const back = await sb.open();
    expect(back.recovery.adopted).toEqual([c.id]);
    expect((await back.inspect(c.id)).state).toBe("running");
    await back.remove(c.id);
  });

  it("does not trust a recorded pid that now names another process (reboot or reuse)", async () => {
    const root = join(sb.dir, "rt");
    const rt = await sb.open();
    const c = await rt.create({ spec: sleeper, owner: { taskId: "t", serviceId: "s" } });
    await rt.start(c.id);
    await rt.close();
    // Monitor and process die while no runtime runs (as in a reboot: no exit file is written) ...
    const dir = join(root, "containers", c.id);
    process.kill(Number((await readFile(join(dir, "conmon.pid"), "utf8")).trim()), "SIGKILL");
    process.kill(c.pid as number, "SIGKILL");
    // ... and the recorded pid now belongs to a live process of another boot.
    const record = JSON.parse(await readFile(join(dir, "state.json"), "utf8")) as Record<string, unknown>;
    expect(record.pidIdentity).toMatchObject({ pid: c.pid });
    await writeFile(
      join(dir, "state.json"),
      JSON.stringify({
        ...record,
        pid: 1,
        pidIdentity: { ...(record.pidIdentity as object), pid: 1, bootId: "another-boot" },
      }),
    );
    const next = await sb.open();
    expect((await next.inspect(c.id)).exit).toMatchObject({ exitCode: 255 });
    await next.remove(c.id);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
  });
});

describe("image holds on open", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await makeSandbox();
  });
  afterAll(async () => {
    await sb?.destroy();
  });

  it("releases holds of containers that do not exist and keeps those of adopted ones", async () => {
    const rt = await sb.open();
    const c = await rt.create({ spec: sleeper, owner: { taskId: "t", serviceId: "s" } });
    await rt.close();
    // A hold whose container dir is gone (an older version's remove, a hand-deleted dir).
    await sb.images.acquire("busybox", "ghost");
    const next = await sb.open();
    expect(next.recovery.releasedHolds).toEqual(["ghost"]);
    expect(sb.images.holders).toEqual(new Set([c.id]));
    await next.remove(c.id);
    expect(sb.images.holders.size).toBe(0);
  });
});
