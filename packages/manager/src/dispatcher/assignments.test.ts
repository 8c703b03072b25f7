import { silentLogger } from "@shoal/base";
import { Secret, Service, Task, TaskState } from "@shoal/proto";
import { Store } from "@shoal/store";
import { describe, expect, it } from "vitest";
import { assignmentsOf, diffAssignments, type NodeAssignments, updateAssignments } from "./assignments.js";

const task = (id: string, nodeId: string, state: TaskState, secret = false) =>
  Task.fromPartial({
    id,
    serviceId: "svc1",
    nodeId,
    desiredState: TaskState.RUNNING,
    status: { state },
    spec: { container: { image: "nginx", secrets: secret ? [{ secretId: "sec1", secretName: "pw" }] : [] } },
  });

const ids = (a: NodeAssignments) => ({
  tasks: [...a.tasks.keys()].sort(),
  versions: [...a.tasks.values()].map((t) => `${t.id}@${t.meta?.version}`).sort(),
  secrets: [...a.secrets.values()].map((s) => `${s.id}@${s.meta?.version}`),
});

const changeIds = (changes: ReturnType<typeof diffAssignments>) =>
  changes
    .map((c) => {
      const value = c.assignment?.item?.value as { id?: string } | undefined;
      return `${c.action}:${c.assignment?.item?.$case}:${value?.id ?? ""}`;
    })
    .sort();

describe("updateAssignments", () => {
  it("reads only the changed tasks and gives the set and the changes a full read and diff give", async () => {
    const store = new Store({ logger: silentLogger() });
    await store.update((tx) => {
      tx.secrets.create(Secret.fromPartial({ id: "sec1", spec: { name: "pw", data: new Uint8Array([1]) } }));
      tx.services.create(Service.fromPartial({ id: "svc1", spec: { name: "web" } }));
      tx.tasks.create(task("t1", "n1", TaskState.ASSIGNED));
      tx.tasks.create(task("t2", "n1", TaskState.RUNNING));
      tx.tasks.create(task("t3", "n1", TaskState.ASSIGNED));
      tx.tasks.create(task("t4", "", TaskState.PENDING, true));
    });
    const held = store.view((tx) => assignmentsOf(tx, "n1"));
    await store.update((tx) => {
      const t1 = tx.tasks.get("t1")!;
      tx.tasks.update({ ...t1, status: { ...t1.status!, state: TaskState.RUNNING } }); // progressed
      tx.tasks.delete("t2"); // reaped
      const t3 = tx.tasks.get("t3")!;
      tx.tasks.update({ ...t3, nodeId: "n2" }); // elsewhere now
      const t4 = tx.tasks.get("t4")!;
      tx.tasks.update({ ...t4, nodeId: "n1", status: { ...t4.status!, state: TaskState.ASSIGNED } }); // here, with a secret
    });
    const before: NodeAssignments = { ...held, tasks: new Map(held.tasks) };
    const full = store.view((tx) => assignmentsOf(tx, "n1"));
    const { next, changes } = store.view((tx) => updateAssignments(tx, "n1", held, ["t1", "t2", "t3", "t4"]));
    expect(ids(next)).toEqual(ids(full));
    expect(changeIds(changes)).toEqual(changeIds(diffAssignments(before, full)));
    // t1 and t4 updated, t2 and t3 removed, the secret t4 needs added.
    expect(changeIds(changes)).toEqual(["0:secret:sec1", "0:task:t1", "0:task:t4", "1:task:t2", "1:task:t3"]);
    expect(ids(next).tasks).toEqual(["t1", "t4"]);
    expect(ids(next).secrets).toHaveLength(1);
    // A secret's change alone (no task changed): its new version is read.
    await store.update((tx) => {
      const s = tx.secrets.get("sec1")!;
      tx.secrets.update({ ...s, spec: { ...s.spec!, labels: { v: "2" } } });
    });
    const { next: again, changes: secretOnly } = store.view((tx) => updateAssignments(tx, "n1", next, []));
    expect(ids(again)).toEqual(ids(store.view((tx) => assignmentsOf(tx, "n1"))));
    expect(changeIds(secretOnly)).toEqual(["0:secret:sec1"]);
  });
});
