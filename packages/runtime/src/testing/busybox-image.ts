import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { sha256Digest } from "../image/digest.js";
import { MediaType } from "../image/media-types.js";

// Test images built from Debian's busybox-static, byte-for-byte reproducible (sorted entries,
// uid/gid 0, mtime 0, gzip without timestamps), so a layer's digest is the same on every run.

const run = promisify(execFile);
export const BUSYBOX_PATH = "/bin/busybox";
const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface FixtureLayer {
  /** The uncompressed layer tar. */
  tar: Buffer;
  /** The gzip-compressed tar, as pushed and stored in the OCI layout. */
  gzip: Buffer;
  /** sha256 of `tar`. */
  diffId: string;
  /** sha256 of `gzip`. */
  digest: string;
}

export interface FixtureImage {
  kind: FixtureKind;
  layers: FixtureLayer[];
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  manifestDigest: string;
}

export type FixtureKind = "one-layer" | "three-layer";

/** What the three-layer image's merged tree must (not) contain, for whoever checks whiteouts. */
export const THREE_LAYER_TREE = {
  /** Present with this content. */
  files: {
    "/data/keep.txt": "kept from layer 2\n",
    "/data/old/new.txt": "only file left in the replaced dir\n",
    "/data/top.txt": "added by layer 3\n",
    "/etc/keep-me": "layer 1 file that stays\n",
  } as Record<string, string>,
  /** Deleted by layer 3: a file (whiteout), a directory (whiteout), files under an opaque dir. */
  absent: ["/etc/remove-me", "/data/gone", "/data/old/a", "/data/old/b", "/data/old/c"],
  /** Complete listing of the replaced (opaque) directory. */
  opaqueDir: { path: "/data/old", entries: ["new.txt"] },
} as const;

/** Users and groups of the fixture images, for tests of user-name resolution. */
export const FIXTURE_USERS = {
  passwd:
    "root:x:0:0:root:/root:/bin/sh\n" +
    "tester:x:1000:1000:tester:/home/tester:/bin/sh\n" +
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
  group: "root:x:0:\nwheel:x:10:root,tester\ntester:x:1000:\nnobody:x:65534:\n",
} as const;

async function writeText(root: string, path: string, content: string, mode = 0o644): Promise<void> {
  const full = join(root, path);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, content);
  await chmod(full, mode);
}

async function busyboxApplets(): Promise<string[]> {
  const { stdout } = await run(BUSYBOX_PATH, ["--list"]);
  return stdout
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s !== "" && s !== "busybox" && !s.includes("/"));
}

/** The base root filesystem: busybox with every applet linked in /bin, users, a web root. */
async function stageBase(root: string): Promise<void> {
  for (const dir of ["bin", "dev", "proc", "sys", "etc", "var/www", "home/tester", "run", "usr/bin"]) {
    await mkdir(join(root, dir), { recursive: true });
  }
  await mkdir(join(root, "tmp"));
  await chmod(join(root, "tmp"), 0o1777);
  await mkdir(join(root, "root"));
  await chmod(join(root, "root"), 0o700);
  await copyFile(BUSYBOX_PATH, join(root, "bin/busybox"));
  await chmod(join(root, "bin/busybox"), 0o755);
  for (const applet of await busyboxApplets()) await symlink("busybox", join(root, "bin", applet));
  // Some scripts hard-code /usr/bin/env.
  await symlink("../../bin/busybox", join(root, "usr/bin/env"));
  await writeText(root, "etc/passwd", FIXTURE_USERS.passwd);
  await writeText(root, "etc/group", FIXTURE_USERS.group);
  await writeText(root, "etc/hostname", "fixture\n");
  await writeText(root, "var/www/index.html", "hello from shoal\n");
}

async function tarDirectory(root: string): Promise<Buffer> {
  const entries = (await readdir(root)).sort();
  const { stdout } = await run(
    "tar",
    [
      "--create",
      "--file=-",
      `--directory=${root}`,
      "--sort=name",
      "--numeric-owner",
      "--owner=0",
      "--group=0",
      "--mtime=@0",
      "--format=posix",
      "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
      "--",
      ...entries,
    ],
    { encoding: "buffer", maxBuffer: 1 << 30 },
  );
  return stdout;
}

async function buildLayer(stage: (root: string) => Promise<void>): Promise<FixtureLayer> {
  const root = await mkdtemp(join(tmpdir(), "shoal-fixture-layer-"));
  try {
    await stage(root);
    const tar = await tarDirectory(root);
    const gzip = gzipSync(tar, { level: 6 });
    return { tar, gzip, diffId: sha256Digest(tar), digest: sha256Digest(gzip) };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export interface FixtureConfigOverrides {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
  ExposedPorts?: Record<string, object>;
  Labels?: Record<string, string>;
  Healthcheck?: {
    Test: string[];
    Interval?: number;
    Timeout?: number;
    StartPeriod?: number;
    Retries?: number;
  };
}

/** Assembles config and manifest for layers; exported so tests can build variants. */
export function assembleImage(
  kind: FixtureKind,
  layers: FixtureLayer[],
  overrides: FixtureConfigOverrides = {},
): FixtureImage {
  const config = Buffer.from(
    JSON.stringify({
      created: "1970-01-01T00:00:00Z",
      architecture: "amd64",
      os: "linux",
      config: { Env: [PATH_ENV], Cmd: ["sh"], WorkingDir: "/", ...overrides },
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({
        created: "1970-01-01T00:00:00Z",
        created_by: `shoal fixture layer ${i + 1}`,
      })),
    }),
  );
  const configDigest = sha256Digest(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.length },
      layers: layers.map((l) => ({
        mediaType: MediaType.OciLayerGzip,
        digest: l.digest,
        size: l.gzip.length,
      })),
    }),
  );
  return { kind, layers, config, configDigest, manifest, manifestDigest: sha256Digest(manifest) };
}

/**
 * "one-layer": busybox rootfs. "three-layer": the same base plus files, a second layer adding
 * files, and a top layer that deletes a file (`etc/.wh.remove-me`), deletes a directory
 * (`data/.wh.gone`) and replaces a directory (`data/old/.wh..wh..opq` + new content). See
 * THREE_LAYER_TREE for the merged result.
 */
export async function buildBusyboxImage(
  kind: FixtureKind,
  overrides: FixtureConfigOverrides = {},
): Promise<FixtureImage> {
  if (kind === "one-layer") return assembleImage(kind, [await buildLayer(stageBase)], overrides);
  const base = await buildLayer(async (root) => {
    await stageBase(root);
    await writeText(root, "etc/remove-me", "deleted by layer 3\n");
    await writeText(root, "etc/keep-me", THREE_LAYER_TREE.files["/etc/keep-me"] as string);
    await writeText(root, "data/old/a", "a\n");
    await writeText(root, "data/old/b", "b\n");
    await writeText(root, "data/gone/file", "whole dir deleted by layer 3\n");
  });
  const middle = await buildLayer(async (root) => {
    await writeText(root, "data/keep.txt", THREE_LAYER_TREE.files["/data/keep.txt"] as string);
    await writeText(root, "data/old/c", "c\n");
  });
  const top = await buildLayer(async (root) => {
    await writeText(root, "etc/.wh.remove-me", "");
    await writeText(root, "data/.wh.gone", "");
    await writeText(root, "data/old/.wh..wh..opq", "");
    await writeText(root, "data/old/new.txt", THREE_LAYER_TREE.files["/data/old/new.txt"] as string);
    await writeText(root, "data/top.txt", THREE_LAYER_TREE.files["/data/top.txt"] as string);
  });
  return assembleImage(kind, [base, middle, top], overrides);
}

async function writeBlob(dir: string, digest: string, data: Buffer): Promise<void> {
  const path = join(dir, "blobs", "sha256", digest.slice("sha256:".length));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
}

/** Writes an OCI image layout directory; `name` ("host/repo:tag") goes into the index annotations. */
export async function writeOciLayout(image: FixtureImage, dir: string, name?: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  for (const layer of image.layers) await writeBlob(dir, layer.digest, layer.gzip);
  await writeBlob(dir, image.configDigest, image.config);
  await writeBlob(dir, image.manifestDigest, image.manifest);
  const annotations: Record<string, string> = {};
  if (name !== undefined) {
    annotations["io.containerd.image.name"] = name;
    annotations["org.opencontainers.image.ref.name"] = name.slice(name.lastIndexOf(":") + 1);
  }
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: [
      {
        mediaType: MediaType.OciManifest,
        digest: image.manifestDigest,
        size: image.manifest.length,
        platform: { architecture: "amd64", os: "linux" },
        ...(name === undefined ? {} : { annotations }),
      },
    ],
  };
  await writeFile(join(dir, "index.json"), JSON.stringify(index));
}

async function tarInto(dir: string, tarPath: string): Promise<void> {
  await run("tar", [
    "--create",
    `--file=${tarPath}`,
    `--directory=${dir}`,
    "--sort=name",
    "--numeric-owner",
    ".",
  ]);
}

/** An OCI layout as a tar archive (what `docker save` of Docker ≥ 25 and `skopeo copy oci-archive:` give). */
export async function writeOciArchive(image: FixtureImage, tarPath: string, name?: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "shoal-fixture-oci-"));
  try {
    await writeOciLayout(image, dir, name);
    await tarInto(dir, tarPath);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A classic `docker save` tar: manifest.json, <config>.json and uncompressed <id>/layer.tar. */
export async function writeDockerSave(
  image: FixtureImage,
  tarPath: string,
  repoTags: string[],
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "shoal-fixture-save-"));
  try {
    const configName = `${image.configDigest.slice(7)}.json`;
    await writeFile(join(dir, configName), image.config);
    const layerPaths: string[] = [];
    for (const layer of image.layers) {
      const layerDir = layer.diffId.slice(7);
      await mkdir(join(dir, layerDir));
      await writeFile(join(dir, layerDir, "layer.tar"), layer.tar);
      await writeFile(join(dir, layerDir, "VERSION"), "1.0");
      layerPaths.push(`${layerDir}/layer.tar`);
    }
    await writeFile(
      join(dir, "manifest.json"),
      JSON.stringify([{ Config: configName, RepoTags: repoTags, Layers: layerPaths }]),
    );
    await tarInto(dir, tarPath);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A plain root filesystem tar (the one-layer image's only layer, uncompressed). */
export async function writeRootfsTar(tarPath: string): Promise<FixtureLayer> {
  const layer = await buildLayer(stageBase);
  await writeFile(tarPath, layer.tar);
  return layer;
}
