import type { ConfigSpec, NetworkSpec, SecretSpec, ServiceSpec } from "@shoal/proto";
import { ConvertContext } from "./convert-context.js";
import { convertService } from "./convert-service.js";
import type { StackIssue } from "./errors.js";
import type { FileObjectConfig, NetworkConfig, StackConfig } from "./model.js";
import type { SourceMap } from "./source-map.js";

/** Driver of a stack network the file gives none for: overlay, as Swarm. */
export const DEFAULT_NETWORK_DRIVER = "overlay";

/** A network the stack uses: created by the deploy unless it is external (then it must exist). */
export interface StackNetwork {
  key: string;
  external: boolean;
  spec: NetworkSpec;
}

/**
 * A secret or config the stack uses. `spec.data` is empty until `readStackFiles` fills it from
 * `file` at deploy time; external ones are only referenced by name.
 */
export interface StackFileObject<S> {
  key: string;
  external: boolean;
  /** Absolute path of the content, when it comes from a file. */
  file?: string;
  /** Name of the environment variable holding the content (compose-spec `environment:`). */
  environment?: string;
  /** Inline content (compose-spec `content:`). */
  content?: string;
  spec: S;
}

/** Everything `stack deploy` would create or reference, as API specs. */
export interface StackPlan {
  namespace: string;
  services: ServiceSpec[];
  networks: StackNetwork[];
  secrets: StackFileObject<SecretSpec>[];
  configs: StackFileObject<ConfigSpec>[];
  /** Things the conversion left out or changed (host_ip, cluster volumes, unset variables). */
  warnings: StackIssue[];
}

const byName = <T extends { key: string }>(a: T, b: T) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * Converts a loaded stack into the specs a deploy sends: names `<stack>_<name>` (or `name:`), the
 * stack label on every object, a `<stack>_default` overlay network for services that list none.
 * Pure: no files are read here. With `positions` (from the load), warnings say where.
 */
export function convertStack(config: StackConfig, namespace: string, positions?: SourceMap): StackPlan {
  const ctx = new ConvertContext(namespace, config, positions);
  const services = Object.keys(config.services)
    .sort()
    .map((key) => convertService(ctx, key, config.services[key]!));
  // Only networks some service uses are part of the deploy, as in docker/cli.
  const networks: StackNetwork[] = [...ctx.usedNetworks]
    .map((key) => network(ctx, key, config.networks[key] ?? { external: false }))
    .sort(byName);
  const fileObjects = <S extends SecretSpec | ConfigSpec>(
    sectionName: "secrets" | "configs",
    section: Record<string, FileObjectConfig>,
    nameOf: (key: string) => string,
  ): StackFileObject<S>[] =>
    Object.entries(section)
      .map(([key, def]) => {
        const obj: StackFileObject<S> = {
          key,
          external: def.external,
          spec: {
            name: nameOf(key),
            labels: def.external ? {} : ctx.withStackLabel(def.labels ?? {}),
            data: new Uint8Array(),
          } as S,
        };
        if (def.file !== undefined) obj.file = def.file;
        if (typeof def.environment === "string") obj.environment = def.environment;
        if (typeof def.content === "string") obj.content = def.content;
        // Swarm expands Go templates in templated configs on the node; Shoal's agent does not.
        if (def.template_driver !== undefined) {
          ctx.warnAt(
            [sectionName, key, "template_driver"],
            "ignored: the content is used as written, not as a template",
          );
        }
        if (def.driver !== undefined)
          ctx.warnAt([sectionName, key, "driver"], "ignored: content comes from the stack");
        return obj;
      })
      .sort(byName);
  return {
    namespace,
    services,
    networks,
    secrets: fileObjects<SecretSpec>("secrets", config.secrets, (k) => ctx.secretName(k)),
    configs: fileObjects<ConfigSpec>("configs", config.configs, (k) => ctx.configName(k)),
    warnings: ctx.warnings,
  };
}

function network(ctx: ConvertContext, key: string, def: NetworkConfig): StackNetwork {
  const ipam = def.ipam;
  const spec: NetworkSpec = {
    name: ctx.networkName(key),
    labels: def.external ? {} : ctx.withStackLabel(def.labels ?? {}),
    driverConfig: { name: def.driver ?? DEFAULT_NETWORK_DRIVER, options: def.driver_opts ?? {} },
    ipv6Enabled: def.enable_ipv6 === true,
    internal: def.internal === true,
    attachable: def.attachable === true,
    ingress: false,
  };
  if (ipam !== undefined) {
    spec.ipam = {
      ...(ipam.driver !== undefined ? { driver: { name: ipam.driver, options: ipam.options ?? {} } } : {}),
      configs: (ipam.config ?? []).map((c) => ({
        subnet: typeof c.subnet === "string" ? c.subnet : "",
        ipRange: typeof c.ip_range === "string" ? c.ip_range : "",
        gateway: typeof c.gateway === "string" ? c.gateway : "",
      })),
    };
  }
  return { key, external: def.external, spec };
}
