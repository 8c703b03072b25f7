import { parseBytes, parseDurationMs } from "@shoal/base";
import {
  BindPropagation,
  type ConfigReference,
  type Mount,
  MountType,
  type PlacementPreference,
  type PortConfig,
  PortProtocol,
  PublishMode,
  type SecretReference,
  type Ulimit,
} from "@shoal/proto";
import { expandPortSpec, parseCpus } from "@shoal/stack";
import { usageError } from "../errors.js";

// Parsers for the values of `service create/update` flags, in the docker CLI's syntax. Each takes
// the flag's name so that a bad value is reported against the flag the user typed.

function bad(flag: string, value: string, problem: string): Error {
  return usageError(`${flag} "${value}": ${problem}`, `see 'shoal service create --help'`);
}

export function parseDurationFlag(flag: string, value: string): number {
  try {
    return parseDurationMs(value);
  } catch {
    throw bad(flag, value, "not a duration (write it like 10s, 1m30s, 500ms)");
  }
}

export function parseBytesFlag(flag: string, value: string): number {
  try {
    return parseBytes(value);
  } catch {
    throw bad(flag, value, "not a size (write it like 512M, 1G, 128MiB)");
  }
}

export function parseCpusFlag(flag: string, value: string): number {
  const nano = parseCpus(value);
  if (nano === undefined) throw bad(flag, value, "not a number of CPUs (write it like 0.5 or 2)");
  return nano;
}

export function parseCountFlag(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw bad(flag, value, "must be a whole number, 0 or more");
  return Number(value);
}

export function parseRatioFlag(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1)
    throw bad(flag, value, "must be a number from 0 to 1");
  return n;
}

export function parseChoice<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) {
    throw bad(flag, value, `must be one of ${choices.join(", ")}`);
  }
  return value as T;
}

/** `KEY=VALUE`; `KEY` alone is an error where a value is needed. */
export function parseKeyValue(flag: string, value: string, { valueRequired = false } = {}): [string, string] {
  const at = value.indexOf("=");
  const key = at < 0 ? value : value.slice(0, at);
  if (key === "") throw bad(flag, value, "needs a KEY=VALUE pair");
  if (at < 0 && valueRequired) throw bad(flag, value, "needs a KEY=VALUE pair");
  return [key, at < 0 ? "" : value.slice(at + 1)];
}

/** Docker's csv options: `a=b,c=d`, with `"…"` quoting a value that holds a comma. */
function csvFields(flag: string, value: string): [string, string][] {
  const out: [string, string][] = [];
  const fields = value.match(/(?:[^,"]|"[^"]*")+/g) ?? [];
  for (const raw of fields) {
    const field = raw.trim();
    const at = field.indexOf("=");
    const key = (at < 0 ? field : field.slice(0, at)).trim().toLowerCase();
    const v = at < 0 ? "" : field.slice(at + 1).replace(/^"(.*)"$/, "$1");
    if (key === "") throw bad(flag, value, `empty field in "${field}"`);
    out.push([key, at < 0 ? "\u0000" : v]);
  }
  return out;
}

function isTrue(flag: string, whole: string, key: string, v: string): boolean {
  if (v === "\u0000" || v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw bad(flag, whole, `${key}= takes true or false, got "${v}"`);
}

const PROTOCOLS: Record<string, PortProtocol> = {
  tcp: PortProtocol.TCP,
  udp: PortProtocol.UDP,
  sctp: PortProtocol.SCTP,
};

/** `--publish`: `8080:80`, `8080:80/udp`, `80`, or `published=8080,target=80,protocol=udp,mode=host`. */
export function parsePublish(flag: string, value: string): PortConfig[] {
  if (value.includes("=")) {
    const port: PortConfig = {
      name: "",
      protocol: PortProtocol.TCP,
      targetPort: 0,
      publishedPort: 0,
      publishMode: PublishMode.INGRESS,
    };
    for (const [key, v] of csvFields(flag, value)) {
      switch (key) {
        case "target":
          port.targetPort = portNumber(flag, value, v, 1);
          break;
        case "published":
          port.publishedPort = portNumber(flag, value, v, 0);
          break;
        case "protocol": {
          const p = PROTOCOLS[v];
          if (p === undefined) throw bad(flag, value, `protocol must be tcp, udp or sctp, got "${v}"`);
          port.protocol = p;
          break;
        }
        case "mode":
          if (v !== "ingress" && v !== "host")
            throw bad(flag, value, `mode must be ingress or host, got "${v}"`);
          port.publishMode = v === "host" ? PublishMode.HOST : PublishMode.INGRESS;
          break;
        default:
          throw bad(flag, value, `unknown field "${key}" (fields: target, published, protocol, mode)`);
      }
    }
    if (port.targetPort === 0) throw bad(flag, value, "target= is required");
    return [port];
  }
  const ports = expandPortSpec(value);
  if (ports === undefined) throw bad(flag, value, "not a port (write it like 8080:80, 8080:80/udp or 80)");
  return ports.map((p) => ({
    name: "",
    protocol: PROTOCOLS[p.protocol ?? "tcp"] ?? PortProtocol.TCP,
    targetPort: p.target,
    publishedPort: p.published ?? 0,
    publishMode: p.mode === "host" ? PublishMode.HOST : PublishMode.INGRESS,
  }));
}

function portNumber(flag: string, whole: string, v: string, min: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > 65535) throw bad(flag, whole, `"${v}" is not a port number`);
  return n;
}

/** The `published/protocol` or `target` key `--publish-rm` matches on, as docker. */
export function publishKey(port: PortConfig): string {
  const proto = Object.entries(PROTOCOLS).find(([, p]) => p === port.protocol)?.[0] ?? "tcp";
  return `${port.publishedPort === 0 ? port.targetPort : port.publishedPort}/${proto}`;
}

const MOUNT_TYPES: Record<string, MountType> = {
  bind: MountType.BIND,
  volume: MountType.VOLUME,
  tmpfs: MountType.TMPFS,
};
const PROPAGATIONS: Record<string, BindPropagation> = {
  rprivate: BindPropagation.RPRIVATE,
  private: BindPropagation.PRIVATE,
  rshared: BindPropagation.RSHARED,
  shared: BindPropagation.SHARED,
  rslave: BindPropagation.RSLAVE,
  slave: BindPropagation.SLAVE,
};

/** `--mount type=bind,source=/a,target=/b,readonly` (docker's fields and aliases). */
export function parseMount(flag: string, value: string): Mount {
  const mount: Mount = { type: MountType.VOLUME, source: "", target: "", readOnly: false };
  const bind: NonNullable<Mount["bindOptions"]> = {
    propagation: BindPropagation.UNSPECIFIED,
    nonRecursive: false,
    createMountpoint: false,
  };
  const volume: NonNullable<Mount["volumeOptions"]> = { noCopy: false, labels: {} };
  const tmpfs: NonNullable<Mount["tmpfsOptions"]> = { sizeBytes: 0, mode: 0, options: [] };
  let usedBind = false;
  let usedVolume = false;
  let usedTmpfs = false;
  for (const [key, v] of csvFields(flag, value)) {
    switch (key) {
      case "type": {
        const t = MOUNT_TYPES[v];
        if (t === undefined) throw bad(flag, value, `type must be bind, volume or tmpfs, got "${v}"`);
        mount.type = t;
        break;
      }
      case "source":
      case "src":
        mount.source = v;
        break;
      case "target":
      case "dst":
      case "destination":
        mount.target = v;
        break;
      case "readonly":
      case "ro":
        mount.readOnly = isTrue(flag, value, key, v);
        break;
      case "bind-propagation": {
        const p = PROPAGATIONS[v];
        if (p === undefined)
          throw bad(
            flag,
            value,
            `bind-propagation "${v}" is not one of ${Object.keys(PROPAGATIONS).join(", ")}`,
          );
        bind.propagation = p;
        usedBind = true;
        break;
      }
      case "bind-recursive":
        bind.nonRecursive = v === "disabled";
        usedBind = true;
        break;
      case "bind-create-mountpoint":
        bind.createMountpoint = isTrue(flag, value, key, v);
        usedBind = true;
        break;
      case "volume-nocopy":
        volume.noCopy = isTrue(flag, value, key, v);
        usedVolume = true;
        break;
      case "volume-label": {
        const [k, lv] = parseKeyValue(flag, v);
        volume.labels[k] = lv;
        usedVolume = true;
        break;
      }
      case "volume-driver":
        volume.driverConfig = { name: v, options: {} };
        usedVolume = true;
        break;
      case "tmpfs-size":
        tmpfs.sizeBytes = parseBytesFlag(flag, v);
        usedTmpfs = true;
        break;
      case "tmpfs-mode":
        if (!/^[0-7]{1,4}$/.test(v)) throw bad(flag, value, `tmpfs-mode "${v}" is not an octal mode`);
        tmpfs.mode = Number.parseInt(v, 8);
        usedTmpfs = true;
        break;
      default:
        throw bad(flag, value, `unknown field "${key}"`);
    }
  }
  if (mount.target === "") throw bad(flag, value, "target= is required");
  if (mount.type === MountType.BIND && mount.source === "")
    throw bad(flag, value, "a bind mount needs source=");
  if (usedBind && mount.type !== MountType.BIND) throw bad(flag, value, "bind-* fields need type=bind");
  if (usedVolume && mount.type !== MountType.VOLUME)
    throw bad(flag, value, "volume-* fields need type=volume");
  if (usedTmpfs && mount.type !== MountType.TMPFS) throw bad(flag, value, "tmpfs-* fields need type=tmpfs");
  if (usedBind) mount.bindOptions = bind;
  if (usedVolume) mount.volumeOptions = volume;
  if (usedTmpfs) mount.tmpfsOptions = tmpfs;
  return mount;
}

function fileMode(flag: string, whole: string, v: string): number {
  if (!/^0?[0-7]{1,3}$/.test(v)) throw bad(flag, whole, `mode "${v}" is not an octal file mode like 0440`);
  return Number.parseInt(v, 8);
}

function fileReference(flag: string, value: string, defaultMode: number) {
  const file = { name: "", uid: "0", gid: "0", mode: defaultMode };
  let source = "";
  if (!value.includes("=")) return { source: value, file: { ...file, name: value } };
  for (const [key, v] of csvFields(flag, value)) {
    switch (key) {
      case "source":
      case "src":
        source = v;
        break;
      case "target":
        file.name = v;
        break;
      case "uid":
        file.uid = v;
        break;
      case "gid":
        file.gid = v;
        break;
      case "mode":
        file.mode = fileMode(flag, value, v);
        break;
      default:
        throw bad(flag, value, `unknown field "${key}" (fields: source, target, uid, gid, mode)`);
    }
  }
  if (source === "") throw bad(flag, value, "source= is required");
  if (file.name === "") file.name = source;
  return { source, file };
}

/** `--secret NAME` or `--secret source=NAME,target=FILE,uid=0,gid=0,mode=0400`. The server resolves the name. */
export function parseSecretRef(flag: string, value: string): SecretReference {
  const { source, file } = fileReference(flag, value, 0o444);
  return { secretId: "", secretName: source, file };
}

export function parseConfigRef(flag: string, value: string): ConfigReference {
  const { source, file } = fileReference(flag, value, 0o444);
  // A config's target is a path; docker puts a bare name at /<name>.
  return {
    configId: "",
    configName: source,
    file: { ...file, name: file.name.startsWith("/") ? file.name : `/${file.name}` },
  };
}

/** `--ulimit nofile=1024:2048` (or `nofile=1024`, soft = hard). */
export function parseUlimit(flag: string, value: string): Ulimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(value);
  if (m === null) throw bad(flag, value, "write it as NAME=SOFT[:HARD], like nofile=1024:2048");
  const soft = Number(m[2]);
  return { name: m[1] as string, soft, hard: m[3] === undefined ? soft : Number(m[3]) };
}

/** `--placement-pref spread=node.labels.zone`. */
export function parsePlacementPref(flag: string, value: string): PlacementPreference {
  const [kind, descriptor] = parseKeyValue(flag, value, { valueRequired: true });
  if (kind !== "spread") throw bad(flag, value, `only spread=<key> preferences exist, got "${kind}"`);
  return { preference: { $case: "spread", value: { spreadDescriptor: descriptor } } };
}

export function placementPrefKey(pref: PlacementPreference): string {
  return pref.preference?.$case === "spread" ? `spread=${pref.preference.value.spreadDescriptor}` : "";
}
