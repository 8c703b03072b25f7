// Two (then three) real managers in one process, each with its own data dir, Raft member and
// mTLS cluster port on loopback: join with the manager token (learner, then voter), a wrong,
// a rotated and a worker token refused with clear messages and nothing written, writes on one
// manager seen on the other (a follower's write forwarded to the leader), and the KEK reaching the joined manager so it can sign certificates.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { ShoalError, silentLogger } from "@shoal/base";
import { createClientCredentials, rotateJoinToken, tlsChannelOptions } from "@shoal/pki";
import { ControlClient, NodeRole, Secret } from "@shoal/proto";
import { afterAll, describe, expect, it } from "vitest";
import { LOOPBACK } from "../test/tls.js";
import { ManagerErrorCode } from "./errors.js";
import { SHOAL_CODE_TRAILER } from "./grpc-status.js";
import { Manager, type ManagerOptions } from "./manager.js";
import { readTls } from "./node-files.js";

const dirs: string[] = [];
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, LOOPBACK, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function options(): Promise<ManagerOptions> {
  const dataDir = await mkdtemp(join(tmpdir(), "shoal-join-"));
  dirs.push(dataDir);
  const port = await freePort();
  return {
    dataDir,
    listenAddress: `${LOOPBACK}:${port}`,
    advertiseAddress: `${LOOPBACK}:${port}`,
    logger: silentLogger(),
    raft: { tickMs: 20 },
  };
}

function run(manager: Manager): void {
  const stop = new AbortController();
  const running = manager.run(stop.signal);
  stops.push(async () => {
    stop.abort();
    await running;
    await manager.close();
  });
}

async function until(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const tokensOf = (m: Manager) => {
  const t = m.store.view((tx) => tx.clusters.list()[0]?.rootCa?.joinTokens);
  if (t === undefined) throw new Error("no tokens");
  return t;
};

describe("joining managers", () => {
  it("adds a manager with the manager token, refuses wrong, rotated and worker tokens", async () => {
    const o1 = await options();
    const m1 = await Manager.init(o1);
    run(m1);
    await until("m1 initialized", () => m1.store.view((tx) => tx.clusters.count()) === 1);
    const tokens = tokensOf(m1);

    // A token for this root but with a wrong secret, one for another root, the worker token.
    const refused = async (token: string) => {
      const o = await options();
      const err = await Manager.join(o, { token, remoteAddress: o1.advertiseAddress }).catch(
        (e: unknown) => e,
      );
      expect(await readdir(o.dataDir), "a refused join wrote files").toEqual([]);
      return err as ShoalError;
    };
    const wrongSecret = await refused(rotateJoinToken(tokens.manager));
    expect(ShoalError.is(wrongSecret, ManagerErrorCode.JoinTokenRefused)).toBe(true);
    expect(wrongSecret.message).toMatch(/^join token refused: /);
    const otherRoot = tokens.manager.replace(/^SHTKN-1-[0-9a-z]{50}/, `SHTKN-1-${"0".repeat(50)}`);
    const pinned = await refused(otherRoot);
    expect(ShoalError.is(pinned, ManagerErrorCode.JoinTokenRefused)).toBe(true);
    expect(pinned.message).toMatch(/man in the middle|does not match/i);
    const asWorker = await refused(tokens.worker);
    expect(asWorker.message).toBe(
      "join token refused: it is the worker token, but the node asked to join as a manager",
    );

    // The manager token: m2 joins as a learner and is promoted once caught up.
    const o2 = await options();
    const m2 = await Manager.join(o2, { token: tokens.manager, remoteAddress: o1.advertiseAddress });
    run(m2);
    await until(
      "m2 a voter",
      () => m1.store.raft.status()?.confState.voters.includes(m2.identity.raftId) === true,
    );
    expect(m2.identity.clusterId).toBe(m1.identity.clusterId);
    await until("m2 has the cluster", () => m2.store.view((tx) => tx.clusters.count()) === 1);

    // Writes on the leader reach the new manager.
    await m1.store.update((tx) =>
      tx.secrets.create(Secret.fromPartial({ id: "s1", spec: { name: "x", data: new Uint8Array([1]) } })),
    );
    await until("the secret on m2", () => m2.store.view((tx) => tx.secrets.get("s1")) !== undefined);
    // A write on the follower is forwarded to the leader over StoreForwarding and acknowledged
    // once applied on the follower too.
    expect(m2.store.isLeader()).toBe(false);
    await m2.store.update((tx) =>
      tx.secrets.create(Secret.fromPartial({ id: "s2", spec: { name: "y", data: new Uint8Array([2]) } })),
    );
    expect(m2.store.view((tx) => tx.secrets.get("s2"))).toBeDefined();
    await until(
      "the forwarded secret on m1",
      () => m1.store.view((tx) => tx.secrets.get("s2")) !== undefined,
    );
    // A store decision on the leader comes back with its code: a duplicate name.
    const dup = await m2.store
      .update((tx) =>
        tx.secrets.create(Secret.fromPartial({ id: "s3", spec: { name: "y", data: new Uint8Array([3]) } })),
      )
      .catch((e: unknown) => e);
    expect(ShoalError.is(dup, "STORE_NAME_CONFLICT")).toBe(true);

    // After a rotation the old manager token is refused.
    const rotated = rotateJoinToken(tokens.manager);
    await m1.store.update((tx) => {
      const c = tx.clusters.list()[0];
      if (c?.rootCa)
        tx.clusters.update({ ...c, rootCa: { ...c.rootCa, joinTokens: { ...tokens, manager: rotated } } });
    });
    const old = await refused(tokens.manager);
    expect(ShoalError.is(old, ManagerErrorCode.JoinTokenRefused)).toBe(true);

    // A third manager with the new token; the KEK it received lets it unseal the CA key.
    const o3 = await options();
    const m3 = await Manager.join(o3, { token: rotated, remoteAddress: o1.advertiseAddress });
    run(m3);
    await until("m3 a voter", () => m1.store.raft.status()?.confState.voters.length === 3);

    // Demote m3 (3 reachable managers: safe): it leaves Raft, becomes a worker, and its old
    // manager certificate no longer opens manager-only services; once removed it is refused
    // as removed.
    const m3Tls = await readTls(o3.dataDir);
    const control = new ControlClient(
      o1.advertiseAddress,
      createClientCredentials(m3Tls, { clusterId: m1.identity.clusterId }),
      tlsChannelOptions(),
    );
    const listAsM3 = () =>
      new Promise<grpc.ServiceError | null>((resolve) => control.listServices({}, (err) => resolve(err)));
    expect(await listAsM3()).toBeNull();
    await m1.store.update((tx) => {
      const n = tx.nodes.get(m3.identity.nodeId);
      if (n?.spec) tx.nodes.update({ ...n, spec: { ...n.spec, desiredRole: NodeRole.WORKER } });
    });
    await until("m3 out of raft", () => m1.store.raft.status()?.confState.voters.length === 2);
    await until(
      "m3 a worker",
      () => m1.store.view((tx) => tx.nodes.get(m3.identity.nodeId)?.role) === NodeRole.WORKER,
    );
    const demotedErr = await listAsM3();
    expect(demotedErr?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(demotedErr?.details).toBe(`node "${m3.identity.nodeId}" is not a manager any more`);
    await m1.store.update((tx) => tx.nodes.delete(m3.identity.nodeId));
    const removedErr = await listAsM3();
    expect(removedErr?.metadata.get(SHOAL_CODE_TRAILER)).toEqual([ManagerErrorCode.NodeRemoved]);
    control.close();

    // m2, a follower, leaves: the quorum check uses the leader's view (m1 stays, reachable).
    expect(m2.store.isLeader()).toBe(false);
    await m2.leave();
    await until(
      "m2 a worker",
      () => m1.store.view((tx) => tx.nodes.get(m2.identity.nodeId)?.role) === NodeRole.WORKER,
    );
    expect(m1.store.raft.status()?.confState.voters).toEqual([m1.identity.raftId]);
    // The last manager leaving is refused unless forced; nothing changes.
    const last = await m1.leave().catch((e: unknown) => e);
    expect(ShoalError.is(last, ManagerErrorCode.QuorumUnsafe)).toBe(true);
    expect((last as ShoalError).message).toBe(
      `node "${m1.identity.nodeId}" leaving the cluster would leave the cluster without managers`,
    );
    expect(m1.store.view((tx) => tx.nodes.get(m1.identity.nodeId)?.spec?.desiredRole)).toBe(NodeRole.MANAGER);
  });
});
