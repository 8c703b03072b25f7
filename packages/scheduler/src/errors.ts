/** Error codes of the scheduler package. Unplaceable tasks are results, not errors. */
export const SchedulerErrorCode = {
  /** A placement constraint is not `key == value` / `key != value` with a known key and valid value. */
  InvalidConstraint: "INVALID_CONSTRAINT",
  /** A placement preference is not `spread=<attribute>` with a known attribute. */
  InvalidPreference: "INVALID_PREFERENCE",
} as const;
export type SchedulerErrorCode = (typeof SchedulerErrorCode)[keyof typeof SchedulerErrorCode];
