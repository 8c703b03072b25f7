/**
 * Service keys that `docker stack deploy` ignores with a warning (docker/cli
 * types.UnsupportedProperties), plus `depends_on`, which Swarm also ignores (services start in
 * any order) though docker/cli does not say so.
 */
export const IGNORED_SERVICE_KEYS: Readonly<Record<string, string>> = {
  build: "build images before deploying and reference them with image:",
  cgroupns_mode: "not supported by Swarm",
  cgroup_parent: "not supported by Swarm",
  depends_on: "Swarm starts services in any order",
  devices: "not supported by Swarm",
  domainname: "not supported by Swarm",
  external_links: "not supported by Swarm",
  ipc: "not supported by Swarm",
  links: "services on the same network reach each other by name",
  mac_address: "not supported by Swarm",
  network_mode: "not supported by Swarm",
  pid: "not supported by Swarm",
  privileged: "not supported by Swarm",
  restart: "prefer deploy.restart_policy (restart: is used only when that is absent, as in docker)",
  security_opt: "not supported by Swarm",
  shm_size: "not supported by Swarm",
  userns_mode: "not supported by Swarm",
  // docker/cli types.DeprecatedProperties: removed from v3 but harmless.
  container_name: "setting the container name is not supported",
  expose: "services on the same network reach each other on any port",
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
