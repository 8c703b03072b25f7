import { describe, expect, it } from "vitest";
import { ServiceSpec } from "./gen/shoal/v1/specs.js";
import { ServiceModeKind, TaskState } from "./gen/shoal/v1/types.js";
import { isForwardTaskTransition, isJobService, isTaskTerminal, serviceModeKind } from "./task-state.js";

describe("task state helpers", () => {
  it("treats everything after RUNNING as terminal", () => {
    expect(isTaskTerminal(TaskState.RUNNING)).toBe(false);
    expect(isTaskTerminal(TaskState.NEW)).toBe(false);
    for (const s of [
      TaskState.COMPLETE,
      TaskState.SHUTDOWN,
      TaskState.FAILED,
      TaskState.REJECTED,
      TaskState.REMOVE,
      TaskState.ORPHANED,
    ]) {
      expect(isTaskTerminal(s)).toBe(true);
    }
  });

  it("allows only forward moves", () => {
    expect(isForwardTaskTransition(TaskState.ASSIGNED, TaskState.RUNNING)).toBe(true);
    expect(isForwardTaskTransition(TaskState.RUNNING, TaskState.RUNNING)).toBe(true);
    expect(isForwardTaskTransition(TaskState.RUNNING, TaskState.STARTING)).toBe(false);
  });

  it("names the service mode", () => {
    expect(serviceModeKind(ServiceSpec.fromPartial({}))).toBe(ServiceModeKind.REPLICATED);
    expect(serviceModeKind(ServiceSpec.fromPartial({ mode: { $case: "global", value: {} } }))).toBe(
      ServiceModeKind.GLOBAL,
    );
    expect(isJobService(ServiceSpec.fromPartial({ mode: { $case: "globalJob", value: {} } }))).toBe(true);
    expect(isJobService(ServiceSpec.fromPartial({ mode: { $case: "replicatedJob", value: {} } }))).toBe(true);
    expect(isJobService(ServiceSpec.fromPartial({ mode: { $case: "replicated", value: {} } }))).toBe(false);
  });
});
