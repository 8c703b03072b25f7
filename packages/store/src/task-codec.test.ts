import { Task, TaskState } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { SpecInterner } from "./spec-interner.js";
import { decodeTask } from "./task-codec.js";

// The hand-written task decoder must give exactly what the generated Task.decode gives.
const full = Task.fromPartial({
  id: "t1",
  meta: { version: 7, createdAtMs: 1, updatedAtMs: 2 },
  spec: { container: { image: "img", env: ["A=1"] }, networks: [{ target: "n1" }] },
  specVersion: 3,
  serviceId: "s1",
  slot: 4,
  nodeId: "node1",
  name: "web.4",
  serviceLabels: { b: "2", a: "1" },
  status: { timestampMs: 5, state: TaskState.RUNNING, message: "up" },
  desiredState: TaskState.RUNNING,
  networks: [{ networkId: "n1", addresses: ["10.0.0.2/24"], aliases: ["x"] }],
  endpoint: {},
  assignedGenericResources: [{ kind: "gpu", value: { $case: "named", value: "0" } }],
  jobIteration: 2,
  address: "10.42.0.3/24",
  restartAtMs: 2 ** 40,
  restartHistoryMs: [1, 2 ** 45],
  registryAuth: { username: "u", password: "p" },
  upAtMs: 2 ** 41,
});

describe("decodeTask", () => {
  it("equals Task.decode on every field, and on a task with none set", () => {
    for (const t of [full, Task.fromPartial({ id: "t2" })]) {
      const bytes = Task.encode(t).finish();
      expect(decodeTask(bytes, new SpecInterner())).toEqual(Task.decode(bytes));
    }
  });

  it("shares frozen specs and service labels between tasks of one service", () => {
    const specs = new SpecInterner();
    const bytes = Task.encode(full).finish();
    const [a, b] = [decodeTask(bytes, specs), decodeTask(bytes, specs)];
    expect(a.spec).toBe(b.spec);
    expect(a.serviceLabels).toBe(b.serviceLabels);
    expect(Object.isFrozen(a.serviceLabels)).toBe(true);
    expect(Object.keys(a.serviceLabels)).toEqual(["b", "a"]);
  });

  it("reads unpacked repeated integers and skips unknown fields", () => {
    const w = Task.encode(Task.fromPartial({ id: "t3" }));
    w.uint32((18 << 3) | 0).int64(9); // restart_history_ms, unpacked
    w.uint32((99 << 3) | 2).bytes(new Uint8Array([1, 2])); // unknown
    expect(decodeTask(w.finish(), new SpecInterner()).restartHistoryMs).toEqual([9]);
  });
});
