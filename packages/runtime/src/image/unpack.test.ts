import { execFileSync } from "node:child_process";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { ShoalError } from "@shoal/base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBusyboxImage, type FixtureImage, THREE_LAYER_TREE } from "../testing/busybox-image.js";
import { ImageErrorCode } from "./errors.js";
import { encodeEntry, TarType } from "./tar-header.js";
import { unpackLayer, unpackLayerStream } from "./unpack.js";

let work: string;
let image: FixtureImage;

beforeAll(async () => {
  if (process.getuid?.() !== 0)
    throw new Error("unpack tests need root: layers keep ownership and overlay xattrs");
  work = await mkdtemp(join(tmpdir(), "shoal-unpack-test-"));
  image = await buildBusyboxImage("three-layer");
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function getXattr(path: string, name: string): string {
  // node has no getxattr; python3 is the simplest reader available on the test hosts.
  return execFileSync(
    "python3",
    ["-c", "import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())", path, name],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    },
  ).trim();
}

describe("unpackLayer", () => {
  it("unpacks gzip layers, verifies diff ids and turns whiteouts into overlayfs form", async () => {
    const dirs: string[] = [];
    for (const [i, layer] of image.layers.entries()) {
      const blob = join(work, `layer${i}.tgz`);
      await writeFile(blob, layer.gzip);
      const dir = join(work, `layer${i}`);
      const result = await unpackLayer(blob, dir, { expectedDiffId: layer.diffId });
      expect(result.diffId).toBe(layer.diffId);
      expect(result.uncompressedBytes).toBe(layer.tar.length);
      dirs.push(dir);
    }
    const top = dirs[2] as string;
    const removed = await lstat(join(top, "etc/remove-me"));
    expect(removed.isCharacterDevice()).toBe(true);
    expect(removed.rdev).toBe(0);
    expect((await lstat(join(top, "data/gone"))).isCharacterDevice()).toBe(true);
    expect(getXattr(join(top, "data/old"), "trusted.overlay.opaque")).toBe("y");
    expect(await readdir(join(top, "data/old"))).toEqual(["new.txt"]);
    expect((await lstat(join(dirs[0] as string, "bin/sh"))).isSymbolicLink()).toBe(true);
    expect((await lstat(join(dirs[0] as string, "tmp"))).mode & 0o7777).toBe(0o1777);

    // The merged view overlayfs gives a container.
    const merged = join(work, "merged");
    await mkdir(merged);
    const lower = [...dirs].reverse().join(":");
    execFileSync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lower}`, merged]);
    try {
      for (const [path, content] of Object.entries(THREE_LAYER_TREE.files)) {
        expect(await readFile(join(merged, path), "utf8")).toBe(content);
      }
      for (const path of THREE_LAYER_TREE.absent) {
        await expect(lstat(join(merged, path))).rejects.toThrow(/ENOENT/);
      }
      expect(await readdir(join(merged, THREE_LAYER_TREE.opaqueDir.path))).toEqual([
        ...THREE_LAYER_TREE.opaqueDir.entries,
      ]);
    } finally {
      execFileSync("umount", [merged]);
    }
  });

  it("unpacks uncompressed and zstd layers to the same diff id", async () => {
    const layer = image.layers[1] as FixtureImage["layers"][number];
    const plain = join(work, "plain.tar");
    await writeFile(plain, layer.tar);
    const zst = join(work, "layer.tar.zst");
    execFileSync("zstd", ["-q", "-f", plain, "-o", zst]);
    for (const [name, blob] of [
      ["plain", plain],
      ["zstd", zst],
    ] as const) {
      const result = await unpackLayer(blob, join(work, `unpacked-${name}`), {
        expectedDiffId: layer.diffId,
      });
      expect(result.diffId).toBe(layer.diffId);
      expect(await readFile(join(work, `unpacked-${name}`, "data/keep.txt"), "utf8")).toBe(
        THREE_LAYER_TREE.files["/data/keep.txt"],
      );
    }
  });

  it("drops trusted.overlay.* xattrs a layer carries itself", async () => {
    const forged = new Map([
      ["SCHILY.xattr.trusted.overlay.opaque", "y"],
      ["SCHILY.xattr.user.kept", "1"],
    ]);
    const blob = join(work, "forged.tar");
    const dir = {
      name: "d/",
      mode: 0o755,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 0,
      type: TarType.Directory,
      linkname: "",
      devmajor: 0,
      devminor: 0,
    };
    await writeFile(blob, Buffer.concat([encodeEntry(dir, forged), Buffer.alloc(1024)]));
    const result = await unpackLayer(blob, join(work, "forged"));
    expect(result.stats.droppedOverlayXattrs).toBe(1);
    expect(getXattr(join(work, "forged", "d"), "user.kept")).toBe("1");
    expect(() => getXattr(join(work, "forged", "d"), "trusted.overlay.opaque")).toThrow();
  });

  it("an abort while the layer is still downloading fails the unpack and nothing else", async () => {
    // The pull's signal kills tar before the download stream ends (as when a task's assignment
    // changes mid-pull); tar's rejection must be handled, or it would take the whole daemon down.
    const source = new PassThrough();
    const abort = new AbortController();
    const unpacking = unpackLayerStream(source, join(work, "aborted"), "aborted-layer", {
      signal: abort.signal,
    }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    abort.abort();
    await new Promise((r) => setTimeout(r, 200));
    source.destroy(new Error("download aborted"));
    const err = await unpacking;
    expect(ShoalError.is(err, ImageErrorCode.InvalidLayer)).toBe(true);
  });

  it("rejects a layer whose diff id does not match", async () => {
    const blob = join(work, "mismatch.tgz");
    await writeFile(blob, image.layers[1]?.gzip as Buffer);
    const err = await unpackLayer(blob, join(work, "mismatch"), {
      expectedDiffId: `sha256:${"0".repeat(64)}`,
    }).catch((e: unknown) => e);
    expect(ShoalError.is(err, ImageErrorCode.DigestMismatch)).toBe(true);
  });

  it.each([
    ["a path with ..", [entry("../escape", TarType.File)]],
    [
      "a path through a symlink of the same layer",
      [entry("link", TarType.Symlink, "/etc"), entry("link/passwd", TarType.File)],
    ],
    [
      "a hardlink through a symlink of the same layer",
      [entry("link", TarType.Symlink, "/etc"), entry("pinned", TarType.HardLink, "link/shadow")],
    ],
  ])("refuses %s", async (what, entries) => {
    const slug = what.replace(/[^a-z]+/g, "-");
    const blob = join(work, `evil-${slug}.tar`);
    await writeFile(blob, Buffer.concat([...entries, Buffer.alloc(1024)]));
    const err = await unpackLayer(blob, join(work, `evil-${slug}`)).catch((e: unknown) => e);
    expect(ShoalError.is(err, ImageErrorCode.InvalidLayer)).toBe(true);
    // Refused by our check before tar ran, not by a tar failure.
    expect((err as Error).message).toMatch(/escapes the layer directory|goes through symlink/);
  });
});

describe("unpackLayer keeps what the tar says", () => {
  it.each(["gnu", "posix"])(
    "ownership, modes, long names, hardlinks, fifos, symlinks and xattrs (%s format)",
    async (format) => {
      const stage = join(work, `stage-${format}`);
      const longDir = join(stage, "a".repeat(60), "b".repeat(60));
      await mkdir(longDir, { recursive: true });
      await writeFile(join(longDir, "long-name-file.txt"), "long\n");
      await writeFile(join(stage, "suid"), "x");
      execFileSync("chown", ["1000:1000", join(stage, "suid")]);
      execFileSync("chmod", ["4755", join(stage, "suid")]);
      execFileSync("ln", [join(stage, "suid"), join(stage, "hardlink")]);
      execFileSync("mkfifo", [join(stage, "fifo")]);
      execFileSync("ln", ["-s", "/etc/passwd", join(stage, "abs-link")]);
      execFileSync("python3", [
        "-c",
        "import os,sys; os.setxattr(sys.argv[1], 'user.shoal', b'yes')",
        join(stage, "suid"),
      ]);
      const blob = join(work, `features-${format}.tar`);
      execFileSync("tar", [
        "--create",
        `--file=${blob}`,
        `--format=${format}`,
        "--xattrs",
        "--numeric-owner",
        `--directory=${stage}`,
        ".",
      ]);
      const dir = join(work, `features-${format}`);
      await unpackLayer(blob, dir);
      expect(await readFile(join(dir, "a".repeat(60), "b".repeat(60), "long-name-file.txt"), "utf8")).toBe(
        "long\n",
      );
      const suid = await lstat(join(dir, "suid"));
      expect([suid.uid, suid.gid, suid.mode & 0o7777]).toEqual([1000, 1000, 0o4755]);
      expect((await lstat(join(dir, "hardlink"))).ino).toBe(suid.ino);
      expect((await lstat(join(dir, "fifo"))).isFIFO()).toBe(true);
      expect((await lstat(join(dir, "abs-link"))).isSymbolicLink()).toBe(true);
      expect(getXattr(join(dir, "suid"), "user.shoal")).toBe("yes");
    },
  );
});

function entry(name: string, type: string, linkname = ""): Buffer {
  return encodeEntry({
    name,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 0,
    type,
    linkname,
    devmajor: 0,
    devminor: 0,
  });
}
