import { reconcileGlobal } from "./global.js";
import { reconcileGlobalJob, reconcileReplicatedJob } from "./jobs.js";
import type { Plan } from "./plan.js";
import { reconcileReplicated, type ServiceReconcileInput } from "./replicated.js";
import type { ReconcileContext } from "./view.js";

/** The orchestrator for the service's mode (an unset mode is replicated, as in Swarm). */
export function reconcileService(input: ServiceReconcileInput, ctx: ReconcileContext): Plan {
  switch (input.service.spec?.mode?.$case) {
    case "global":
      return reconcileGlobal(input, ctx);
    case "replicatedJob":
      return reconcileReplicatedJob(input, ctx);
    case "globalJob":
      return reconcileGlobalJob(input, ctx);
    default:
      return reconcileReplicated(input, ctx);
  }
}
