import { SWITCH_GATEWAY_PORT, switchPort } from "./names.js";

/** The nftables table in the switch namespace that holds every cut. */
export const PARTITION_TABLE = "shoal_testkit";

export interface Cuts {
  /** Host index pairs whose link is cut, both directions. */
  pairs: ReadonlyArray<readonly [number, number]>;
  /** Hosts cut from every other host (the gateway link to the test process stays up). */
  isolated: readonly number[];
}

/**
 * Renders the whole cut table as one nft script. It is applied atomically (nft -f runs a script as
 * one transaction) and always replaces the previous table, so the kernel state is a function of the
 * harness's cut set and never drifts from it.
 *
 * The rules match bridge ports (`h<k>`) in the bridge family's forward hook of the switch namespace:
 * every frame between two hosts crosses it, whatever its addresses or protocol (containers behind
 * NAT, VXLAN, ARP), and the code under test inside the hosts cannot see or flush these rules.
 * Dropping (not rejecting) is what a real partition looks like: connects hang until their timeout.
 */
export function renderPartitionRules(cuts: Cuts): string {
  const rules: string[] = [];
  for (const [a, b] of cuts.pairs) {
    rules.push(`iifname "${switchPort(a)}" oifname "${switchPort(b)}" drop`);
    rules.push(`iifname "${switchPort(b)}" oifname "${switchPort(a)}" drop`);
  }
  for (const k of cuts.isolated) {
    rules.push(`iifname "${switchPort(k)}" oifname != "${SWITCH_GATEWAY_PORT}" drop`);
    rules.push(`oifname "${switchPort(k)}" iifname != "${SWITCH_GATEWAY_PORT}" drop`);
  }
  return [
    // "add" then "delete" makes the delete safe when the table does not exist yet.
    `table bridge ${PARTITION_TABLE}`,
    `delete table bridge ${PARTITION_TABLE}`,
    `table bridge ${PARTITION_TABLE} {`,
    "  chain cuts {",
    "    type filter hook forward priority 0; policy accept;",
    ...rules.map((r) => `    ${r}`),
    "  }",
    "}",
    "",
  ].join("\n");
}
