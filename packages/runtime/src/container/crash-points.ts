/**
 * Named steps where a test makes the runtime's process die (SIGKILL to itself, as a crash or an
 * OOM kill would), to check that `open` in a new process recovers from exactly that point. Off
 * unless the `crashAt` option names a step; production never sets it.
 */
export const CrashPoint = {
  /** create: runc create done under conmon, record still `creating`. */
  CreateAfterConmon: "create:after-conmon",
  /** start: intent recorded, process not yet let run. */
  StartAfterIntent: "start:after-intent",
  /** start: process let run (exec fifo consumed), start not yet recorded. */
  StartAfterRun: "start:after-run",
  /** remove: record marked `removing`, nothing torn down yet. */
  RemoveAfterMark: "remove:after-mark",
  /** teardown: process, mounts and cgroups gone, image hold not yet released. */
  TeardownBeforeRelease: "teardown:before-release",
  /** teardown: image hold released, exit file and container dir (with the record) still there. */
  TeardownBeforeRecordRemoval: "teardown:before-record-removal",
} as const;
export type CrashPoint = (typeof CrashPoint)[keyof typeof CrashPoint];

/** Dies here when `armed` names this step. */
export function crashPoint(armed: CrashPoint | undefined, here: CrashPoint): void {
  if (armed === here) process.kill(process.pid, "SIGKILL");
}
