import type { PortConfig } from "./ports.js";

/**
 * The normalized stack model: what every file says after interpolation, validation and the
 * Compose shorthand has been expanded (lists of `K=V` → maps, short ports/volumes → long form,
 * durations in Go's canonical form, byte sizes as numbers, relative paths made absolute). Keys
 * keep the Compose spelling so it reads like docker/cli's `stack config` output. Keys we do not
 * interpret (and `x-*` extensions) are carried through unchanged.
 */
export interface StackConfig {
  version: string;
  services: Record<string, ServiceConfig>;
  networks: Record<string, NetworkConfig>;
  volumes: Record<string, VolumeConfig>;
  secrets: Record<string, FileObjectConfig>;
  configs: Record<string, FileObjectConfig>;
  /** Top-level `x-*` keys. */
  extensions: Record<string, unknown>;
}

export type { PortConfig };

export interface ServiceConfig {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  /** null: declared without a value and not found in the environment. */
  environment?: Record<string, string | null>;
  env_file?: string[];
  labels?: Record<string, string>;
  ports?: PortConfig[];
  expose?: string[];
  volumes?: VolumeMount[];
  secrets?: FileReference[];
  configs?: FileReference[];
  networks?: Record<string, ServiceNetwork | null>;
  deploy?: DeployConfig;
  healthcheck?: HealthcheckConfig;
  user?: string;
  hostname?: string;
  working_dir?: string;
  extra_hosts?: string[];
  dns?: string[];
  dns_search?: string[];
  dns_opt?: string[];
  stop_grace_period?: string;
  stop_signal?: string;
  read_only?: boolean;
  init?: boolean;
  tty?: boolean;
  stdin_open?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  sysctls?: Record<string, string>;
  ulimits?: Record<string, number | { soft: number; hard: number }>;
  logging?: { driver?: string; options?: Record<string, string> };
  tmpfs?: string[];
  group_add?: string[];
  isolation?: string;
  [key: string]: unknown;
}

export interface ServiceNetwork {
  aliases?: string[];
  ipv4_address?: string;
  ipv6_address?: string;
  [key: string]: unknown;
}

export interface FileReference {
  source: string;
  target?: string;
  uid?: string;
  gid?: string;
  mode?: number;
}

export interface VolumeMount {
  type: "volume" | "bind" | "tmpfs" | "npipe" | "cluster";
  source?: string;
  target: string;
  read_only?: boolean;
  consistency?: string;
  bind?: { propagation?: string; create_host_path?: boolean; selinux?: string };
  volume?: { nocopy?: boolean; subpath?: string };
  tmpfs?: { size?: number; mode?: number };
}

export interface DeployConfig {
  mode?: string;
  replicas?: number;
  labels?: Record<string, string>;
  update_config?: UpdateConfig;
  rollback_config?: UpdateConfig;
  resources?: { limits?: ResourceSpec; reservations?: ResourceSpec };
  restart_policy?: { condition?: string; delay?: string; max_attempts?: number; window?: string };
  placement?: {
    constraints?: string[];
    preferences?: Array<{ spread: string }>;
    max_replicas_per_node?: number;
  };
  endpoint_mode?: string;
}

export interface UpdateConfig {
  parallelism?: number;
  delay?: string;
  failure_action?: string;
  monitor?: string;
  max_failure_ratio?: number;
  order?: string;
}

export interface ResourceSpec {
  cpus?: string;
  memory?: number;
  pids?: number;
  generic_resources?: Array<{ discrete_resource_spec: { kind: string; value: number } }>;
}

export interface HealthcheckConfig {
  test?: string[];
  interval?: string;
  timeout?: string;
  start_period?: string;
  start_interval?: string;
  retries?: number;
  disable?: boolean;
}

export interface NetworkConfig {
  name?: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  ipam?: { driver?: string; config?: Array<Record<string, unknown>>; options?: Record<string, string> };
  external: boolean;
  internal?: boolean;
  attachable?: boolean;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

export interface VolumeConfig {
  name?: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  external: boolean;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

/** A secret or config: from a file (absolute path), from the environment, or external. */
export interface FileObjectConfig {
  name?: string;
  file?: string;
  environment?: string;
  content?: string;
  external: boolean;
  labels?: Record<string, string>;
  template_driver?: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  [key: string]: unknown;
}
