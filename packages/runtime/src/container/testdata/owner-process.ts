// The "owning process" of the re-adoption test: creates N counting containers, reports their ids
// on stdout as one JSON line, then idles until it is SIGKILLed.
import { silentLogger } from "@shoal/base";
import { ContainerRuntime } from "../runtime.js";
import { DirImageSource } from "../test-support.js";

interface Args {
  root: string;
  runcRoot: string;
  cgroupParent: string;
  rootfs: string;
  ctlDir: string;
  count: number;
}

const args = JSON.parse(process.argv[2] ?? "{}") as Args;
const rt = await ContainerRuntime.open({
  root: args.root,
  runcRoot: args.runcRoot,
  cgroupParent: args.cgroupParent,
  nodeId: "node-1",
  images: new DirImageSource(args.rootfs),
  logger: silentLogger(),
});
const ids: string[] = [];
for (let i = 0; i < args.count; i++) {
  // Once the test drops /ctl/stop-<i>, container 0 exits with 40 and container 1 allocates past
  // its memory limit (OOM kill); the rest count forever.
  const onStop = i === 1 ? "head -c 300000000 /dev/zero | tail; exit $?" : `exit ${40 + i}`;
  const script = `n=0; while true; do echo $n; n=$((n+1)); if [ -f /ctl/stop-${i} ]; then ${onStop}; fi; sleep 0.05; done`;
  const c = await rt.create({
    spec: {
      image: "busybox",
      command: ["/bin/sh", "-c", script],
      mounts: [{ kind: "bind", source: args.ctlDir, target: "/ctl", readOnly: true }],
      resources: { limits: { memoryBytes: 16 * 1024 * 1024 } },
    },
    owner: { taskId: `task${i}`, serviceId: "svc" },
  });
  await rt.start(c.id);
  ids.push(c.id);
}
process.stdout.write(`${JSON.stringify(ids)}\n`);
setInterval(() => undefined, 1000);
