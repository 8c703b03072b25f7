// The control API over real gRPC and mutual TLS on loopback, on an in-memory store: what the
// CLI sees for each call — results, validation with field paths, version conflicts, in-use
// refusals naming the services, redaction of secrets and the CA key, and roles.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { ShoalError, silentLogger } from "@shoal/base";
import {
  createClientCredentials,
  KeyEncryptionKey,
  kekPath,
  NodeCertificateProvider,
  type RootCa,
  tlsChannelOptions,
} from "@shoal/pki";
import {
  ControlClient,
  ListServicesRequest,
  ListTasksRequest_Filters,
  NetworkSpec,
  NodeRole,
  ObjectKind,
  ServiceSpec,
  Task,
  TaskSpec,
  TaskState,
  type WatchMessage,
  WatchRequest,
} from "@shoal/proto";
import { Store, StoreErrorCode } from "@shoal/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOOPBACK, nodeMaterial, type Outcome, unary } from "../../test/tls.js";
import { initCluster } from "../cluster-init.js";
import { ClusterServer } from "../cluster-server.js";
import { ManagerErrorCode } from "../errors.js";
import { SHOAL_DETAILS_TRAILER } from "../grpc-status.js";
import { ControlApi } from "./control-api.js";

const logger = silentLogger();
let dir: string;
let store: Store;
let server: ClusterServer;
let control: ControlClient;
let worker: ControlClient;
let clusterId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shoal-control-"));
  const kek = await KeyEncryptionKey.openOrCreate(kekPath(dir));
  const { cluster, root } = await initCluster({ nowMs: Date.now(), kek });
  clusterId = cluster.id;
  store = new Store({ logger });
  await store.update((tx) => tx.clusters.create(cluster));
  const managerTls = await nodeMaterial(root as RootCa, "m1", "manager");
  server = await ClusterServer.open({
    listenAddress: `${LOOPBACK}:0`,
    certificates: new NodeCertificateProvider(managerTls),
    clusterId,
    services: { control: new ControlApi({ store, logger }).service() },
    logger,
  });
  const address = `${LOOPBACK}:${server.port}`;
  control = new ControlClient(
    address,
    createClientCredentials(managerTls, { clusterId }),
    tlsChannelOptions(),
  );
  const workerTls = await nodeMaterial(root as RootCa, "w1", "worker");
  worker = new ControlClient(address, createClientCredentials(workerTls, { clusterId }), tlsChannelOptions());
});

afterAll(async () => {
  control?.close();
  worker?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

type Call = (
  req: unknown,
  md: grpc.Metadata,
  cb: (err: grpc.ServiceError | null, v: unknown) => void,
) => void;
function call(
  client: ControlClient,
  method: string,
  request: unknown,
): Promise<Outcome & { details?: string; extra?: unknown }> {
  const fn = (client as unknown as Record<string, Call>)[method]?.bind(client);
  if (fn === undefined) throw new Error(`no method ${method}`);
  return new Promise((resolve) =>
    fn(request, new grpc.Metadata(), (err, value) => {
      if (err === null) return resolve({ ok: true, value });
      const raw = err.metadata.get(SHOAL_DETAILS_TRAILER)[0];
      unary((cb) => cb(err, null)).then((o) =>
        resolve({ ...o, extra: raw === undefined ? undefined : JSON.parse(raw.toString()) }),
      );
    }),
  );
}
const ok = async <T>(method: string, request: unknown): Promise<T> => {
  const o = await call(control, method, request);
  if (!o.ok) throw new Error(`${method} failed: ${JSON.stringify(o)}`);
  return o.value as T;
};

const webSpec = (extra: Partial<ServiceSpec> = {}): ServiceSpec =>
  ServiceSpec.fromPartial({
    name: "web",
    mode: { $case: "replicated", value: { replicas: 2 } },
    taskTemplate: { container: { image: "nginx:1.27" } },
    ...extra,
  });

describe("the control API", () => {
  it("creates, reads, updates with the version read and rolls back a service", async () => {
    const { secret } = await ok<{ secret: { id: string; spec: { data: Uint8Array } } }>("createSecret", {
      spec: { name: "db-password", data: Buffer.from("hunter2"), labels: {} },
    });
    expect(Buffer.from(secret.spec.data).length).toBe(0); // data never leaves the manager
    const spec = webSpec({
      taskTemplate: TaskSpec.fromPartial({
        container: {
          image: "nginx:1.27",
          secrets: [
            {
              secretId: secret.id,
              secretName: "db-password",
              file: { name: "db-password", uid: "0", gid: "0", mode: 0o444 },
            },
          ],
        },
      }),
    });
    const { service } = await ok<{ service: { id: string; meta: { version: number } } }>("createService", {
      spec,
    });
    const got = await ok<{ service: { spec: { name: string } } }>("getService", { serviceId: "web" });
    expect(got.service.spec.name).toBe("web");

    const v1 = service.meta.version;
    const updated = await ok<{ service: { meta: { version: number }; previousSpec: { mode: unknown } } }>(
      "updateService",
      {
        serviceId: service.id,
        serviceVersion: v1,
        spec: { ...spec, mode: { $case: "replicated", value: { replicas: 5 } } },
      },
    );
    expect(updated.service.previousSpec.mode).toEqual({ $case: "replicated", value: { replicas: 2 } });
    // The version read before is stale now.
    expect(
      await call(control, "updateService", { serviceId: service.id, serviceVersion: v1, spec }),
    ).toMatchObject({
      ok: false,
      status: "ABORTED",
      shoalCode: "STORE_VERSION_CONFLICT",
    });
    const rolled = await ok<{ service: { spec: { mode: unknown } } }>("updateService", {
      serviceId: service.id,
      serviceVersion: updated.service.meta.version,
      rollback: true,
    });
    expect(rolled.service.spec.mode).toEqual({ $case: "replicated", value: { replicas: 2 } });

    // The secret is in use: removing it is refused, naming the service.
    expect(await call(control, "removeSecret", { secretId: "db-password" })).toMatchObject({
      ok: false,
      status: "FAILED_PRECONDITION",
      shoalCode: ManagerErrorCode.InUse,
      details: 'secret "db-password" is in use by service "web"',
    });
  });

  it("refuses an invalid spec with PROTO_INVALID_SPEC and every issue's field path", async () => {
    const outcome = await call(control, "createService", {
      spec: webSpec({
        name: "bad name!",
        taskTemplate: { container: { image: "" } } as ServiceSpec["taskTemplate"],
      }),
    });
    expect(outcome).toMatchObject({ ok: false, status: "INVALID_ARGUMENT", shoalCode: "PROTO_INVALID_SPEC" });
    const paths = ((outcome.extra as { issues: { path: string }[] }).issues ?? []).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["name", "task_template.container.image"]));
    expect(
      await ok<{ services: unknown[] }>(
        "listServices",
        ListServicesRequest.fromPartial({ filters: { names: ["bad name!"] } }),
      ),
    ).toEqual({
      services: [],
    });
  });

  it("allocates a network's subnet and VNI at create and refuses bad specs, changing nothing", async () => {
    const created = await ok<{
      network: { id: string; ipam: { configs: { subnet: string; gateway: string }[] } };
    }>("createNetwork", { spec: { name: "app_front", labels: {} } });
    expect(created.network.ipam.configs[0]).toMatchObject({ subnet: "10.0.0.0/24", gateway: "10.0.0.1" });
    const refusals = await Promise.all(
      [
        { name: "app_front" },
        { name: "b", ipam: { configs: [{ subnet: "10.0.0.0/25" }] } },
        { name: "c", ipam: { configs: [{ subnet: "192.168.0.0/24" }] } },
      ].map((spec) => call(control, "createNetwork", { spec: NetworkSpec.fromPartial(spec) })),
    );
    expect(refusals.map((o) => (o.ok ? [true] : [false, o.shoalCode, o.details]))).toEqual([
      [
        false,
        "ORCH_NETWORK_NAME_IN_USE",
        `network name "app_front" is in use by network ${created.network.id}`,
      ],
      [
        false,
        "ORCH_NETWORK_SUBNET_OVERLAP",
        'network "b": subnet 10.0.0.0/25 overlaps subnet 10.0.0.0/24 of network "app_front"',
      ],
      [
        false,
        "ORCH_NETWORK_SUBNET_OUTSIDE_POOL",
        'network "c": subnet 192.168.0.0/24 is outside the cluster\'s address pool 10.0.0.0/8',
      ],
    ]);
    const listed = await ok<{ networks: { spec: { name: string } }[] }>("listNetworks", {});
    expect(listed.networks.map((n) => n.spec.name)).toEqual(["app_front"]);
    // A service naming the network by name holds it: refused, naming the network and the service.
    const { service } = await ok<{ service: { id: string } }>("createService", {
      spec: webSpec({
        name: "front-web",
        taskTemplate: TaskSpec.fromPartial({
          container: { image: "nginx:1.27" },
          networks: [{ target: "app_front" }],
        }),
      }),
    });
    expect(await call(control, "removeNetwork", { networkId: "app_front" })).toMatchObject({
      ok: false,
      status: "FAILED_PRECONDITION",
      shoalCode: ManagerErrorCode.InUse,
      details: 'network "app_front" is in use by service "front-web"',
    });
    await ok("removeService", { serviceId: service.id });
    await ok("removeNetwork", { networkId: created.network.id });
  });

  it("reports running/desired per service and shuts tasks down when the service goes", async () => {
    const { service } = await ok<{ service: { id: string } }>("createService", {
      spec: webSpec({ name: "api" }),
    });
    await store.update((tx) => {
      for (const slot of [1, 2]) {
        tx.tasks.create(
          Task.fromPartial({
            id: `api-${slot}`,
            serviceId: service.id,
            slot,
            desiredState: TaskState.RUNNING,
            status: { state: slot === 1 ? TaskState.RUNNING : TaskState.PREPARING },
            registryAuth: { username: "u", password: "hunter2" },
          }),
        );
      }
    });
    // Registry credentials go to the task's node only, never out through the control API.
    const { task } = await ok<{ task: Task }>("getTask", { taskId: "api-1" });
    expect(task.registryAuth).toBeUndefined();
    const { tasks } = await ok<{ tasks: Task[] }>("listTasks", {});
    expect(tasks.map((t) => t.registryAuth)).toEqual([undefined, undefined]);
    // Filtered through the service index, still in id order and with the other filters applied.
    const byService = await ok<{ tasks: Task[] }>("listTasks", {
      filters: ListTasksRequest_Filters.fromPartial({ serviceIds: [service.id, service.id], slots: [2] }),
    });
    expect(byService.tasks.map((t) => t.id)).toEqual(["api-2"]);
    const none = await ok<{ tasks: Task[] }>("listTasks", {
      filters: ListTasksRequest_Filters.fromPartial({ nodeIds: ["no-such-node"] }),
    });
    expect(none.tasks).toEqual([]);
    expect(await ok("listServiceStatuses", { serviceIds: ["api"] })).toEqual({
      statuses: [{ serviceId: service.id, desiredTasks: 2, runningTasks: 1, completedTasks: 0 }],
    });
    // No ids: every service, as ListServices without filters.
    const all = await ok<{ statuses: { serviceId: string }[] }>("listServiceStatuses", { serviceIds: [] });
    const { services } = await ok<{ services: { id: string }[] }>("listServices", {});
    expect(all.statuses.map((x) => x.serviceId).sort()).toEqual(services.map((x) => x.id).sort());
    expect(all.statuses).toContainEqual({
      serviceId: service.id,
      desiredTasks: 2,
      runningTasks: 1,
      completedTasks: 0,
    });
    await ok("removeService", { serviceId: service.id });
    expect(store.view((tx) => tx.tasks.find("serviceId", service.id).map((t) => t.desiredState))).toEqual([
      TaskState.REMOVE,
      TaskState.REMOVE,
    ]);
    expect(await call(control, "getService", { serviceId: service.id })).toMatchObject({
      ok: false,
      status: "NOT_FOUND",
    });
  });

  it("removes a service whose tasks change under it: a transaction that lost the race is built again", async () => {
    const { service } = await ok<{ service: { id: string } }>("createService", {
      spec: webSpec({ name: "racy" }),
    });
    await store.update((tx) => {
      for (const slot of [1, 2]) {
        tx.tasks.create(
          Task.fromPartial({
            id: `racy-${slot}`,
            serviceId: service.id,
            slot,
            desiredState: TaskState.RUNNING,
          }),
        );
      }
    });
    // As when the reaper deletes a task between the proposal and its apply: the first batch fails.
    const batch = store.batch.bind(store);
    let raced = 0;
    store.batch = async (fn, options) => {
      if (raced++ === 0) {
        await store.update((tx) => tx.tasks.delete("racy-1"));
        throw new ShoalError(StoreErrorCode.NotFound, 'task "racy-1" not found');
      }
      return batch(fn, options);
    };
    try {
      await ok("removeService", { serviceId: service.id });
    } finally {
      store.batch = batch;
    }
    expect(raced).toBe(2);
    expect(store.view((tx) => tx.tasks.find("serviceId", service.id).map((t) => t.desiredState))).toEqual([
      TaskState.REMOVE,
    ]);
    expect(store.view((tx) => tx.services.get(service.id))).toBeUndefined();
  });

  it("rotates a join token, never returns the CA key, and keeps workers out", async () => {
    const before = await ok<{ joinTokens: { worker: string; manager: string } }>("getJoinTokens", {});
    const after = await ok<{ joinTokens: { worker: string; manager: string } }>("rotateJoinToken", {
      role: NodeRole.WORKER,
    });
    expect(after.joinTokens.worker).not.toBe(before.joinTokens.worker);
    expect(after.joinTokens.manager).toBe(before.joinTokens.manager);
    const { cluster } = await ok<{ cluster: { rootCa: { caKey: Uint8Array; caCert: Uint8Array } } }>(
      "getCluster",
      {},
    );
    expect(Buffer.from(cluster.rootCa.caKey).length).toBe(0);
    expect(Buffer.from(cluster.rootCa.caCert).toString()).toContain("BEGIN CERTIFICATE");
    expect(await call(worker, "listServices", {})).toMatchObject({ ok: false, status: "PERMISSION_DENIED" });
  });

  it("streams watch events of the selected kind, each commit closed by a commit marker", async () => {
    const stream = control.watch(WatchRequest.fromPartial({ selectors: [{ kind: ObjectKind.CONFIG }] }));
    const messages: WatchMessage[] = [];
    const got = new Promise<void>((resolve) =>
      stream.on("data", (m: WatchMessage) => {
        messages.push(m);
        if (m.message?.$case === "commit") resolve();
      }),
    );
    stream.on("error", () => {});
    await new Promise((r) => setTimeout(r, 100)); // the watch is registered once the call arrived
    await ok("createSecret", { spec: { name: "unrelated", data: Buffer.from("x"), labels: {} } });
    await ok("createConfig", { spec: { name: "nginx.conf", data: Buffer.from("server {}"), labels: {} } });
    await got;
    stream.cancel();
    expect(messages.map((m) => m.message?.$case)).toEqual(["event", "commit"]);
    const event = messages[0]?.message;
    expect(event?.$case === "event" && event.value.kind).toBe(ObjectKind.CONFIG);
  });
});
