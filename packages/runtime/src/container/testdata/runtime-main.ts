// A runtime in a process of its own, for the crash-window tests: opens a runtime (with the
// busybox dir image, or the image store at `imagesRoot`), runs the steps it is given, prints one
// JSON line per step done, and idles. With `crashAt` it SIGKILLs itself at that step, which the
// test sees as the child's exit signal.
import { silentLogger } from "@shoal/base";
import { LocalImageStore } from "../../image/image-store.js";
import type { CrashPoint } from "../crash-points.js";
import { ContainerRuntime } from "../runtime.js";
import { DirImageSource } from "../test-support.js";
import type { ContainerSpec } from "../types.js";

export type Step =
  | { op: "create"; id: string; spec: ContainerSpec }
  | { op: "start"; id: string }
  | { op: "remove"; id: string };

export interface RuntimeMainArgs {
  root: string;
  runcRoot: string;
  cgroupParent: string;
  rootfs: string;
  imagesRoot?: string;
  crashAt?: CrashPoint;
  steps: Step[];
}

const args = JSON.parse(process.argv[2] ?? "{}") as RuntimeMainArgs;
let images: DirImageSource | LocalImageStore = new DirImageSource(args.rootfs);
if (args.imagesRoot !== undefined) {
  const store = new LocalImageStore({ root: args.imagesRoot });
  await store.open();
  images = store;
}
const rt = await ContainerRuntime.open({
  root: args.root,
  runcRoot: args.runcRoot,
  cgroupParent: args.cgroupParent,
  nodeId: "node-1",
  images,
  logger: silentLogger(),
  ...(args.crashAt !== undefined ? { crashAt: args.crashAt } : {}),
});
process.stdout.write(`${JSON.stringify({ opened: true })}\n`);
for (const step of args.steps) {
  if (step.op === "create") await rt.create({ id: step.id, spec: step.spec, owner: { taskId: "t", serviceId: "s" } });
  else if (step.op === "start") await rt.start(step.id);
  else await rt.remove(step.id);
  process.stdout.write(`${JSON.stringify({ done: step.op, id: step.id })}\n`);
}
setInterval(() => undefined, 1000);
