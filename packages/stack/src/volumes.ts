import type { VolumeMount } from "./model.js";

const PROPAGATION = new Set(["shared", "rshared", "slave", "rslave", "private", "rprivate"]);
const SELINUX = new Set(["z", "Z"]);

function isPathLike(s: string): boolean {
  return s.startsWith(".") || s.startsWith("/") || s.startsWith("~");
}

/**
 * Parses the short volume syntax `[source:]target[:options]` as docker/cli's loader does: a
 * source that looks like a path is a bind mount, any other source names a volume, and no source
 * means an anonymous volume. Options are `ro`/`rw`, `nocopy`, `z`/`Z` and bind propagation modes.
 * Returns a message when the spec is malformed.
 */
export function parseVolumeSpec(spec: string): VolumeMount | string {
  const parts = spec.split(":");
  if (spec.trim() === "" || parts.some((p, i) => p === "" && i < parts.length - 1)) {
    return `invalid volume ${JSON.stringify(spec)}: expected [source:]target[:mode]`;
  }
  if (parts.length > 3) return `invalid volume ${JSON.stringify(spec)}: too many ":"`;
  if (parts.length === 1) return { type: "volume", target: parts[0] as string };
  const source = parts[0] as string;
  const target = parts[1] as string;
  const options = parts.length === 3 ? (parts[2] as string).split(",") : [];
  // As docker/cli: two parts are always source:target, so "/cache:ro" mounts /cache at "ro",
  // which no container accepts; say so instead of failing at deploy time.
  if (!target.startsWith("/")) {
    return `invalid volume ${JSON.stringify(spec)}: the target ${JSON.stringify(target)} must be an absolute path`;
  }
  const mount: VolumeMount = isPathLike(source)
    ? { type: "bind", source, target }
    : { type: "volume", source, target };
  return optionsApplied(mount, options, spec);
}

function optionsApplied(mount: VolumeMount, options: string[], spec: string): VolumeMount | string {
  for (const opt of options) {
    if (opt === "" || opt === "rw") continue;
    if (opt === "ro") mount.read_only = true;
    else if (opt === "nocopy") mount.volume = { ...mount.volume, nocopy: true };
    else if (SELINUX.has(opt)) mount.bind = { ...mount.bind, selinux: opt };
    else if (PROPAGATION.has(opt)) mount.bind = { ...mount.bind, propagation: opt };
    else return `invalid volume ${JSON.stringify(spec)}: unknown option ${JSON.stringify(opt)}`;
  }
  return mount;
}
