// Helpers for this directory's tests (not part of the public API): a busybox rootfs as a single
// lower layer, an image source serving it, and per-run unique kernel-global names.
import { execFileSync } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, type Logger, silentLogger } from "@shoal/base";
import { ignoring } from "../ignore.js";
import type { ImageConfig, ImageRecord } from "../image/types.js";
import { existingCgroupDirs, MONITOR_CGROUP, removeCgroupTree } from "./cgroups.js";
import { ContainerErrorCode } from "./errors.js";
import { mountPointsUnder } from "./mounts.js";
import { ContainerRuntime, type ContainerRuntimeOptions } from "./runtime.js";
import type { ContainerImageSource } from "./types.js";

const APPLETS = [
  "sh",
  "sleep",
  "echo",
  "cat",
  "true",
  "false",
  "ls",
  "kill",
  "trap",
  "head",
  "dd",
  "id",
  "hostname",
  "seq",
  "wc",
  "test",
  "printf",
  "date",
  "tail",
  "grep",
  "env",
  "pwd",
  "touch",
  "rm",
  "mkdir",
  "ps",
  "yes",
  "stat",
];

/** A minimal rootfs: busybox and its applets, /etc/passwd and /etc/group with a test user. */
export async function makeBusyboxRootfs(dir: string): Promise<void> {
  await mkdir(join(dir, "bin"), { recursive: true });
  await mkdir(join(dir, "etc"), { recursive: true });
  for (const d of ["proc", "sys", "dev", "tmp", "home/tester"])
    await mkdir(join(dir, d), { recursive: true });
  await copyFile("/bin/busybox", join(dir, "bin/busybox"));
  await chmod(join(dir, "bin/busybox"), 0o755);
  for (const a of APPLETS) await symlink("busybox", join(dir, "bin", a));
  await writeFile(
    join(dir, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000:tester:/home/tester:/bin/sh\n",
  );
  await writeFile(join(dir, "etc/group"), "root:x:0:\nwheel:x:10:tester\ntester:x:1000:\n");
}

/** Serves one directory as a one-layer image; counts holders like the real store. */
export class DirImageSource implements ContainerImageSource {
  readonly holders = new Set<string>();
  constructor(
    private readonly layerDir: string,
    private readonly config: Partial<ImageConfig> = {},
  ) {}

  async acquire(ref: string, holderId: string): Promise<ImageRecord> {
    this.holders.add(holderId);
    return {
      id: "sha256:busybox-dir",
      manifestDigest: "sha256:none",
      manifestMediaType: "application/vnd.oci.image.manifest.v1+json",
      names: [ref],
      platform: { os: "linux", architecture: "amd64" },
      config: { env: ["PATH=/bin"], exposedPorts: [], volumes: [], labels: {}, cmd: ["sh"], ...this.config },
      layers: [],
      layerDirs: [this.layerDir],
      sizeBytes: 0,
      createdAtMs: 0,
    };
  }

  async release(holderId: string): Promise<void> {
    this.holders.delete(holderId);
  }
}

export interface Sandbox {
  dir: string;
  rootfs: string;
  cgroupParent: string;
  runcRoot: string;
  images: DirImageSource;
  logger: Logger;
  runtime(over?: Partial<ContainerRuntimeOptions>): ContainerRuntime;
  /** Leftovers that must be empty after everything was removed. */
  leaks(): Promise<{ mounts: string[]; cgroups: string[]; runc: string[] }>;
  destroy(): Promise<void>;
}

/** Fails loudly when the test cannot run here, as the rules demand (no silent skips). */
export function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new Error("container tests need root (runc, overlayfs, cgroups); run them as root");
}

export async function makeSandbox(config: Partial<ImageConfig> = {}): Promise<Sandbox> {
  requireRoot();
  const dir = await mkdtemp(join(tmpdir(), "shoal-ct-"));
  const rootfs = join(dir, "layer");
  await makeBusyboxRootfs(rootfs);
  const tag = dir.slice(-6).replace(/[^a-zA-Z0-9]/g, "x");
  const cgroupParent = `/shoal-test-${process.pid}-${tag}`;
  const runcRoot = join(dir, "runc");
  const images = new DirImageSource(rootfs, config);
  const logger = process.env.SHOAL_TEST_LOG ? createLogger({ level: "debug" }) : silentLogger();
  const runtimes: ContainerRuntime[] = [];
  return {
    dir,
    rootfs,
    cgroupParent,
    runcRoot,
    images,
    logger,
    runtime(over = {}) {
      const rt = new ContainerRuntime({
        root: join(dir, "rt"),
        runcRoot,
        cgroupParent,
        nodeId: "node-1",
        images,
        logger,
        ...over,
      });
      runtimes.push(rt);
      return rt;
    },
    async leaks() {
      const runc = await ignoring(readdir(runcRoot), ["ENOENT"], [] as string[]);
      // Container cgroups are the parent's subdirectories, in any hierarchy; the monitors' shared
      // cgroup is not a container's.
      const cgroups: string[] = [];
      for (const parent of await existingCgroupDirs(cgroupParent)) {
        for (const e of await readdir(parent, { withFileTypes: true })) {
          if (e.isDirectory() && e.name !== MONITOR_CGROUP) cgroups.push(join(parent, e.name));
        }
      }
      return { mounts: await mountPointsUnder(dir), cgroups, runc };
    },
    async destroy() {
      for (const rt of runtimes) {
        // A test that failed half-way may leave anything: clean up what can be, report the rest.
        // A runtime that never got its root (a test of CONTAINER_ROOT_IN_USE) holds nothing.
        for (const c of await ignoring(rt.list(), [ContainerErrorCode.RootInUse], [])) {
          await rt
            .remove(c.id)
            .catch((err: unknown) => console.error(`sandbox: removing "${c.id}" failed`, err));
        }
        rt.close();
      }
      // Whatever a failed test left: runc containers, mounts, cgroups.
      for (const id of await ignoring(readdir(runcRoot), ["ENOENT"], [] as string[])) {
        try {
          execFileSync("runc", ["--root", runcRoot, "delete", "--force", id], { stdio: "ignore" });
        } catch {
          // already gone
        }
      }
      for (const mp of await mountPointsUnder(dir)) {
        try {
          execFileSync("umount", ["-l", mp], { stdio: "ignore" });
        } catch {
          // not mounted any more
        }
      }
      await removeCgroupTree(cgroupParent);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
