// How fast the generated codecs and the validator are on realistic objects: raft entries carry
// tasks, snapshots carry the whole store, and every create/update validates a spec.
import { reportFigure } from "@shoal/base";
import {
  ServiceSpec,
  StoreSnapshot,
  Task,
  TaskState,
  validateServiceSpec,
  withServiceDefaults,
} from "../src/index.js";

function sampleSpec(): ServiceSpec {
  return ServiceSpec.fromPartial({
    name: "web",
    labels: { "com.example.stack": "shop", tier: "front" },
    mode: { $case: "replicated", value: { replicas: 10 } },
    taskTemplate: {
      container: {
        image: "registry.local:5000/shop/web:1.4.2",
        env: ["PORT=8080", "LOG_LEVEL=info", "DB_HOST=db"],
        mounts: [{ type: 3, target: "/tmp" }],
        secrets: [{ secretName: "db_pass", file: { name: "db_pass", mode: 0o400 } }],
        healthcheck: { test: ["CMD", "wget", "-q", "-O-", "http://localhost:8080/health"], intervalMs: 5000 },
      },
      resources: {
        limits: { nanoCpus: 1e9, memoryBytes: 512 * 2 ** 20 },
        reservations: { nanoCpus: 25e7, memoryBytes: 128 * 2 ** 20 },
      },
      placement: { constraints: ["node.role==worker", "node.labels.zone!=edge"] },
      networks: [{ target: "shop_default", aliases: ["web"] }],
    },
    endpointSpec: { ports: [{ targetPort: 8080, publishedPort: 80 }] },
  });
}

function sampleTask(i: number): Task {
  return Task.fromPartial({
    id: `task${String(i).padStart(21, "0")}`,
    meta: { version: 100_000 + i, createdAtMs: 1_700_000_000_000, updatedAtMs: 1_700_000_000_500 },
    spec: withServiceDefaults(sampleSpec()).taskTemplate,
    specVersion: 99_000,
    serviceId: "service000000000000000001",
    slot: (i % 10) + 1,
    nodeId: `node${i % 50}`,
    name: `web.${(i % 10) + 1}.task${i}`,
    status: {
      state: TaskState.RUNNING,
      timestampMs: 1_700_000_001_000,
      message: "started",
      containerStatus: { containerId: "c".repeat(64), pid: 4242 },
    },
    desiredState: TaskState.RUNNING,
    networks: [{ networkId: "net1", addresses: ["10.0.1.7/24"] }],
  });
}

function opsPerSecond(iterations: number, body: (i: number) => void): number {
  const start = performance.now();
  for (let i = 0; i < iterations; i++) body(i);
  return iterations / ((performance.now() - start) / 1000);
}

export async function run(): Promise<void> {
  const task = sampleTask(1);
  const bytes = Task.encode(task).finish();
  reportFigure("proto.task.encoded_size", bytes.length, "bytes");
  opsPerSecond(2_000, () => Task.encode(task).finish()); // warm up
  reportFigure(
    "proto.task.encode",
    Math.round(opsPerSecond(20_000, () => Task.encode(task).finish())),
    "ops/s",
  );
  reportFigure("proto.task.decode", Math.round(opsPerSecond(20_000, () => Task.decode(bytes))), "ops/s");

  const snapshot = StoreSnapshot.fromPartial({
    tasks: Array.from({ length: 10_000 }, (_, i) => sampleTask(i)),
  });
  let start = performance.now();
  const snapshotBytes = StoreSnapshot.encode(snapshot).finish();
  reportFigure("proto.snapshot_10k_tasks.encode", Number((performance.now() - start).toFixed(1)), "ms");
  reportFigure("proto.snapshot_10k_tasks.size", Number((snapshotBytes.length / 2 ** 20).toFixed(2)), "MiB");
  start = performance.now();
  StoreSnapshot.decode(snapshotBytes);
  reportFigure("proto.snapshot_10k_tasks.decode", Number((performance.now() - start).toFixed(1)), "ms");

  const spec = sampleSpec();
  reportFigure(
    "proto.validate_service_spec",
    Math.round(opsPerSecond(20_000, () => validateServiceSpec(spec))),
    "ops/s",
  );
}
