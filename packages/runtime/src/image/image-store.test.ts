import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ShoalError } from "@shoal/base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildBusyboxImage,
  FIXTURE_USERS,
  type FixtureImage,
  writeDockerSave,
  writeOciArchive,
  writeOciLayout,
  writeRootfsTar,
} from "../testing/busybox-image.js";
import { ImageErrorCode } from "./errors.js";
import { LocalImageStore } from "./image-store.js";

let work: string;
let one: FixtureImage;
let three: FixtureImage;

beforeAll(async () => {
  if (process.getuid?.() !== 0)
    throw new Error("image store tests need root: unpacked layers keep ownership and overlay xattrs");
  work = await mkdtemp(join(tmpdir(), "shoal-image-store-test-"));
  one = await buildBusyboxImage("one-layer", {
    User: "tester",
    StopSignal: "SIGINT",
    ExposedPorts: { "80/tcp": {} },
  });
  three = await buildBusyboxImage("three-layer");
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function newStore(name: string): Promise<LocalImageStore> {
  const store = new LocalImageStore({ root: join(work, name) });
  await store.open();
  return store;
}

describe("LocalImageStore import", () => {
  it("imports an OCI layout directory with layers in order and the image config", async () => {
    const store = await newStore("oci-dir");
    const layout = join(work, "layout-three");
    await writeOciLayout(three, layout, "127.0.0.1:5000/fixtures/three:v1");
    const [record] = await store.importImage(layout);
    expect(record?.id).toBe(three.configDigest);
    expect(record?.manifestDigest).toBe(three.manifestDigest);
    expect(record?.names).toEqual(["127.0.0.1:5000/fixtures/three:v1"]);
    expect(record?.layers.map((l) => l.diffId)).toEqual(three.layers.map((l) => l.diffId));
    expect(record?.layerDirs).toEqual(record?.layers.map((l) => l.dir));
    expect(await readFile(join(record?.layerDirs[0] as string, "etc/passwd"), "utf8")).toBe(
      FIXTURE_USERS.passwd,
    );
    expect(record?.config.cmd).toEqual(["sh"]);
    expect(store.get("127.0.0.1:5000/fixtures/three:v1")?.id).toBe(three.configDigest);
    expect(store.get(three.configDigest.slice(7, 19))?.id).toBe(three.configDigest);
    expect(store.get("127.0.0.1:5000/fixtures/three:v2")).toBeUndefined();
  });

  it("imports an OCI archive, a docker save tar and a rootfs tar, sharing layer directories", async () => {
    const store = await newStore("archives");
    const ociTar = join(work, "one.oci.tar");
    await writeOciArchive(one, ociTar, "example.com/one:oci");
    const saved = join(work, "three.save.tar");
    await writeDockerSave(three, saved, ["example.com/three:saved"]);
    const rootfs = join(work, "rootfs.tar");
    const rootLayer = await writeRootfsTar(rootfs);

    const [fromOci] = await store.importImage(ociTar);
    expect(fromOci?.config).toMatchObject({
      user: "tester",
      stopSignal: "SIGINT",
      exposedPorts: ["80/tcp"],
      cmd: ["sh"],
    });
    const [fromSave] = await store.importImage(saved);
    expect(fromSave?.id).toBe(three.configDigest);
    expect(fromSave?.names).toEqual(["example.com/three:saved"]);
    expect(fromSave?.layers.map((l) => l.diffId)).toEqual(three.layers.map((l) => l.diffId));
    const [fromRootfs] = await store.importImage(rootfs, {
      ref: "plain/rootfs:1",
      config: { cmd: ["httpd", "-f"] },
    });
    expect(fromRootfs?.names).toEqual(["docker.io/plain/rootfs:1"]);
    expect(fromRootfs?.layers.map((l) => l.diffId)).toEqual([rootLayer.diffId]);
    expect(fromRootfs?.config.cmd).toEqual(["httpd", "-f"]);
    // The one-layer image's layer and the rootfs tar are byte-identical: one directory.
    expect(fromRootfs?.layerDirs[0]).toBe(fromOci?.layerDirs[0]);
    expect((await readdir(join(store.root, "layers"))).length).toBe(4);
  });

  it("rejects what is not an image archive with a clear error", async () => {
    const store = await newStore("bad");
    const err = await store.importImage(join(work, "does-not-exist.tar")).catch((e: unknown) => e);
    expect(ShoalError.is(err, ImageErrorCode.InvalidArchive)).toBe(true);
  });

  it("refuses archive files that point outside the archive", async () => {
    const store = await newStore("escape");
    const dir = join(work, "escaping-save");
    await mkdir(dir);
    await writeFile(
      join(dir, "manifest.json"),
      JSON.stringify([{ Config: "c.json", RepoTags: ["x:1"], Layers: [] }]),
    );
    await symlink("/etc/passwd", join(dir, "c.json"));
    const err = await store.importImage(dir).catch((e: unknown) => e);
    expect(ShoalError.is(err, ImageErrorCode.InvalidArchive)).toBe(true);
    expect((err as Error).message).toBe('archive file "c.json" points outside the archive');
  });
});

describe("LocalImageStore recovery", () => {
  it("open() clears what a crash mid-pull or mid-unpack left behind", async () => {
    const root = join(work, "crashed");
    const store = new LocalImageStore({ root });
    await store.open();
    const layout = join(work, "layout-crash");
    await writeOciLayout(one, layout, "local/kept:1");
    const [kept] = await store.importImage(layout);
    await mkdir(join(root, "layers", ".tmp-deadbeef", "bin"), { recursive: true });
    await mkdir(join(root, "layers", "f".repeat(64)), { recursive: true });
    await writeFile(join(root, "blobs", "sha256", "e".repeat(64)), "orphan");
    await writeFile(join(root, "ingest", "x.part"), "half");
    const reopened = new LocalImageStore({ root });
    await reopened.open();
    expect((await readdir(join(root, "layers"))).sort()).toEqual(
      kept?.layers.map((l) => l.diffId.slice(7)).sort(),
    );
    expect(await readdir(join(root, "ingest"))).toEqual([]);
    expect((await readdir(join(root, "blobs", "sha256"))).length).toBe(3);
    expect(reopened.get("local/kept:1")?.id).toBe(one.configDigest);
  });
});

describe("LocalImageStore holds, remove and prune", () => {
  it("keeps held layers, frees everything once images are removed and released", async () => {
    const root = "lifecycle";
    let store = await newStore(root);
    const layoutOne = join(work, "layout-one");
    const layoutThree = join(work, "layout-three-b");
    await writeOciLayout(one, layoutOne, "local/one:1");
    await writeOciLayout(three, layoutThree, "local/three:1");
    await store.importImage(layoutOne);
    await store.importImage(layoutThree);
    await store.tag("local/three:1", "local/three:alias");
    expect(store.list().length).toBe(2);

    const held = await store.acquire("local/three:1", "container-a");
    await store.acquire("local/three:1", "container-a"); // idempotent per holder
    const busy = await store.remove("local/three:1").catch((e: unknown) => e);
    // Another name is left, so removing one name is a plain untag.
    expect(busy).toMatchObject({ untagged: ["docker.io/local/three:1"], deletedImages: [] });
    const inUse = await store.remove("local/three:alias").catch((e: unknown) => e);
    expect(ShoalError.is(inUse, ImageErrorCode.InUse)).toBe(true);

    expect(store.holderIds()).toEqual(["container-a"]);
    // A restarted runtime sees the same images and holds.
    store = await newStore(root);
    expect(store.get("local/three:alias")?.id).toBe(held.id);
    expect(store.holderIds()).toEqual(["container-a"]);
    await store.remove("local/one:1");
    await store.remove("local/three:alias", { force: true });
    // Still held by container-a: its layers stay until release.
    for (const dir of held.layerDirs) expect((await readdir(dir)).length).toBeGreaterThan(0);
    expect(store.list()).toEqual([expect.objectContaining({ id: held.id, names: [] })]);
    await store.release("container-a");
    await store.release("container-a");
    expect(store.holderIds()).toEqual([]);
    expect((await newStore(root)).holderIds()).toEqual([]);
    expect(store.list()).toEqual([]);
    expect(await readdir(join(store.root, "layers"))).toEqual([]);
    expect(await readdir(join(store.root, "blobs", "sha256"))).toEqual([]);
  });

  it("calls a garbage reference invalid, and a well-formed unknown one missing", async () => {
    const store = await newStore("garbage-ref");
    await expect(store.acquire("Not A Ref!!", "c1")).rejects.toMatchObject({
      code: ImageErrorCode.InvalidReference,
    });
    await expect(store.acquire("busybox:absent", "c1")).rejects.toMatchObject({
      code: ImageErrorCode.NotFound,
    });
    await expect(store.acquire("sha256:abcdef12", "c1")).rejects.toMatchObject({
      code: ImageErrorCode.NotFound,
    });
  });

  it("prune deletes unnamed images, and with all every unheld image", async () => {
    const store = await newStore("prune");
    const layout = join(work, "layout-prune");
    await writeOciLayout(one, layout);
    const [unnamed] = await store.importImage(layout);
    expect(unnamed?.names).toEqual([]);
    await writeOciLayout(three, `${layout}-3`, "local/keep:1");
    await store.importImage(`${layout}-3`);
    const pruned = await store.prune();
    expect(pruned.deletedImages).toEqual([one.configDigest]);
    expect(store.list().map((i) => i.id)).toEqual([three.configDigest]);
    const all = await store.prune({ all: true });
    expect(all.deletedImages).toEqual([three.configDigest]);
    expect(await readdir(join(store.root, "layers"))).toEqual([]);
  });
});
