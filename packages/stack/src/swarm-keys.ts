/**
 * Service keys that `docker stack deploy` ignores with a warning (docker/cli
 * types.UnsupportedProperties), plus `depends_on`, which Swarm also ignores (services start in
 * any order) though docker/cli does not say so.
 */
export const IGNORED_SERVICE_KEYS: Readonly<Record<string, string>> = {
  build: "ignored: Swarm does not build images; build and push them, then name them in image:",
  cgroupns_mode: "ignored: Swarm services have no such setting",
  cgroup_parent: "ignored: Swarm services have no such setting",
  depends_on: "ignored: Swarm starts services in any order",
  devices: "ignored: Swarm services have no such setting",
  domainname: "ignored: Swarm services have no such setting",
  external_links: "ignored: Swarm services have no such setting",
  ipc: "ignored: Swarm services have no such setting",
  links: "ignored: services on the same network reach each other by name",
  mac_address: "ignored: Swarm services have no such setting",
  network_mode: "ignored: Swarm services have no such setting",
  pid: "ignored: Swarm services have no such setting",
  privileged: "ignored: Swarm services have no such setting",
  // docker/cli still reads it when deploy.restart_policy is absent (see convert-service.ts).
  restart: "prefer deploy.restart_policy; restart: is only read when that is absent",
  security_opt: "ignored: Swarm services have no such setting",
  shm_size: "ignored: Swarm services have no such setting",
  userns_mode: "ignored: Swarm services have no such setting",
  // docker/cli types.DeprecatedProperties: removed from v3 but harmless.
  container_name: "ignored: Swarm names the containers of a service itself",
  expose: "ignored: services on the same network reach each other on any port",
};

/** Service keys that `docker stack deploy` refuses (docker/cli types.ForbiddenProperties). */
export const FORBIDDEN_SERVICE_KEYS: Readonly<Record<string, string>> = {
  extends: "extends is not supported",
  volume_driver: "define a volume under the top-level volumes: with its driver and use it from the service",
  volumes_from: "define the volume under the top-level volumes: and mount it in every service that shares it",
  cpu_quota: "set resource limits with deploy.resources",
  cpu_shares: "set resource limits with deploy.resources",
  cpuset: "set resource limits with deploy.resources",
  mem_limit: "set resource limits with deploy.resources",
  memswap_limit: "set resource limits with deploy.resources",
};

/**
 * Service keys the loader turns into spec fields. A key in none of these three tables (and not an
 * `x-` extension) is valid Compose that Shoal stacks do not use: it is warned about, not dropped
 * silently.
 */
export const HANDLED_SERVICE_KEYS: ReadonlySet<string> = new Set([
  "cap_add",
  "cap_drop",
  "command",
  "configs",
  "deploy",
  "dns",
  "dns_opt",
  "dns_search",
  "entrypoint",
  "env_file",
  "environment",
  "extra_hosts",
  "group_add",
  "healthcheck",
  "hostname",
  "image",
  "init",
  "labels",
  "logging",
  "networks",
  "ports",
  "read_only",
  "secrets",
  "stdin_open",
  "stop_grace_period",
  "stop_signal",
  "sysctls",
  "tmpfs",
  "tty",
  "ulimits",
  "user",
  "volumes",
  "working_dir",
]);
