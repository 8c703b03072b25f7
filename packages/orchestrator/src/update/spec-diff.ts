import { type Task, TaskSpec } from "@shoal/proto";

// Specs are compared by their encoding: equal fields give equal bytes (the store keeps one
// object per distinct spec, so the identity check answers most calls and the cache the rest).
const encodings = new WeakMap<TaskSpec, string>();

function encodingOf(spec: TaskSpec | undefined): string {
  if (spec === undefined) return "";
  let out = encodings.get(spec);
  if (out === undefined) {
    out = Buffer.from(TaskSpec.encode(spec).finish()).toString("latin1");
    encodings.set(spec, out);
  }
  return out;
}

/** The task was made from another spec than `template` (Swarm's IsTaskDirty): an update replaces it. */
export function isTaskDirty(task: Task, template: TaskSpec | undefined): boolean {
  return task.spec !== template && encodingOf(task.spec) !== encodingOf(template);
}
