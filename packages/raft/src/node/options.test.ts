import { describe, expect, it } from "vitest";
import { LocalNetwork } from "../transport/local-network.js";
import { MemoryDurableStorage } from "./durable-storage.js";
import {
  DEFAULT_ELECTION_TICKS,
  DEFAULT_HEARTBEAT_TICKS,
  DEFAULT_SNAPSHOT_BYTES,
  DEFAULT_SNAPSHOT_CATCH_UP_BYTES,
  DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES,
  DEFAULT_SNAPSHOT_ENTRIES,
  DEFAULT_TICK_MS,
  resolveNodeOptions,
} from "./options.js";
import { RaftNode, type RaftNodeOptions } from "./raft-node.js";

function options(extra: Partial<RaftNodeOptions> = {}): RaftNodeOptions {
  return {
    id: 1,
    storage: MemoryDurableStorage.bootstrap([1]),
    transport: new LocalNetwork().transport(1),
    apply: () => {},
    ...extra,
  };
}

describe("RaftNode options", () => {
  it("fill in the exported defaults once", () => {
    const o = resolveNodeOptions(options());
    expect(o).toMatchObject({
      tickMs: DEFAULT_TICK_MS,
      electionTicks: DEFAULT_ELECTION_TICKS,
      heartbeatTicks: DEFAULT_HEARTBEAT_TICKS,
      snapshotEntries: DEFAULT_SNAPSHOT_ENTRIES,
      snapshotCatchUpEntries: DEFAULT_SNAPSHOT_CATCH_UP_ENTRIES,
      snapshotBytes: DEFAULT_SNAPSHOT_BYTES,
      snapshotCatchUpBytes: DEFAULT_SNAPSHOT_CATCH_UP_BYTES,
      // Twice the longest randomized election timeout (2 x electionTicks ticks).
      readTimeoutMs: 4 * DEFAULT_ELECTION_TICKS * DEFAULT_TICK_MS,
    });
    expect(resolveNodeOptions(options({ tickMs: 10, snapshotEntries: 0 }))).toMatchObject({
      tickMs: 10,
      snapshotEntries: 0,
      readTimeoutMs: 400,
    });
  });

  it("refuse bad values in the constructor with RAFT_INVALID_CONFIG naming the option", () => {
    expect(() => new RaftNode(options({ tickMs: 0 }))).toThrow(
      expect.objectContaining({
        code: "RAFT_INVALID_CONFIG",
        message: "raft node tickMs 0 must be greater than 0",
      }),
    );
    expect(() => new RaftNode(options({ snapshotEntries: -1 }))).toThrow(/snapshotEntries -1/);
  });
});
