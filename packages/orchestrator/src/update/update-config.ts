import { type Service, ServiceDefaults, UpdateFailureAction, UpdateOrder, UpdateState } from "@shoal/proto";

/** An update (or rollback) config with Swarm's defaults filled in. */
export interface EffectiveUpdateConfig {
  /** Slots replaced at once; 0 = all. */
  parallelism: number;
  delayMs: number;
  failureAction: UpdateFailureAction;
  monitorMs: number;
  maxFailureRatio: number;
  order: UpdateOrder;
}

/** The service is rolling back (the rollback config applies, and a failure never rolls back again). */
export function isRollingBack(service: Service): boolean {
  const state = service.updateStatus?.state;
  return state === UpdateState.ROLLBACK_STARTED || state === UpdateState.ROLLBACK_PAUSED;
}

/** The config the current roll uses: `rollbackConfig` while rolling back, else `updateConfig`. */
export function effectiveUpdateConfig(service: Service): EffectiveUpdateConfig {
  const c = isRollingBack(service) ? service.spec?.rollbackConfig : service.spec?.updateConfig;
  const d = ServiceDefaults.update;
  const action = c?.failureAction ?? UpdateFailureAction.UNSPECIFIED;
  const order = c?.order ?? UpdateOrder.UNSPECIFIED;
  return {
    parallelism: Math.max(0, c?.parallelism ?? d.parallelism),
    delayMs: Math.max(0, c?.delayMs ?? d.delayMs),
    failureAction: action === UpdateFailureAction.UNSPECIFIED ? d.failureAction : action,
    monitorMs: Math.max(0, c?.monitorMs ?? d.monitorMs),
    maxFailureRatio: Math.min(1, Math.max(0, c?.maxFailureRatio ?? d.maxFailureRatio)),
    order: order === UpdateOrder.UNSPECIFIED ? d.order : order,
  };
}
