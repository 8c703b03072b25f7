import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, ServerCredentials } from "@grpc/grpc-js";
import { seededRandom } from "@shoal/base";
import { afterEach, describe, expect, it } from "vitest";
import { GrpcTransport } from "../transport/grpc-transport.js";
import { WalStorage } from "../wal/wal-storage.js";
import { RaftNode } from "./raft-node.js";
import { KvMachine, kv, waitFor } from "./test-cluster.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("RaftNode over the gRPC transport", () => {
  it("elects a leader and replicates over loopback streams, snapshots included", async () => {
    const root = await mkdtemp(join(tmpdir(), "shoal-raftgrpc-"));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const ids = [1, 2, 3];
    const members: { id: number; node: RaftNode; transport: GrpcTransport; machine: KvMachine }[] = [];
    for (const id of ids) {
      const storage = await WalStorage.open({
        dir: join(root, `n${id}`),
        bootstrapVoters: ids,
      });
      const transport = await GrpcTransport.open({
        id,
        credentials: credentials.createInsecure(),
        listen: { address: "127.0.0.1:0", credentials: ServerCredentials.createInsecure() },
      });
      const machine = new KvMachine();
      const node = new RaftNode({
        id,
        storage,
        transport,
        apply: machine.apply,
        snapshot: machine.snapshot,
        restore: machine.restore,
        random: seededRandom(id),
        tickMs: 10,
        electionTicks: 10,
        snapshotEntries: 30,
        snapshotCatchUpEntries: 5,
      });
      const running = node.run();
      running.catch(() => {});
      cleanups.push(async () => {
        await node.stop();
        await transport.close();
        await storage.close();
      });
      members.push({ id, node, transport, machine });
    }
    // open() resolves once the server is bound.
    for (const m of members) expect(m.transport.port).toBeGreaterThan(0);
    for (const m of members)
      for (const p of members) if (p.id !== m.id) m.transport.setPeer(p.id, `127.0.0.1:${p.transport.port}`);

    const leaderOf = () => members.find((m) => m.node.isLeader());
    const leader = await waitFor(leaderOf, 5000, "a leader");
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => leader.node.propose(kv(`k${i}`, `${i}`))),
    );
    const last = Math.max(...results.map((r) => r.index));
    await waitFor(() => members.every((m) => m.node.applied >= last) || undefined, 5000, "all applied");
    for (const m of members) expect(m.machine.data.get("k99")).toBe("99");
    expect(members.every((m) => m.transport.stats.maxSentBytes > 0)).toBe(true);
  });
});
