// When the daemon gives memory back (memory-settle.ts): a pure step over one sample of the event
// loop's busy ratio per period. A burst of work (start-up, joins, a service's convergence) leaves
// bytecode of code that will not run again, and V8 flushes bytecode only after a few full GCs that
// an idle daemon never runs; so once the loop has been busy and then quiet for a while, the shell
// runs a few full GCs. A cooldown bounds their CPU under work that comes and goes.

export interface SettleDecisionOptions {
  /** A sample at or above this busy ratio (0–1) is work. */
  busyRatio: number;
  /** Quiet samples in a row after work before settling. */
  quietSamples: number;
  /** The least time between two settles' starts. */
  cooldownMs: number;
}

export interface SettleState {
  /** Work was seen since the last settle (a daemon starts as work: its start-up). */
  dirty: boolean;
  quietInRow: number;
  /** When the last settle began; undefined before the first. */
  lastSettleMs: number | undefined;
}

export const initialSettleState: SettleState = { dirty: true, quietInRow: 0, lastSettleMs: undefined };

/** The next state after one sample taken at `nowMs`, and whether to settle now. */
export function stepSettle(
  state: SettleState,
  busyRatio: number,
  nowMs: number,
  options: SettleDecisionOptions,
): { state: SettleState; settle: boolean } {
  if (busyRatio >= options.busyRatio)
    return { state: { ...state, dirty: true, quietInRow: 0 }, settle: false };
  const quietInRow = state.quietInRow + 1;
  const cooled = state.lastSettleMs === undefined || nowMs - state.lastSettleMs >= options.cooldownMs;
  if (state.dirty && quietInRow >= options.quietSamples && cooled) {
    return { state: { dirty: false, quietInRow: 0, lastSettleMs: nowMs }, settle: true };
  }
  return { state: { ...state, quietInRow }, settle: false };
}
