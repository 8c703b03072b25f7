// Invariants of rolling updates over random update configs and task failures, with simulated
// agents and a ManualClock. Replay a failure with UPDATE_SIM_SEED=<seed> (printed at the start).
import { type Task, TaskState, UpdateFailureAction, UpdateOrder, UpdateState } from "@shoal/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type RollScenario, RollSim } from "../../test/update-sim.js";
import { isLive } from "../task-facts.js";
import { isUp } from "./task-health.js";
import { effectiveUpdateConfig } from "./update-config.js";

const seed = Number(process.env.UPDATE_SIM_SEED ?? 20_261_202);
const numRuns = Number(process.env.UPDATE_SIM_RUNS ?? 60);

const updateConfig = fc.record({
  parallelism: fc.integer({ min: 0, max: 4 }),
  delayMs: fc.constantFrom(0, 500, 2_000),
  failureAction: fc.constantFrom(
    UpdateFailureAction.PAUSE,
    UpdateFailureAction.CONTINUE,
    UpdateFailureAction.ROLLBACK,
  ),
  monitorMs: fc.constantFrom(3_000, 5_000, 10_000),
  maxFailureRatio: fc.constantFrom(0, 0.2, 0.5),
  order: fc.constantFrom(UpdateOrder.STOP_FIRST, UpdateOrder.START_FIRST),
});

const scenario: fc.Arbitrary<RollScenario> = fc.record({
  replicas: fc.integer({ min: 1, max: 10 }),
  nodes: fc.integer({ min: 1, max: 4 }),
  update: updateConfig,
  rollback: updateConfig,
  healthCheck: fc.boolean(),
  bad: fc.boolean(),
  failChance: fc.constantFrom(0, 0, 0.1, 0.3),
  startMs: fc.integer({ min: 50, max: 2_000 }),
  stopMs: fc.integer({ min: 10, max: 1_000 }),
  // Within every monitor window above, so that each crash and each health check is the update's.
  healthyAfterMs: fc.integer({ min: 10, max: 2_000 }),
  crashAfterMs: fc.integer({ min: 10, max: 2_500 }),
  leaderChangesMs: fc.array(fc.integer({ min: 0, max: 60_000 }), { maxLength: 3 }),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

const CAP_MS = 20 * 60_000;

function image(t: Task): string {
  return t.spec?.container?.image ?? "";
}

function runScenario(s: RollScenario): void {
  const sim = new RollSim(s);
  const fail = (what: string): never => {
    throw new Error(
      `${what}\nscenario: ${JSON.stringify(s)}\nlast decisions:\n${sim.log.slice(-8).join("\n")}`,
    );
  };
  sim.runUntil(sim.clock.now() + 120_000);
  const tasks = () => [...sim.tasks.values()];
  const upCount = () => tasks().filter((t) => isUp(t)).length;
  if (upCount() !== s.replicas) fail(`before the update ${upCount()} of ${s.replicas} tasks are up`);
  sim.startUpdate();
  let rolledBack = false;
  let exceededAtMs: number | undefined;
  let rollStartMs = -1;
  const check = () => {
    const service = sim.service;
    const state = service.updateStatus?.state ?? UpdateState.UNKNOWN;
    if (state === UpdateState.ROLLBACK_STARTED) rolledBack = true;
    const now = sim.clock.now();
    // Capacity: what the update (and a rollback after it) may take down at most.
    const up = effectiveUpdateConfig({ ...service, updateStatus: undefined });
    const back = effectiveUpdateConfig({
      ...service,
      updateStatus: { state: UpdateState.ROLLBACK_STARTED, startedAtMs: 0, completedAtMs: 0, message: "" },
    });
    const width = (c: typeof up) =>
      c.order === UpdateOrder.START_FIRST ? 0 : c.parallelism === 0 ? s.replicas : c.parallelism;
    const allowed = rolledBack ? Math.max(width(up), width(back)) : width(up);
    const slotsUp = new Set(
      tasks()
        .filter((t) => isUp(t))
        .map((t) => t.slot),
    );
    const hurt = new Set(
      tasks()
        .filter(
          (t) => t.status?.state === TaskState.FAILED && (t.meta?.createdAtMs ?? 0) >= sim.updateStartedAtMs,
        )
        .map((t) => t.slot)
        .filter((slot) => !slotsUp.has(slot)),
    );
    const minimum = s.replicas - allowed - hurt.size;
    if (upCount() < minimum)
      fail(
        `@${now}: ${upCount()} tasks up, fewer than ${minimum} (replicas ${s.replicas}, may take down ${allowed}, ${hurt.size} slots down by crashes)`,
      );
    // Failures over the ratio stop the roll within one monitor window.
    const cfg = effectiveUpdateConfig(service);
    const startedAtMs = service.updateStatus?.startedAtMs ?? 0;
    if (startedAtMs !== rollStartMs) {
      rollStartMs = startedAtMs;
      exceededAtMs = undefined;
    }
    const active = state === UpdateState.UPDATING || state === UpdateState.ROLLBACK_STARTED;
    if (!active || cfg.failureAction === UpdateFailureAction.CONTINUE || startedAtMs === 0) return;
    const target = image({ spec: service.spec?.taskTemplate } as Task);
    // Failed slots, as swarmkit counts them (one task it created per slot).
    const failed = new Set(
      tasks()
        .filter(
          (t) =>
            image(t) === target &&
            t.status?.state === TaskState.FAILED &&
            (t.meta?.createdAtMs ?? 0) >= startedAtMs,
        )
        .map((t) => t.slot),
    ).size;
    if (failed / s.replicas > cfg.maxFailureRatio) exceededAtMs ??= now;
    if (exceededAtMs !== undefined && now > exceededAtMs + cfg.monitorMs)
      fail(
        `@${now}: ${failed} failed tasks over the ratio ${cfg.maxFailureRatio} since ${exceededAtMs}, still ${UpdateState[state as never] ?? state}`,
      );
  };
  // Run until the roll ended and stayed ended for a while (crash-looping tasks never settle).
  let endedAtMs: number | undefined;
  const ended = () => {
    const st = sim.service.updateStatus?.state ?? UpdateState.UNKNOWN;
    const terminal =
      st !== UpdateState.UPDATING && st !== UpdateState.ROLLBACK_STARTED && st !== UpdateState.UNKNOWN;
    endedAtMs = terminal ? (endedAtMs ?? sim.clock.now()) : undefined;
    return endedAtMs !== undefined && sim.clock.now() >= endedAtMs + 30_000;
  };
  sim.runUntil(sim.clock.now() + CAP_MS, check, ended);
  const service = sim.service;
  const state = service.updateStatus?.state ?? UpdateState.UNKNOWN;
  const target = image({ spec: service.spec?.taskTemplate } as Task);
  const live = tasks().filter(isLive);
  const images = [...new Set(live.map(image))].sort();
  if (state === UpdateState.PAUSED || state === UpdateState.ROLLBACK_PAUSED) return;
  if (state !== UpdateState.COMPLETED && state !== UpdateState.ROLLBACK_COMPLETED)
    fail(
      `the update ended neither completed nor paused: state ${state}, message "${service.updateStatus?.message}"`,
    );
  if (images.length !== 1 || images[0] !== target)
    fail(`completed, but the live tasks run ${images.join(", ")}, not ${target}`);
  if (state === UpdateState.ROLLBACK_COMPLETED && target !== "app:1") fail(`rolled back to ${target}`);
  if (!s.bad && s.failChance === 0 && (state !== UpdateState.COMPLETED || upCount() !== s.replicas))
    fail(`a good update ended ${state} with ${upCount()} of ${s.replicas} up`);
}

describe("rolling updates over simulated agents (property)", () => {
  it(
    "keep capacity, stop on failures within a monitor window, and end on one spec unless paused",
    () => {
      console.log(`updater property test: seed ${seed}, ${numRuns} runs (replay: UPDATE_SIM_SEED=${seed})`);
      fc.assert(
        fc.property(scenario, (s) => runScenario(s)),
        { seed, numRuns },
      );
    },
    Math.max(60_000, numRuns * 2_000),
  );

  it("a good start-first update of 6 replicas with a health check completes with every task up", () => {
    const s: RollScenario = {
      replicas: 6,
      nodes: 3,
      update: { parallelism: 2, order: UpdateOrder.START_FIRST, monitorMs: 5_000 },
      rollback: {},
      healthCheck: true,
      bad: false,
      failChance: 0,
      startMs: 500,
      stopMs: 200,
      healthyAfterMs: 1_000,
      crashAfterMs: 1_000,
      leaderChangesMs: [3_000],
      seed: 1,
    };
    expect(() => runScenario(s)).not.toThrow();
  });
});
