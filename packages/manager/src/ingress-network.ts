import { newId } from "@shoal/base";
import { allocateNetwork, withAllocation } from "@shoal/orchestrator";
import { type Cluster, Network, NetworkSpec } from "@shoal/proto";

/** Swarm's name for the routing mesh's network. */
export const INGRESS_NETWORK_NAME = "ingress";

/**
 * The network a new cluster starts with: the routing mesh's (`ingress: true`), allocated from the
 * cluster's address pool like any other, so published ports reach tasks on every node.
 */
export function ingressNetwork(cluster: Cluster, nowMs: number): Network {
  const spec = NetworkSpec.fromPartial({
    name: INGRESS_NETWORK_NAME,
    driverConfig: { name: "overlay", options: {} },
    ingress: true,
  });
  const network = Network.fromPartial({
    id: newId(),
    meta: { version: 0, createdAtMs: nowMs, updatedAtMs: nowMs },
    spec,
  });
  return withAllocation(network, allocateNetwork(spec, [], cluster));
}
