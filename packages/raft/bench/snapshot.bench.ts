// Snapshot install: a member that was down while the leader snapshotted a 64 MiB state and
// compacted its log catches up through InstallSnapshot over gRPC (chunked; no message over 4 MiB).
// Timed from the lagging member's transport listening to its state machine restored and caught up.
import { reportFigure } from "@shoal/base";
import { MAX_MESSAGE_BYTES } from "../src/config.js";
import { BenchCluster } from "./cluster.js";

const SNAPSHOT_BYTES = 64 * 1024 * 1024;

export async function run(): Promise<void> {
  const cluster = new BenchCluster({
    snapshotEntries: 500,
    snapshotCatchUpEntries: 0,
    snapshotBytes: SNAPSHOT_BYTES,
  });
  try {
    await cluster.start([1, 2]);
    const leader = await cluster.leader();
    const done = leader.next("loadResult", 120_000);
    leader.send({ cmd: "proposeN", n: 600, concurrency: 16, valueBytes: 256 });
    await done;
    const target = (await leader.status()).applied;

    const lagging = await cluster.spawn(3);
    const startedAt = Date.now();
    cluster.broadcastPeers();
    const deadline = startedAt + 120_000;
    for (;;) {
      const s = await lagging.status();
      if (s.restores > 0 && s.applied >= target) break;
      if (Date.now() > deadline)
        throw new Error(
          `member 3 did not install the snapshot within 120s (applied ${s.applied} of ${target})`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
    const elapsedS = (Date.now() - startedAt) / 1000;
    const sender = await leader.status();
    const receiver = await lagging.status();
    if (sender.maxSentBytes > MAX_MESSAGE_BYTES || receiver.maxReceivedBytes > MAX_MESSAGE_BYTES) {
      throw new Error(
        `a raft message exceeded ${MAX_MESSAGE_BYTES} bytes (sent ${sender.maxSentBytes}, received ${receiver.maxReceivedBytes})`,
      );
    }
    if (receiver.maxReceivedBytes < 1024 * 1024) {
      throw new Error(
        `member 3 never received a snapshot chunk (largest message ${receiver.maxReceivedBytes} bytes)`,
      );
    }
    reportFigure("raft_snapshot_install_s_64mib", elapsedS, "s");
    reportFigure("raft_snapshot_max_message_bytes", receiver.maxReceivedBytes, "bytes");
  } finally {
    await cluster.stop();
  }
}
