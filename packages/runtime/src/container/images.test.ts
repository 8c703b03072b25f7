import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { ShoalError } from "@shoal/base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ignoring } from "../ignore.js";
import { ImageErrorCode } from "../image/errors.js";
import { LocalImageStore } from "../image/image-store.js";
import { isPermanent } from "../permanence.js";
import { buildBusyboxImage, THREE_LAYER_TREE, writeOciLayout } from "../testing/busybox-image.js";
import { makeSandbox, type Sandbox } from "./test-support.js";
import type { LogEntry } from "./types.js";

async function collect(it: AsyncIterable<LogEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of it) out.push(e.log);
  return out;
}

describe("containers from the image store", () => {
  let sb: Sandbox;
  let store: LocalImageStore;
  beforeAll(async () => {
    sb = await makeSandbox();
    store = new LocalImageStore({ root: join(sb.dir, "images") });
    await store.open();
    const three = await buildBusyboxImage("three-layer", { User: "tester", StopSignal: "SIGINT" });
    const layout = join(sb.dir, "layout");
    await writeOciLayout(three, layout, "fixtures/three:v1");
    await store.importImage(layout);
  });
  afterAll(async () => {
    await sb?.destroy();
  });

  it("shows the whiteout-resolved tree of a three-layer image inside a running container", async () => {
    const rt = await sb.open({ images: store });
    const files = Object.keys(THREE_LAYER_TREE.files);
    const script = [
      ...files.map((f) => `echo "file ${f} $(cat ${f} | tr '\\n' '|')"`),
      ...THREE_LAYER_TREE.absent.map(
        (p) => `if [ -e ${p} ]; then echo "present ${p}"; else echo "absent ${p}"; fi`,
      ),
      `echo "listing $(ls -A ${THREE_LAYER_TREE.opaqueDir.path} | tr '\\n' ' ')"`,
      'echo "user $(id -u):$(id -g):$(id -G)"',
    ].join("; ");
    const c = await rt.create({
      spec: { image: "fixtures/three:v1", command: ["/bin/sh", "-c", script] },
      owner: { taskId: "t", serviceId: "s" },
    });
    await rt.start(c.id);
    expect((await rt.wait(c.id)).exitCode).toBe(0);
    const lines = await collect(rt.logs(c.id));
    for (const f of files)
      expect(lines).toContain(`file ${f} ${(THREE_LAYER_TREE.files[f] as string).replace(/\n/g, "|")}`);
    for (const p of THREE_LAYER_TREE.absent) expect(lines).toContain(`absent ${p}`);
    expect(lines).toContain(`listing ${THREE_LAYER_TREE.opaqueDir.entries.join(" ")} `);
    // The image's User "tester" resolved through its /etc/passwd; wheel (10) lists tester.
    expect(lines).toContain("user 1000:1000:1000 10");
    await rt.remove(c.id);
  });

  it("rejects a garbage image reference as IMAGE_INVALID_REFERENCE (permanent), leaving nothing", async () => {
    const rt = await sb.open({ images: store });
    const err = await rt
      .create({ spec: { image: "Not A Ref!!", command: ["true"] }, owner: { taskId: "t", serviceId: "s" } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ImageErrorCode.InvalidReference });
    expect(isPermanent((err as ShoalError).code)).toBe(true);
    expect(await rt.list()).toEqual([]);
    expect(store.holderIds()).toEqual([]);
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
  });

  it("uses the image's STOPSIGNAL, and leaves no mount, cgroup, runc state or layer dir after removing all", async () => {
    const rt = await sb.open({ images: store });
    const c = await rt.create({
      spec: {
        image: "fixtures/three:v1",
        command: ["/bin/sh", "-c", "trap 'exit 7' INT; while true; do sleep 0.05; done"],
        user: "root",
      },
      owner: { taskId: "t", serviceId: "s" },
    });
    await rt.start(c.id);
    await new Promise((r) => setTimeout(r, 200));
    expect((await rt.stop(c.id, { graceMs: 5000 })).exitCode).toBe(7);
    await expect(store.remove("fixtures/three:v1")).rejects.toThrowError();
    await rt.remove(c.id);
    await store.remove("fixtures/three:v1");
    await store.prune({ all: true });
    expect(await sb.leaks()).toEqual({ mounts: [], cgroups: [], runc: [] });
    expect(await ignoring(readdir(join(sb.dir, "images", "layers")), ["ENOENT"], [])).toEqual([]);
  });
});
