import { formatBytes } from "@shoal/base";
import type { ResourceRequirements, Resources } from "../gen/shoal/v1/types.js";
import type { IssueCollector } from "./issues.js";

/** Smallest non-zero CPU amount (1 milli-CPU), as in Swarm. */
export const MIN_NANO_CPUS = 1_000_000;
/** Smallest non-zero memory amount (4 MiB), as in Swarm: below this a container cannot start. */
export const MIN_MEMORY_BYTES = 4 * 1024 * 1024;

/** 1_500_000_000 → "1.5 CPUs". */
export function formatNanoCpus(nanoCpus: number): string {
  return `${nanoCpus / 1e9} CPUs`;
}

function checkResources(issues: IssueCollector, path: string, resources: Resources): void {
  const cpus = resources.nanoCpus;
  if (!Number.isInteger(cpus)) issues.add(`${path}.nano_cpus`, `${cpus} must be a whole number of nano-CPUs`);
  else if (cpus < 0) issues.add(`${path}.nano_cpus`, `${formatNanoCpus(cpus)} must not be negative`);
  else if (cpus > 0 && cpus < MIN_NANO_CPUS) {
    issues.add(`${path}.nano_cpus`, `${formatNanoCpus(cpus)} is below the ${MIN_NANO_CPUS / 1e9} minimum`);
  }
  const memory = resources.memoryBytes;
  issues.bytes(`${path}.memory_bytes`, memory);
  if (Number.isInteger(memory) && memory > 0 && memory < MIN_MEMORY_BYTES) {
    issues.add(
      `${path}.memory_bytes`,
      `${formatBytes(memory)} is below the ${formatBytes(MIN_MEMORY_BYTES)} minimum`,
    );
  }
  issues.count(`${path}.pids`, resources.pids);
  const kinds = new Set<string>();
  resources.generic.forEach((generic, i) => {
    const at = `${path}.generic[${i}]`;
    if (issues.notEmpty(`${at}.kind`, generic.kind) && generic.value?.$case === "discrete") {
      if (kinds.has(generic.kind)) issues.add(at, `discrete resource "${generic.kind}" is listed twice`);
      kinds.add(generic.kind);
    }
    if (generic.value === undefined) issues.add(at, "needs a discrete count or a named value");
    else if (generic.value.$case === "discrete") issues.count(`${at}.discrete`, generic.value.value);
    else issues.notEmpty(`${at}.named`, generic.value.value);
  });
}

/** Limits and reservations each valid, and no limit below its reservation (0 = no limit). */
export function checkResourceRequirements(
  issues: IssueCollector,
  path: string,
  req: ResourceRequirements,
): void {
  if (req.limits !== undefined) checkResources(issues, `${path}.limits`, req.limits);
  if (req.reservations !== undefined) checkResources(issues, `${path}.reservations`, req.reservations);
  const limits = req.limits;
  const reservations = req.reservations;
  if (limits === undefined || reservations === undefined) return;
  if (limits.nanoCpus > 0 && limits.nanoCpus < reservations.nanoCpus) {
    issues.add(
      `${path}.limits.nano_cpus`,
      `${formatNanoCpus(limits.nanoCpus)} is below the reservation of ${formatNanoCpus(reservations.nanoCpus)}`,
    );
  }
  if (limits.memoryBytes > 0 && limits.memoryBytes < reservations.memoryBytes) {
    issues.add(
      `${path}.limits.memory_bytes`,
      `${formatBytes(limits.memoryBytes)} is below the reservation of ${formatBytes(reservations.memoryBytes)}`,
    );
  }
}
