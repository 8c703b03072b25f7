import { readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { ShoalError } from "@shoal/base";
import { cleanToolMessage, runCommand } from "./command.js";
import { ContainerErrorCode } from "./errors.js";

/**
 * Mounts an overlay of `layerDirs` (lowest first, as the image store lists them) with a private
 * upper dir. overlayfs takes `lowerdir=` topmost first, hence the reverse.
 */
export async function mountOverlay(
  layerDirs: readonly string[],
  upperDir: string,
  workDir: string,
  target: string,
): Promise<void> {
  if (layerDirs.length === 0)
    throw new ShoalError(ContainerErrorCode.InvalidSpec, "image has no layers to mount");
  // The mount data must fit in one page. Layers of one store share a parent dir, so mount runs in
  // that dir with relative lowerdirs (as containerd does), which fits about twice as many layers.
  const parents = new Set(layerDirs.map((d) => dirname(d)));
  const cwd = parents.size === 1 ? [...parents][0] : undefined;
  const lowers = [...layerDirs].reverse().map((d) => (cwd !== undefined ? basename(d) : d));
  const options = `lowerdir=${lowers.join(":")},upperdir=${upperDir},workdir=${workDir}`;
  if (options.length > 4000) {
    throw new ShoalError(
      ContainerErrorCode.CommandFailed,
      `overlay options are ${options.length} bytes, above the 4000-byte limit`,
      {
        hint: "the image has too many layers for one overlay mount; squash it or use a shorter image store path",
      },
    );
  }
  const r = await runCommand(
    "mount",
    ["-t", "overlay", "overlay", "-o", options, target],
    cwd !== undefined ? { cwd } : {},
  );
  if (r.exitCode !== 0) {
    throw new ShoalError(
      ContainerErrorCode.CommandFailed,
      `overlay mount on "${target}" failed: ${cleanToolMessage(r.stderr)}`,
    );
  }
}

/** A private tmpfs of `sizeBytes` at `target` (mode 0700, nothing executable or setuid on it). */
export async function mountTmpfs(target: string, sizeBytes: number): Promise<void> {
  const options = `mode=0700,size=${sizeBytes},nosuid,nodev,noexec`;
  const r = await runCommand("mount", ["-t", "tmpfs", "-o", options, "tmpfs", target]);
  if (r.exitCode !== 0) {
    throw new ShoalError(
      ContainerErrorCode.CommandFailed,
      `tmpfs mount on "${target}" failed: ${cleanToolMessage(r.stderr)}`,
    );
  }
}

/** Unmounts `target`; not mounted is fine. Lazy as a last resort, so remove never wedges. */
export async function unmount(target: string): Promise<void> {
  if (!(await mountPointsUnder(target)).includes(target)) return;
  const r = await runCommand("umount", [target]);
  if (r.exitCode === 0) return;
  const lazy = await runCommand("umount", ["-l", target]);
  if (lazy.exitCode !== 0 && (await mountPointsUnder(target)).includes(target)) {
    throw new ShoalError(
      ContainerErrorCode.CommandFailed,
      `unmount of "${target}" failed: ${cleanToolMessage(r.stderr)}`,
    );
  }
}

/** Mount points at or below `prefix` in this mount namespace, deepest first (unmount order). */
export async function mountPointsUnder(prefix: string): Promise<string[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const mp = line.split(" ")[4];
    if (mp === undefined) continue;
    // mountinfo escapes spaces and the like as octal (\040).
    const path = mp.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    if (path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`)) out.push(path);
  }
  return out.sort((a, b) => b.length - a.length);
}
