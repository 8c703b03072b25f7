import { newId } from "@shoal/base";
import { Service, Task, TaskState } from "@shoal/proto";

// Objects shaped like a real cluster's: tasks carry a full copy of their service's template.

export function realisticService(i: number): Service {
  return Service.fromPartial({
    id: `svc${String(i).padStart(22, "0")}`,
    spec: {
      name: `service-${i}`,
      labels: { "com.example.team": `team-${i % 7}`, "com.example.tier": i % 2 === 0 ? "web" : "worker" },
      mode: { $case: "replicated", value: { replicas: 1000 } },
      taskTemplate: {
        container: {
          image: `registry.example.com/team-${i % 7}/app-${i}:1.${i}.0@sha256:${"ab".repeat(32)}`,
          command: ["/usr/local/bin/app"],
          args: ["--listen", ":8080", "--log-level", "info", "--metrics", ":9090"],
          env: Array.from({ length: 12 }, (_, k) => `APP_SETTING_${k}=value-${k}-${i}`),
          labels: { "com.example.version": `1.${i}.0` },
          dir: "/srv/app",
          user: "1000:1000",
          mounts: [
            { type: 1, source: "/var/lib/app", target: "/data", readOnly: false },
            { type: 3, target: "/tmp", tmpfsOptions: { sizeBytes: 64 * 1024 * 1024, mode: 0o1777 } },
          ],
          stopGracePeriodMs: 10_000,
        },
        resources: {
          limits: { nanoCpus: 1_000_000_000, memoryBytes: 512 * 1024 * 1024 },
          reservations: { nanoCpus: 250_000_000, memoryBytes: 128 * 1024 * 1024 },
        },
        restartPolicy: { condition: 1, delayMs: 5000, maxAttempts: 3 },
        placement: { constraints: ["node.role==worker", `node.labels.zone!=z${i % 3}`], preferences: [] },
        networks: [{ target: "ingress-net", aliases: [`app-${i}`] }],
      },
    },
  });
}

export function realisticTask(service: Service, slot: number, nodeId: string): Task {
  return Task.fromPartial({
    id: newId(),
    spec: service.spec!.taskTemplate!,
    specVersion: 3,
    serviceId: service.id,
    slot,
    nodeId,
    name: `${service.spec!.name}.${slot}`,
    serviceLabels: service.spec!.labels,
    desiredState: TaskState.RUNNING,
    status: {
      timestampMs: 1_764_000_000_000,
      state: TaskState.RUNNING,
      message: "started",
      containerStatus: { containerId: "c".repeat(64), pid: 4242, exitCode: 0, health: "" },
    },
    networks: [
      { networkId: "ingress-net", addresses: [`10.0.${slot % 256}.${(slot >> 8) % 256}/24`], aliases: [] },
    ],
  });
}
