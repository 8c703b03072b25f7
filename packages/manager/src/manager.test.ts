// A real one-member manager in a temp data dir: init, the control API over its own mTLS port,
// and a restart from the WAL that keeps every acknowledged write and the cluster's identity.
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { silentLogger } from "@shoal/base";
import { createClientCredentials, tlsChannelOptions } from "@shoal/pki";
import {
  ControlClient,
  type CreateServiceResponse,
  type GetClusterResponse,
  type ListServicesResponse,
  ServiceSpec,
} from "@shoal/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOOPBACK } from "../test/tls.js";
import { Manager, type ManagerOptions } from "./manager.js";
import { readTls } from "./node-files.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "shoal-manager-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options = (): ManagerOptions => ({
  dataDir: dir,
  listenAddress: `${LOOPBACK}:0`,
  advertiseAddress: `${LOOPBACK}:4270`,
  logger: silentLogger(),
  raft: { tickMs: 20 },
});

async function running(manager: Manager) {
  const stop = new AbortController();
  const run = manager.run(stop.signal);
  const deadline = Date.now() + 10_000;
  while (manager.store.view((tx) => tx.clusters.count()) === 0) {
    if (Date.now() > deadline) throw new Error("the cluster object was never written");
    await new Promise((r) => setTimeout(r, 20));
  }
  return async () => {
    stop.abort();
    await run;
    await manager.close();
  };
}

function unary<T>(fn: (cb: (err: grpc.ServiceError | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

describe("Manager", () => {
  it("initializes a cluster, serves the control API over mTLS, and keeps writes across a restart", async () => {
    const manager = await Manager.init(options(), { clusterName: "test" });
    const { clusterId, nodeId } = manager.identity;
    let stop = await running(manager);
    const tls = await readTls(dir);
    expect((await stat(join(dir, "certs", "node.key"))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, "raft", "wal", "wal.meta")).catch(() => undefined)).toBeDefined();
    const client = () =>
      new ControlClient(
        `${LOOPBACK}:${manager.port}`,
        createClientCredentials(tls, { clusterId }),
        tlsChannelOptions(),
      );
    let c = client();
    const created = await unary<CreateServiceResponse>((cb) =>
      c.createService(
        { spec: ServiceSpec.fromPartial({ name: "web", taskTemplate: { container: { image: "nginx" } } }) },
        cb,
      ),
    );
    const cluster = await unary<GetClusterResponse>((cb) => c.getCluster({ clusterId: "" }, cb));
    expect(cluster.cluster?.spec?.name).toBe("test");
    expect(Buffer.from(cluster.cluster?.rootCa?.caKey ?? []).length).toBe(0);
    c.close();
    await stop();

    // The same data dir again: same identity, the service is still there.
    const again = await Manager.open({ ...options() });
    expect(again.identity).toEqual({ clusterId, nodeId, raftId: manager.identity.raftId });
    stop = await running(again);
    c = new ControlClient(
      `${LOOPBACK}:${again.port}`,
      createClientCredentials(tls, { clusterId }),
      tlsChannelOptions(),
    );
    const list = await unary<ListServicesResponse>((cb) => c.listServices({}, cb));
    expect(list.services.map((s) => s.id)).toEqual([created.service?.id]);
    c.close();
    await stop();
    await expect(Manager.init(options())).rejects.toThrow(/already holds a manager/);
  });
});
