// Three managers as separate processes (the built manager-main), each in its own testkit host,
// speaking real gRPC with mutual TLS on the hosts' bridge: init; a wrong and a rotated token
// refused with a clear message; two managers joined with the token and promoted to voters; a
// worker certificate refused by Control; a client writing services while the leader is
// kill -9'd loses no acknowledged write and gets the API back through the other managers; a
// demoted manager out of the managers; a removed manager refused when it comes back.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import {
  createBootstrapCredentials,
  createClientCredentials,
  rotateJoinToken,
  tlsChannelOptions,
} from "@shoal/pki";
import {
  ControlClient,
  type JoinTokens,
  type Node,
  NodeRole,
  RaftClient,
  Reachability,
  type Service,
  ServiceSpec,
} from "@shoal/proto";
import { createHosts, type TempDir, type TestHost, type TestHosts, tempDir, waitFor } from "@shoal/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  controlClient,
  issueCertificate,
  killManager,
  type ManagerProcess,
  managerTls,
  runManager,
  type StartFailure,
  startManager,
  stopManager,
  unary,
  unaryError,
} from "./support/managers.js";

const serviceSpec = (name: string) =>
  ServiceSpec.fromPartial({
    name,
    mode: { $case: "replicated", value: { replicas: 0 } },
    taskTemplate: { container: { image: "busybox:latest" } },
  });

describe("three manager processes on test hosts", () => {
  let hosts: TestHosts;
  let dir: TempDir;
  let h: [TestHost, TestHost, TestHost];
  /** The running manager of each host (index 0..2), or undefined while it is down. */
  const managers: (ManagerProcess | undefined)[] = [undefined, undefined, undefined];
  const clients: grpc.Client[] = [];
  let clusterId: string;
  let tokens: JoinTokens;

  const dataDir = (name: string) => join(dir.path, name);
  const live = () => managers.filter((m): m is ManagerProcess => m !== undefined);
  /** A Control client on `m`'s port authenticated as manager `as` (m itself by default). */
  const control = async (m: ManagerProcess, as: ManagerProcess = m) => {
    const c = controlClient(m.address, await managerTls(as.dataDir), clusterId);
    clients.push(c);
    return c;
  };
  const nodesSeenBy = async (m: ManagerProcess) =>
    (await unary<{ nodes: Node[] }>(await control(m), "listNodes", {})).nodes;

  beforeAll(async () => {
    dir = await tempDir("shoal-managers-e2e-");
    hosts = await createHosts(3, { stopGraceMs: 5_000 });
    h = hosts.all as [TestHost, TestHost, TestHost];
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const m of managers) if (m !== undefined) await killManager(m);
    await hosts?.destroy();
    await dir?.remove();
  }, 120_000);

  it("initializes a cluster, refuses a wrong token and joins two managers with the manager token", async () => {
    const m1 = await startManager(h[0], { dataDir: dataDir("m1"), init: true });
    managers[0] = m1;
    clusterId = m1.ready.clusterId;
    const c1 = await control(m1);
    // The cluster object is written once the one-member Raft leads.
    tokens = await waitFor(
      () => unary<{ joinTokens: JoinTokens }>(c1, "getJoinTokens", {}).then((r) => r.joinTokens),
      { description: "m1 to serve its join tokens", timeoutMs: 30_000 },
    );
    expect(tokens.manager).toMatch(/^SHTKN-1-/);

    // A token with this cluster's root but another secret: refused, nothing written.
    const wrong = (await runManager(h[1], {
      dataDir: dataDir("wrong"),
      join: { token: rotateJoinToken(tokens.manager), remote: m1.address },
    })) as StartFailure;
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error: MANAGER_JOIN_TOKEN_REFUSED: join token refused: /m);
    expect(await readdir(dataDir("wrong")).catch(() => [])).toEqual([]);
    // The worker token does not make a manager.
    const asWorker = (await runManager(h[1], {
      dataDir: dataDir("as-worker"),
      join: { token: tokens.worker, remote: m1.address },
    })) as StartFailure;
    expect(asWorker.stderr).toContain(
      "join token refused: it is the worker token, but the node asked to join as a manager",
    );

    managers[1] = await startManager(h[1], {
      dataDir: dataDir("m2"),
      join: { token: tokens.manager, remote: m1.address },
    });
    managers[2] = await startManager(h[2], {
      dataDir: dataDir("m3"),
      join: { token: tokens.manager, remote: m1.address },
    });
    for (const m of live()) expect(m.ready.clusterId).toBe(clusterId);
    // Learners until caught up, then voters: the leader reports all three reachable voters.
    await waitFor(
      async () => {
        const nodes = await nodesSeenBy(m1);
        return (
          nodes.length === 3 &&
          nodes.every(
            (n) => n.role === NodeRole.MANAGER && n.managerStatus?.reachability === Reachability.REACHABLE,
          )
        );
      },
      { description: "three reachable voting managers", timeoutMs: 60_000, intervalMs: 250 },
    );
  });

  it("refuses a rotated manager token after rotation, with a clear message", async () => {
    const [m1] = live() as [ManagerProcess];
    const { joinTokens } = await unary<{ joinTokens: JoinTokens }>(await control(m1), "rotateJoinToken", {
      role: NodeRole.MANAGER,
    });
    expect(joinTokens.manager).not.toBe(tokens.manager);
    expect(joinTokens.worker).toBe(tokens.worker);
    const old = (await runManager(h[1], {
      dataDir: dataDir("rotated"),
      join: { token: tokens.manager, remote: m1.address },
    })) as StartFailure;
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/MANAGER_JOIN_TOKEN_REFUSED: join token refused: /);
    expect(old.stderr).toMatch(/^hint: /m);
    tokens = joinTokens;
  });

  it("refuses Control to a worker certificate (PERMISSION_DENIED) and to a caller without one", async () => {
    const m2 = managers[1] as ManagerProcess;
    // A real worker certificate, issued by the cluster for the worker token.
    const workerTls = await issueCertificate(m2.address, tokens.worker, NodeRole.WORKER, clusterId);
    const asWorker = new ControlClient(
      m2.address,
      createClientCredentials(workerTls, { clusterId }),
      tlsChannelOptions(),
    );
    clients.push(asWorker);
    const denied = await unaryError(asWorker, "listServices", {});
    expect(denied?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(denied?.metadata.get("shoal-code")).toEqual(["MANAGER_PERMISSION_DENIED"]);
    const write = await unaryError(asWorker, "createService", { spec: serviceSpec("from-worker") });
    expect(write?.code).toBe(grpc.status.PERMISSION_DENIED);
    // No client certificate at all: not authenticated, before any handler runs.
    const anonymous = new ControlClient(m2.address, createBootstrapCredentials(), tlsChannelOptions());
    clients.push(anonymous);
    expect((await unaryError(anonymous, "listServices", {}))?.code).toBe(grpc.status.UNAUTHENTICATED);
    const { services } = await unary<{ services: Service[] }>(await control(m2), "listServices", {});
    expect(services.map((s) => s.spec?.name)).not.toContain("from-worker");
  });

  it("loses no acknowledged write when the leader is killed with SIGKILL, and answers through the others", async () => {
    const leaderNode = (await nodesSeenBy(managers[0] as ManagerProcess)).find(
      (n) => n.managerStatus?.leader,
    );
    const leaderIndex = managers.findIndex((m) => m?.ready.nodeId === leaderNode?.id);
    expect(leaderIndex).toBeGreaterThanOrEqual(0);
    const leader = managers[leaderIndex] as ManagerProcess;

    // One client per manager, all authenticated with a surviving manager's certificate; the
    // writer moves to the next manager whenever a call fails.
    const survivor = managers.find((m, i) => i !== leaderIndex && m !== undefined) as ManagerProcess;
    const byManager = await Promise.all(managers.map((m) => control(m as ManagerProcess, survivor)));
    const acked = new Map<string, string>(); // name → id
    let ambiguous = 0;
    let failures = 0;
    let killedAt = 0;
    let ackedAfterKill = 0;
    let stop = false;
    let target = 0;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const name = `w-${i}`;
        while (!stop) {
          if (killedAt > 0 && target === leaderIndex) target = (target + 1) % 3;
          try {
            const { service } = await unary<{ service: Service }>(
              byManager[target] as ControlClient,
              "createService",
              { spec: serviceSpec(name) },
              3_000,
            );
            acked.set(name, service.id);
            if (killedAt > 0) ackedAfterKill++;
            break;
          } catch (err) {
            failures++;
            // Applied but not acknowledged (the reply was lost): the retry finds the name taken.
            if ((err as grpc.ServiceError).code === grpc.status.ALREADY_EXISTS) {
              ambiguous++;
              break;
            }
            target = (target + 1) % 3;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      }
    })();
    await waitFor(() => acked.size >= 20, { description: "20 writes before the kill", timeoutMs: 60_000 });
    await killManager(leader);
    killedAt = Date.now();
    managers[leaderIndex] = undefined;
    await waitFor(() => ackedAfterKill >= 20, {
      description: "20 acknowledged writes after the leader was killed",
      timeoutMs: 60_000,
    });
    stop = true;
    await writer;

    // Every acknowledged write is on both surviving replicas (each answers from its own).
    for (const m of live()) {
      await waitFor(
        async () => {
          const { services } = await unary<{ services: Service[] }>(await control(m), "listServices", {});
          const have = new Map(services.map((s) => [s.spec?.name, s.id]));
          return [...acked].every(([name, id]) => have.get(name) === id);
        },
        { description: `all ${acked.size} acknowledged services on ${m.host.name}`, timeoutMs: 30_000 },
      );
    }
    expect(acked.size).toBeGreaterThanOrEqual(40);
    expect(ambiguous).toBeLessThanOrEqual(failures);

    // The killed manager restarts from its data dir and catches up as a follower.
    const back = await startManager(leader.host, { dataDir: leader.dataDir });
    managers[leaderIndex] = back;
    await waitFor(
      async () => {
        const { services } = await unary<{ services: Service[] }>(await control(back), "listServices", {});
        const have = new Set(services.map((s) => s.id));
        return [...acked.values()].every((id) => have.has(id));
      },
      { description: "the restarted manager to catch up", timeoutMs: 60_000 },
    );
    await waitFor(
      async () =>
        (await nodesSeenBy(survivor)).filter((n) => n.managerStatus?.reachability === Reachability.REACHABLE)
          .length === 3 || (await nodesSeenBy(back)).some((n) => n.managerStatus?.leader),
      { description: "three reachable managers again", timeoutMs: 60_000, intervalMs: 250 },
    );
  });

  it("demotes a manager out of the managers, then refuses it once removed when it comes back", async () => {
    // Demote a follower (any manager but the leader).
    const anyLive = live()[0] as ManagerProcess;
    const nodes = await waitFor(
      async () => {
        const n = await nodesSeenBy(anyLive);
        return n.some((x) => x.managerStatus?.leader) ? n : undefined;
      },
      { description: "a leader", timeoutMs: 30_000 },
    );
    const leaderId = nodes.find((n) => n.managerStatus?.leader)?.id;
    const victimIndex = managers.findIndex((m) => m !== undefined && m.ready.nodeId !== leaderId);
    const victim = managers[victimIndex] as ManagerProcess;
    // Asked through the other follower: the write is forwarded and the quorum check runs on a
    // replica that sees itself and the leader reachable.
    const other = managers.find(
      (m) => m !== undefined && m !== victim && m.ready.nodeId !== leaderId,
    ) as ManagerProcess;
    const c = await control(other);
    const { node } = await unary<{ node: Node }>(c, "getNode", { nodeId: victim.ready.nodeId });
    await unary(c, "updateNode", {
      nodeId: node.id,
      nodeVersion: node.meta?.version ?? 0,
      spec: { ...node.spec, desiredRole: NodeRole.WORKER },
    });
    await waitFor(
      async () =>
        (await nodesSeenBy(other)).find((n) => n.id === victim.ready.nodeId)?.role === NodeRole.WORKER,
      { description: "the demoted manager to become a worker", timeoutMs: 60_000, intervalMs: 250 },
    );
    // Its manager certificate no longer opens manager-only services.
    const asDemoted = await control(other, victim);
    const demoted = await unaryError(asDemoted, "listServices", {});
    expect(demoted?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(demoted?.details).toBe(`node "${victim.ready.nodeId}" is not a manager any more`);
    // The two managers left still take writes.
    await unary(c, "createService", { spec: serviceSpec("after-demotion") });

    // Removed, the old identity is refused, also when the process comes back and asks to join.
    await stopManager(victim);
    managers[victimIndex] = undefined;
    await unary(c, "removeNode", { nodeId: victim.ready.nodeId, force: true });
    const back = await startManager(victim.host, { dataDir: victim.dataDir });
    managers[victimIndex] = back;
    const removed = await unaryError(asDemoted, "listServices", {});
    expect(removed?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(removed?.metadata.get("shoal-code")).toEqual(["MANAGER_NODE_REMOVED"]);
    const raft = new RaftClient(
      other.address,
      createClientCredentials(await managerTls(victim.dataDir), { clusterId }),
      tlsChannelOptions(),
    );
    clients.push(raft);
    const rejoin = await unaryError(raft, "join", { addr: back.address });
    expect(rejoin?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(rejoin?.metadata.get("shoal-code")).toEqual(["MANAGER_NODE_REMOVED"]);
    expect(rejoin?.details).toMatch(/was removed/);
    // The cluster is still the two managers, and it still works.
    const after = await nodesSeenBy(other);
    expect(after.map((n) => n.id)).not.toContain(victim.ready.nodeId);
    expect(after.filter((n) => n.role === NodeRole.MANAGER)).toHaveLength(2);
    await unary(c, "createService", { spec: serviceSpec("after-removal") });
  });
});
