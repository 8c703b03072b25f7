import { chmod, chown, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { type Logger, ShoalError } from "@shoal/base";
import { hasCode, ignoring } from "../ignore.js";
import { renderHosts, renderResolvConf } from "../network/resolv.js";
import { moveToMonitorCgroup } from "./cgroups.js";
import { launchConmon } from "./conmon.js";
import { ContainerErrorCode } from "./errors.js";
import { resolveHealthcheck } from "./health.js";
import { mountOverlay, mountTmpfs } from "./mounts.js";
import { thermalThrottlePaths } from "./oci-defaults.js";
import { buildOciSpec } from "./oci-spec.js";
import { type ContainerPaths, type ContainerRecord, writeRecord } from "./record.js";
import type { Runc } from "./runc.js";
import { loadSeccompProfile, SECCOMP_DEFAULT, SECCOMP_UNCONFINED } from "./seccomp.js";
import { normalizeSignal } from "./signals.js";
import type { ContainerFile, ContainerImageSource, MountSpec } from "./types.js";
import { resolveGroups, resolveUser } from "./user.js";

const SYSTEMD_RESOLVED_UPSTREAM = "/run/systemd/resolve/resolv.conf";

export interface PrepareDeps {
  images: ContainerImageSource;
  runc: Runc;
  conmonPath: string;
  initPath: string;
  exitDir: string;
  socketDir: string;
  volumesDir: string;
  hostResolvConfPath: string;
  /** The stub resolver's upstream list, used when the host's lists only loopback servers. */
  upstreamResolvConfPath?: string;
  createTimeoutMs: number;
  cgroupParent: string;
  logger: Logger;
}

/**
 * The effects of `create`, in order: hold the image, mount its layers, read its /etc files, write
 * the bundle, wait for the network namespace (`networkReady`), and have conmon run `runc create`. Fills in `record` (image id, resolved stop signal,
 * health check, exec identity, pid) as it learns them; the caller undoes everything on a throw.
 */
export async function prepareContainer(
  deps: PrepareDeps,
  paths: ContainerPaths,
  record: ContainerRecord,
  files: readonly ContainerFile[] = [],
  networkReady?: Promise<void>,
): Promise<void> {
  const { spec, network, id } = record;
  // Spec errors first, before anything exists to undo.
  const profile = spec.seccompProfile;
  const seccompFile =
    profile !== undefined && profile !== SECCOMP_DEFAULT && profile !== SECCOMP_UNCONFINED
      ? await loadSeccompProfile(profile)
      : undefined;
  await checkBindSources(spec.mounts ?? []);
  if (spec.init === true) await checkInit(deps.initPath);
  const image = await deps.images.acquire(spec.image, id);
  record.imageId = image.id;
  await writeRecord(paths, record);
  await Promise.all([mkdir(paths.rootfs), mkdir(paths.upper), mkdir(paths.work)]);
  await mountOverlay(image.layerDirs, paths.upper, paths.work, paths.rootfs);
  const [passwd, group, hostResolv, upstreamResolv] = await Promise.all([
    ignoring(readFile(join(paths.rootfs, "etc/passwd"), "utf8"), ["ENOENT"], undefined),
    ignoring(readFile(join(paths.rootfs, "etc/group"), "utf8"), ["ENOENT"], undefined),
    ignoring(readFile(deps.hostResolvConfPath, "utf8"), ["ENOENT"], ""),
    ignoring(readFile(deps.upstreamResolvConfPath ?? SYSTEMD_RESOLVED_UPSTREAM, "utf8"), ["ENOENT"], ""),
  ]);
  const user = resolveUser(spec.user ?? image.config.user ?? "", passwd, group);
  if (spec.groups !== undefined && spec.groups.length > 0) {
    const extra = resolveGroups(spec.groups, group).filter((gid) => gid !== user.gid);
    user.additionalGids = [...new Set([...user.additionalGids, ...extra])];
  }
  const hostname = spec.hostname ?? id.slice(0, 12);
  // Without an address from the network side the hostname must still resolve (sudo, JVMs look
  // it up), so it goes on 127.0.1.1 as Debian does for a host's own name.
  const ip = (network.kind === "netns" ? network.ip : undefined) ?? "127.0.1.1";
  const extraHosts = network.kind === "host" ? [] : (network.extraHosts ?? []);
  const resolv =
    network.kind === "host" ? hostResolv : renderResolvConf(hostResolv, network.dns, upstreamResolv);
  await Promise.all([
    writeFile(paths.hosts, renderHosts(hostname, ip, extraHosts)),
    writeFile(paths.hostname, `${hostname}\n`),
    writeFile(paths.resolvConf, resolv),
    ...(spec.mounts ?? [])
      .filter((m) => m.kind === "volume")
      .map((m) => mkdir(join(deps.volumesDir, m.name), { recursive: true })),
  ]);
  const fileMounts = await writeFiles(join(paths.dir, "files"), files);
  const oci = buildOciSpec({
    spec,
    image: image.config,
    user,
    rootfsPath: paths.rootfs,
    hostname,
    etcFiles: { hosts: paths.hosts, hostname: paths.hostname, resolvConf: paths.resolvConf },
    network,
    cgroupsPath: record.cgroupsPath,
    volumesDir: deps.volumesDir,
    annotations: { ...record.labels, "com.shoal.container.name": record.name },
    extraMaskedPaths: await thermalThrottlePaths(),
    ...(seccompFile !== undefined ? { seccompFile } : {}),
    ...(spec.init === true ? { initPath: deps.initPath } : {}),
    files: fileMounts,
  });
  const health = resolveHealthcheck(spec.healthcheck, image.config.healthcheck);
  if (health !== undefined) record.healthcheck = health;
  record.stopSignal = normalizeSignal(spec.stopSignal ?? image.config.stopSignal ?? "SIGTERM");
  record.execUser = `${user.uid}:${user.gid}`;
  record.execEnv = oci.process.env;
  record.execCwd = oci.process.cwd;
  await writeFile(paths.config, JSON.stringify(oci));
  // runc joins the namespace at create: the node network made it meanwhile.
  await networkReady;
  const { pid } = await launchConmon({
    conmonPath: deps.conmonPath,
    runcPath: deps.runc.runcPath,
    runcRoot: deps.runc.root,
    id,
    name: record.name,
    bundleDir: paths.dir,
    pidFile: paths.pidFile,
    conmonPidFile: paths.conmonPidFile,
    logPath: paths.log,
    exitDir: deps.exitDir,
    persistDir: paths.dir,
    socketDir: deps.socketDir,
    stderrPath: paths.conmonStderr,
    timeoutMs: deps.createTimeoutMs,
  });
  record.pid = pid;
  const conmonPid = Number((await ignoring(readFile(paths.conmonPidFile, "utf8"), ["ENOENT"], "")).trim());
  try {
    if (conmonPid > 0) await moveToMonitorCgroup(conmonPid, deps.cgroupParent);
    else deps.logger.warn({ containerId: id }, "conmon wrote no pid file; it stays in the daemon's cgroup");
  } catch (err) {
    deps.logger.warn({ containerId: id, err }, "could not move conmon out of the daemon's cgroup");
  }
}

/**
 * A bind source that does not exist is the spec's fault (the task must be rejected, retrying
 * cannot help), unlike a runc failure: say so with its own code before runc gets to fail on it.
 */
async function checkBindSources(mounts: readonly MountSpec[]): Promise<void> {
  for (const m of mounts) {
    if (m.kind !== "bind" || !isAbsolute(m.source)) continue;
    try {
      await stat(m.source);
    } catch (err) {
      if (!hasCode(err, ["ENOENT", "ENOTDIR"])) throw err;
      throw new ShoalError(
        ContainerErrorCode.MountSourceNotFound,
        `bind mount source "${m.source}" (for "${m.target}") does not exist on this node`,
        { hint: "create the path on the node, or fix the mount's source" },
      );
    }
  }
}

async function checkInit(initPath: string): Promise<void> {
  const st = await ignoring(stat(initPath), ["ENOENT"], undefined);
  if (st?.isFile() === true) return;
  throw new ShoalError(ContainerErrorCode.CreateFailed, `init binary "${initPath}" is missing on this node`, {
    hint: "install Debian's tini (deploy/install-deps.sh does), or run the task without init",
  });
}

/**
 * Secrets and configs: written to a tmpfs of their own in the container's dir (teardown unmounts
 * everything under that dir), so their bytes never reach a disk; one file per entry, owned and
 * moded as the spec says, each bind-mounted read-only at its target.
 */
async function writeFiles(
  dir: string,
  files: readonly ContainerFile[],
): Promise<{ source: string; target: string }[]> {
  if (files.length === 0) return [];
  await mkdir(dir, { mode: 0o700 });
  const bytes = files.reduce((n, f) => n + f.data.byteLength, 0);
  // Room for the data plus a page per file; tmpfs counts whole pages.
  await mountTmpfs(dir, bytes + (files.length + 1) * 4096);
  const out: { source: string; target: string }[] = [];
  for (const [i, f] of files.entries()) {
    const source = join(dir, String(i));
    await writeFile(source, f.data, { mode: 0o600 });
    await chown(source, f.uid, f.gid);
    await chmod(source, f.mode);
    out.push({ source, target: f.target });
  }
  return out;
}
