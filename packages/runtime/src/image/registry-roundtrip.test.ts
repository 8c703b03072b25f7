import { execFileSync } from "node:child_process";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ShoalError } from "@shoal/base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildBusyboxImage,
  type FixtureImage,
  THREE_LAYER_TREE,
  writeDockerSave,
  writeOciLayout,
} from "../testing/busybox-image.js";
import { startRegistry, type TestRegistry, type TestRegistryAuth } from "../testing/registry.js";
import { sha256Digest } from "./digest.js";
import { ImageErrorCode } from "./errors.js";
import { LocalImageStore } from "./image-store.js";
import { MediaType } from "./media-types.js";
import { parseReference } from "./reference.js";
import type { PullProgress, RegistryHostConfig } from "./types.js";

let work: string;
let one: FixtureImage;
let three: FixtureImage;

beforeAll(async () => {
  if (process.getuid?.() !== 0)
    throw new Error("registry round-trip tests need root: pulled layers are unpacked with ownership");
  work = await mkdtemp(join(tmpdir(), "shoal-registry-test-"));
  one = await buildBusyboxImage("one-layer");
  three = await buildBusyboxImage("three-layer");
  await writeOciLayout(one, join(work, "one"));
  await writeOciLayout(three, join(work, "three"));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function store(
  name: string,
  registry: TestRegistry,
  config: RegistryHostConfig,
): Promise<LocalImageStore> {
  const s = new LocalImageStore({ root: join(work, name), registries: { [registry.host]: config } });
  await s.open();
  return s;
}

async function blob(s: LocalImageStore, digest: string): Promise<Buffer> {
  return readFile(join(s.root, "blobs", "sha256", digest.slice(7)));
}

describe.each<TestRegistryAuth>(["none", "basic", "token"])("registry round trip with auth %s", (auth) => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startRegistry({ auth });
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it("pushes the fixture images and pulls back byte-identical layers", async () => {
    const source = await store(`${auth}-source`, registry, registry.hostConfig());
    const oneRef = `${registry.host}/fixtures/one:1`;
    const threeRef = `${registry.host}/fixtures/three:1`;
    await source.importImage(join(work, "one"), { ref: oneRef });
    await source.importImage(join(work, "three"), { ref: threeRef });
    const pushed = await source.push(threeRef);
    expect(pushed.digest).toBe(three.manifestDigest);
    await source.push(oneRef);

    const target = await store(`${auth}-target`, registry, registry.hostConfig());
    const events: PullProgress[] = [];
    // Two concurrent pulls of one reference share the work and agree.
    const joinedEvents: PullProgress[] = [];
    const [a, b] = await Promise.all([
      target.pull(threeRef, { onProgress: (e) => events.push(e) }),
      target.pull(threeRef, { onProgress: (e) => joinedEvents.push(e) }),
    ]);
    expect(a).toEqual(b);
    // The second pull joined the first: it neither downloaded nor checked anything itself.
    expect(joinedEvents).toEqual([]);
    expect(a.id).toBe(three.configDigest);
    expect(a.manifestDigest).toBe(three.manifestDigest);
    expect(a.names).toEqual([threeRef]);
    for (const [i, layer] of three.layers.entries()) {
      expect((await blob(target, layer.digest)).equals(layer.gzip)).toBe(true);
      expect(a.layers[i]?.diffId).toBe(layer.diffId);
    }
    expect(events.filter((e) => e.kind === "layer-downloaded").length).toBe(3);
    expect(events.at(-1)).toEqual({ kind: "done", ref: threeRef, id: three.configDigest });
    const byDigest = await target.pull(`${registry.host}/fixtures/one@${one.manifestDigest}`);
    expect((await blob(target, one.layers[0]?.digest as string)).equals(one.layers[0]?.gzip as Buffer)).toBe(
      true,
    );
    expect(byDigest.names).toEqual([`${registry.host}/fixtures/one@${one.manifestDigest}`]);
    if (auth === "token") expect(registry.tokenServer?.issued()).toBeGreaterThan(0);
    // The pulled layer dirs, stacked by overlayfs, give the tree the whiteouts describe.
    const merged = join(work, `${auth}-merged`);
    await mkdir(merged);
    execFileSync("mount", [
      "-t",
      "overlay",
      "overlay",
      "-o",
      `lowerdir=${[...a.layerDirs].reverse().join(":")}`,
      merged,
    ]);
    try {
      for (const [path, content] of Object.entries(THREE_LAYER_TREE.files)) {
        expect(await readFile(join(merged, path), "utf8")).toBe(content);
      }
      for (const path of THREE_LAYER_TREE.absent)
        await expect(lstat(join(merged, path))).rejects.toThrow(/ENOENT/);
      expect(await readdir(join(merged, THREE_LAYER_TREE.opaqueDir.path))).toEqual([
        ...THREE_LAYER_TREE.opaqueDir.entries,
      ]);
    } finally {
      execFileSync("umount", [merged]);
    }
  });

  it("names a missing image and its registry", async () => {
    const s = await store(`${auth}-missing`, registry, registry.hostConfig());
    const ref = `${registry.host}/fixtures/nope:1`;
    const err = await s.pull(ref).catch((e: unknown) => e);
    expect(ShoalError.is(err, ImageErrorCode.NotFoundInRegistry)).toBe(true);
    expect((err as Error).message).toBe(`image "${ref}" not found in registry "${registry.host}"`);
  });

  if (auth === "none") {
    it("pushes a docker save import (uncompressed layers) and pulls it back", async () => {
      const saved = join(work, "three-save.tar");
      await writeDockerSave(three, saved, [`${registry.host}/fixtures/saved:1`]);
      const source = await store("none-save-source", registry, registry.hostConfig());
      const [imported] = await source.importImage(saved);
      const pushed = await source.push(`${registry.host}/fixtures/saved:1`);
      expect(pushed.digest).toBe(imported?.manifestDigest);
      const target = await store("none-save-target", registry, registry.hostConfig());
      const pulled = await target.pull(`${registry.host}/fixtures/saved:1`);
      expect(pulled.id).toBe(three.configDigest);
      for (const layer of three.layers)
        expect((await blob(target, layer.diffId)).equals(layer.tar)).toBe(true);
    });

    it("stops a pull when its signal aborts and keeps nothing", async () => {
      const s = await store("none-aborted", registry, registry.hostConfig());
      const controller = new AbortController();
      controller.abort();
      const err = await s
        .pull(`${registry.host}/fixtures/three:1`, { signal: controller.signal })
        .catch((e: unknown) => e);
      expect((err as Error).name).toBe("AbortError");
      expect(s.list()).toEqual([]);
    });

    it("speaks HTTPS unless the registry is marked insecure", async () => {
      const s = await store("none-not-insecure", registry, {});
      const err = await s.pull(`${registry.host}/fixtures/three:1`).catch((e: unknown) => e);
      expect(ShoalError.is(err, ImageErrorCode.RegistryUnreachable)).toBe(true);
      expect((err as ShoalError).hint).toMatch(/mark it insecure/);
    });
  }

  if (auth !== "none") {
    it("pulls and pushes with credentials given for the operation only", async () => {
      const s = await store(`${auth}-per-op`, registry, { insecure: true });
      const credentials = {
        kind: "basic" as const,
        username: registry.username,
        password: registry.password,
      };
      const pulled = await s.pull(`${registry.host}/fixtures/three:1`, { credentials });
      expect(pulled.id).toBe(three.configDigest);
      const copy = `${registry.host}/fixtures/copy:1`;
      await s.tag(`${registry.host}/fixtures/three:1`, copy);
      expect((await s.push(copy, copy, { credentials })).digest).toBe(three.manifestDigest);
      // The store's own (empty) configuration still applies to other operations.
      const err = await s.pull(copy).catch((e: unknown) => e);
      expect(ShoalError.is(err, ImageErrorCode.Unauthorized)).toBe(true);
    });

    it.each([
      ["no credentials", { insecure: true }],
      [
        "a wrong password",
        { insecure: true, credentials: { kind: "basic" as const, username: "shoal", password: "wrong" } },
      ],
    ])("refuses a pull with %s", async (_what, config) => {
      const s = await store(`${auth}-denied-${_what.replace(/ /g, "-")}`, registry, config);
      const err = await s.pull(`${registry.host}/fixtures/three:1`).catch((e: unknown) => e);
      expect(ShoalError.is(err, ImageErrorCode.Unauthorized)).toBe(true);
      expect((err as Error).message).toMatch(/^unauthorized: /);
    });
  }
});

describe("registry image index", () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startRegistry();
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it("resolves a multi-platform index to the node's platform", async () => {
    const source = await store("index-source", registry, registry.hostConfig());
    const repo = `${registry.host}/fixtures/multi`;
    await source.importImage(join(work, "one"), { ref: `${repo}:one` });
    await source.importImage(join(work, "three"), { ref: `${repo}:three` });
    await source.push(`${repo}:one`);
    await source.push(`${repo}:three`);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [
          {
            mediaType: MediaType.OciManifest,
            digest: one.manifestDigest,
            size: one.manifest.length,
            platform: { os: "linux", architecture: "arm64", variant: "v8" },
          },
          {
            mediaType: MediaType.OciManifest,
            digest: three.manifestDigest,
            size: three.manifest.length,
            platform: { os: "linux", architecture: "amd64" },
          },
        ],
      }),
    );
    await source.client.putManifest(parseReference(`${repo}:list`), MediaType.OciIndex, index);
    const target = await store("index-target", registry, registry.hostConfig());
    const amd64 = await target.pull(`${repo}:list`, { platform: { os: "linux", architecture: "amd64" } });
    expect(amd64.id).toBe(three.configDigest);
    expect(await blob(target, sha256Digest(index))).toEqual(index);
    const err = await target
      .pull(`${repo}:list`, { platform: { os: "linux", architecture: "s390x" } })
      .catch((e: unknown) => e);
    expect(ShoalError.is(err, ImageErrorCode.NoMatchingPlatform)).toBe(true);
  });

  // Last in this describe: it corrupts a blob in the registry's storage.
  it("refuses a layer whose bytes do not match its digest, after one more try, and keeps nothing of it", async () => {
    const top = three.layers[2] as FixtureImage["layers"][number];
    const corrupt = Buffer.from(top.gzip);
    corrupt[corrupt.length - 20] = (corrupt[corrupt.length - 20] ?? 0) ^ 0xff;
    await writeFile(registry.blobPath(top.digest), corrupt);
    const target = await store("corrupt-target", registry, registry.hostConfig());
    const events: PullProgress[] = [];
    const err = await target
      .pull(`${registry.host}/fixtures/multi:three`, { onProgress: (e) => events.push(e) })
      .catch((e: unknown) => e);
    // The digest mismatch, not the unpacker's complaint about the broken gzip it caused.
    const actual = sha256Digest(corrupt);
    expect(err).toMatchObject({
      code: ImageErrorCode.DigestMismatch,
      message: `blob "${top.digest}" has digest "${actual}", expected "${top.digest}"`,
      details: { expected: top.digest, actual },
    });
    // Downloaded twice: once more in case the corruption happened on the way.
    const complete = events.filter(
      (e) => e.kind === "layer-downloading" && e.digest === top.digest && e.doneBytes === e.totalBytes,
    );
    expect(complete).toHaveLength(2);
    expect(target.list()).toEqual([]);
    // The manifest and config blobs the failed pull wrote are gone; only finished layers stay.
    const layerBlobs = three.layers.map((l) => l.digest.slice(7));
    const blobs = await readdir(join(target.root, "blobs", "sha256"));
    expect(blobs.filter((b) => !layerBlobs.includes(b))).toEqual([]);
    const leftovers = (await readdir(join(target.root, "layers"))).filter(
      (n) => n.startsWith(".tmp-") || n === top.diffId.slice(7),
    );
    expect(leftovers).toEqual([]);
    await expect(readFile(join(target.root, "blobs", "sha256", top.digest.slice(7)))).rejects.toThrow(
      /ENOENT/,
    );
    await target.prune();
    expect(await readdir(join(target.root, "layers"))).toEqual([]);
  });
});

describe("token registry with anonymous pull (as Docker Hub serves public images)", () => {
  let registry: TestRegistry;

  beforeAll(async () => {
    registry = await startRegistry({ auth: "token", allowAnonymousPull: true });
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it("pulls without credentials with an anonymous token, and refuses an anonymous push", async () => {
    const ref = `${registry.host}/public/one:1`;
    const source = await store("anon-source", registry, registry.hostConfig());
    await source.importImage(join(work, "one"), { ref });
    await source.push(ref);
    const anonymous = await store("anon-target", registry, { insecure: true });
    expect((await anonymous.pull(ref)).id).toBe(one.configDigest);
    const err = await anonymous.push(ref, `${registry.host}/public/copy:1`).catch((e: unknown) => e);
    expect(ShoalError.is(err, ImageErrorCode.Unauthorized)).toBe(true);
  });
});
