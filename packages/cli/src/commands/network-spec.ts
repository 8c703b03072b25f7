// `shoal network create` flags → NetworkSpec, and the rows of `shoal network ls` (pure). Shoal's
// networks are all overlays (VXLAN across the nodes with their tasks), so `--driver` accepts only
// "overlay" and every network's scope is "swarm", as `docker network ls` shows Swarm's.
import { type Network, NetworkSpec } from "@shoal/proto";
import { usageError } from "../errors.js";
import { parseLabels, shortId } from "./common.js";

const OVERLAY_DRIVER = "overlay";

export interface NetworkCreateFlags {
  driver?: string;
  subnet?: string[];
  gateway?: string[];
  attachable?: boolean;
  internal?: boolean;
  label?: string[];
}

/** The spec `network create NAME` sends; a flag Shoal cannot honour is a usage error, before any call. */
export function networkSpecFromFlags(name: string, flags: NetworkCreateFlags): NetworkSpec {
  const driver = flags.driver ?? OVERLAY_DRIVER;
  if (driver !== OVERLAY_DRIVER)
    throw usageError(
      `--driver "${driver}" is not supported: shoal networks are "${OVERLAY_DRIVER}" networks`,
      "leave --driver out, or give --driver overlay",
    );
  const one = (flag: string, values: readonly string[] | undefined): string => {
    if ((values?.length ?? 0) > 1)
      throw usageError(
        `${flag} is given ${values?.length} times: a shoal network has one IPv4 subnet`,
        `give ${flag} once`,
      );
    return values?.[0] ?? "";
  };
  const subnet = one("--subnet", flags.subnet);
  const gateway = one("--gateway", flags.gateway);
  if (subnet === "" && gateway !== "")
    throw usageError(
      "--gateway needs --subnet",
      "give the network's subnet with --subnet, e.g. --subnet 10.0.9.0/24",
    );
  return NetworkSpec.fromPartial({
    name,
    labels: parseLabels(flags.label, "--label"),
    driverConfig: { name: OVERLAY_DRIVER, options: {} },
    internal: flags.internal === true,
    attachable: flags.attachable === true,
    ...(subnet === "" ? {} : { ipam: { configs: [{ subnet, gateway }] } }),
  });
}

/** One line of `network ls` (docker's columns). */
interface NetworkRow {
  id: string;
  name: string;
  driver: string;
  scope: string;
}

export function networkRow(network: Network, options: { noTrunc?: boolean } = {}): NetworkRow {
  return {
    id: options.noTrunc === true ? network.id : shortId(network.id),
    name: network.spec?.name ?? "",
    driver: network.driverState?.name || network.spec?.driverConfig?.name || OVERLAY_DRIVER,
    scope: "swarm",
  };
}

/** Sorted by name, as docker lists them. */
export function sortNetworks(networks: readonly Network[]): Network[] {
  return [...networks].sort(
    (a, b) => (a.spec?.name ?? "").localeCompare(b.spec?.name ?? "") || a.id.localeCompare(b.id),
  );
}
