/** Error codes of the scheduler package. Unplaceable tasks are results, not errors. */
export const SchedulerErrorCode = {
  /** A placement constraint is not `key == value` / `key != value` with a known key and valid value. */
  InvalidConstraint: "SCHEDULER_INVALID_CONSTRAINT",
  /** A placement preference is not `spread=<attribute>` with a known attribute. */
  InvalidPreference: "SCHEDULER_INVALID_PREFERENCE",
  /**
   * A capacity or reservation is negative or not a finite number: a bug in the caller's mapping
   * from store objects, so the whole call is refused rather than placing on nonsense.
   */
  InvalidInput: "SCHEDULER_INVALID_INPUT",
  /**
   * A broken invariant: @shoal/proto's constraint parser accepted a text this package cannot
   * resolve. A bug, never user input; it throws and crashes the caller.
   */
  Invariant: "SCHEDULER_INVARIANT",
} as const;
export type SchedulerErrorCode = (typeof SchedulerErrorCode)[keyof typeof SchedulerErrorCode];
