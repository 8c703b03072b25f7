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
  let source: string;
  let target: string;
  let options: string[] = [];
  if (parts.length === 2) {
    // `target:ro` is an anonymous volume with options, `src:target` a mount.
    if (
      isPathLike(parts[0] as string) ||
      !/^(ro|rw|nocopy|z|Z)(,|$)/.test(parts[1] as string) ||
      (parts[1] as string).startsWith("/")
    ) {
      source = parts[0] as string;
      target = parts[1] as string;
    } else {
      return optionsApplied(
        { type: "volume", target: parts[0] as string },
        (parts[1] as string).split(","),
        spec,
      );
    }
  } else {
    source = parts[0] as string;
    target = parts[1] as string;
    options = (parts[2] as string).split(",");
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
