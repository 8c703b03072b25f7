import { ManualClock, ShoalError, seededRandom } from "@shoal/base";
import { describe, expect, it } from "vitest";
import type { RaftConfig } from "../config.js";
import type { ProposeResult, RawNodeApi, Status } from "../core-api.js";
import type { Transport } from "../transport/transport.js";
import type { Ready } from "../types.js";
import { MemoryDurableStorage } from "./durable-storage.js";
import { RaftNode, type RaftNodeOptions } from "./raft-node.js";

// Read contexts across restarts and the proposal-forwarding guard (issue 11, defects 2 and 3).

/** A core that records the read contexts it is given and hands out queued Readys. */
class ReadCore implements RawNodeApi {
  readonly contexts: Uint8Array[] = [];
  readonly readys: Ready[] = [];
  tick(): void {}
  step(): void {}
  campaign(): void {}
  propose(): ProposeResult {
    return { ok: false, reason: "noLeader", leader: 0 };
  }
  proposeConfChange(): ProposeResult {
    return { ok: false, reason: "noLeader", leader: 0 };
  }
  readIndex(context: Uint8Array): void {
    this.contexts.push(context);
  }
  transferLeadership(): void {}
  reportUnreachable(): void {}
  reportSnapshot(): void {}
  hasReady(): boolean {
    return this.readys.length > 0;
  }
  ready(): Ready {
    return this.readys[0]!;
  }
  advance(): void {
    this.readys.shift();
  }
  status(): Status {
    return {
      id: 2,
      term: 1,
      vote: 0,
      commit: 0,
      applied: 0,
      lastIndex: 0,
      leader: 1,
      role: "follower",
      confState: { voters: [1, 2, 3], learners: [] },
      progress: new Map(),
      leadTransferee: 0,
    };
  }
}

const idleTransport = (): Transport => ({ attach: () => {}, detach: () => {}, send: () => {} });
const settle = () => new Promise((r) => setTimeout(r, 5));
function readState(context: Uint8Array, index: number): Ready {
  return {
    entries: [],
    messages: [],
    mustSync: false,
    committedEntries: [],
    readStates: [{ index, context }],
  };
}

function incarnation(core: ReadCore, seed: number, extra: Partial<RaftNodeOptions> = {}): RaftNode {
  return new RaftNode({
    id: 2,
    storage: new MemoryDurableStorage(),
    transport: idleTransport(),
    createCore: () => core,
    apply: () => {},
    clock: new ManualClock(),
    random: seededRandom(seed),
    ...extra,
  });
}

describe("RaftNode read contexts", () => {
  it("never reuses a read context in a later incarnation of the same member", async () => {
    const first = new ReadCore();
    const a = incarnation(first, 1);
    const runningA = a.run();
    void a.readIndex().catch(() => {});
    await settle();
    await a.stop();
    await runningA;

    const second = new ReadCore();
    const b = incarnation(second, 2);
    const runningB = b.run();
    void b.readIndex().catch(() => {});
    await settle();
    expect(first.contexts).toHaveLength(1);
    expect(second.contexts).toHaveLength(1);
    expect(Buffer.from(second.contexts[0]!).equals(Buffer.from(first.contexts[0]!))).toBe(false);
    await b.stop();
    await runningB;
  });

  it("ignores a read state answering a request of an earlier incarnation", async () => {
    const first = new ReadCore();
    const a = incarnation(first, 1);
    const runningA = a.run();
    void a.readIndex().catch(() => {});
    await settle();
    await a.stop();
    await runningA;
    const stale = first.contexts[0]!;

    const second = new ReadCore();
    const b = incarnation(second, 2);
    const runningB = b.run();
    let resolvedAt: number | undefined;
    const read = b.readIndex().then((i) => {
      resolvedAt = i;
      return i;
    });
    await settle();
    // The leader still held the old incarnation's request and answers it now, with an old index.
    second.readys.push(readState(stale, 0));
    b.transferLeadership(1); // any input wakes the loop
    await settle();
    expect(resolvedAt).toBeUndefined();
    second.readys.push(readState(second.contexts[0]!, 0));
    b.transferLeadership(1);
    await expect(read).resolves.toBe(0);
    await b.stop();
    await runningB;
  });
});

describe("RaftNode proposal forwarding", () => {
  it("refuses coreConfig that turns proposal forwarding back on", () => {
    const make = () =>
      incarnation(new ReadCore(), 1, {
        // The type forbids the field; a caller that casts must still be stopped at run time.
        coreConfig: { disableProposalForwarding: false } as unknown as NonNullable<
          RaftNodeOptions["coreConfig"]
        >,
      });
    expect(make).toThrow(ShoalError);
    expect(make).toThrow(/disableProposalForwarding/);
  });

  it("always builds the core with forwarding disabled", async () => {
    let seen: RaftConfig | undefined;
    const node = incarnation(new ReadCore(), 1, {
      createCore: (config) => {
        seen = config;
        return new ReadCore();
      },
      coreConfig: { maxInflightMsgs: 8 },
    });
    const running = node.run();
    await settle();
    expect(seen?.disableProposalForwarding).toBe(true);
    expect(seen?.maxInflightMsgs).toBe(8);
    await node.stop();
    await running;
  });
});
