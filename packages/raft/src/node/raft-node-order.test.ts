import { ManualClock } from "@shoal/base";
import { describe, expect, it } from "vitest";
import type { ProposeResult, RawNodeApi, Status } from "../core-api.js";
import type { Transport } from "../transport/transport.js";
import type { Entry, HardState, Message, Ready, Snapshot } from "../types.js";
import { MemoryDurableStorage } from "./durable-storage.js";
import { RaftNode } from "./raft-node.js";

/** A core that hands out scripted Readys and records every call the driver makes. */
class ScriptedCore implements RawNodeApi {
  readonly calls: string[] = [];
  readonly readys: Ready[] = [];
  private outstanding = false;
  tick(): void {
    this.calls.push("tick");
  }
  step(m: Message): void {
    this.calls.push(`step:${m.type}`);
  }
  campaign(): void {}
  propose(): ProposeResult {
    this.calls.push("propose");
    return { ok: true, forwarded: false, index: 1, term: 1 };
  }
  proposeConfChange(): ProposeResult {
    return { ok: false, reason: "noLeader", leader: 0 };
  }
  readIndex(): void {}
  transferLeadership(): void {}
  reportUnreachable(): void {}
  reportSnapshot(): void {}
  hasReady(): boolean {
    return this.readys.length > 0;
  }
  ready(): Ready {
    if (this.outstanding) throw new Error("ready() called before advance()");
    this.outstanding = true;
    this.calls.push("ready");
    return this.readys[0]!;
  }
  advance(): void {
    if (!this.outstanding) throw new Error("advance() without ready()");
    this.outstanding = false;
    this.readys.shift();
    this.calls.push("advance");
  }
  status(): Status {
    return {
      id: 1,
      term: 1,
      vote: 1,
      commit: 0,
      applied: 0,
      lastIndex: 0,
      leader: 1,
      role: "leader",
      confState: { voters: [1, 2, 3], learners: [] },
      progress: new Map(),
      leadTransferee: 0,
    };
  }
}

class SlowStorage extends MemoryDurableStorage {
  release: (() => void) | undefined;
  readonly events: string[];
  constructor(events: string[]) {
    super();
    this.events = events;
  }
  override async save(hs: HardState | undefined, entries: Entry[], snap?: Snapshot): Promise<void> {
    this.events.push("save:start");
    await new Promise<void>((r) => {
      this.release = r;
    });
    await super.save(hs, entries, snap);
    this.events.push("save:done");
  }
}

describe("RaftNode ordering", () => {
  it("persists before sending, and feeds nothing to the core between ready() and advance()", async () => {
    const events: string[] = [];
    const core = new ScriptedCore();
    const storage = new SlowStorage(events);
    let handler: Parameters<Transport["attach"]>[0] | undefined;
    const transport: Transport = {
      attach: (h) => {
        handler = h;
      },
      detach: () => {},
      send: (msgs) => events.push(`send:${msgs.map((m) => m.type).join(",")}`),
    };
    const entry: Entry = { index: 1, term: 1, type: "normal", data: new Uint8Array([1]) };
    core.readys.push({
      hardState: { term: 1, vote: 2, commit: 0 },
      entries: [entry],
      messages: [{ type: "voteResp", from: 1, to: 2, term: 1, reject: false }],
      mustSync: true,
      committedEntries: [],
      readStates: [],
    });
    const applied: number[] = [];
    const node = new RaftNode({
      id: 1,
      storage,
      transport,
      createCore: () => core,
      apply: (e) => {
        applied.push(e.index);
      },
      clock: new ManualClock(),
    });
    const running = node.run();
    await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(["save:start"]);
    // Input while the batch is being persisted waits for advance().
    handler!.receive({ type: "heartbeat", from: 2, to: 1, term: 1, commit: 0, context: new Uint8Array() });
    const proposed = node.propose(new Uint8Array([9]));
    await new Promise((r) => setTimeout(r, 10));
    expect(core.calls).toEqual(["ready"]);
    core.readys.push({
      entries: [],
      messages: [],
      mustSync: false,
      committedEntries: [{ ...entry, data: new Uint8Array([9]) }],
      readStates: [],
    });
    storage.release!();
    await expect(proposed).resolves.toEqual({ index: 1, term: 1 });
    expect(events).toEqual(["save:start", "save:done", "send:voteResp"]);
    expect(core.calls).toEqual(["ready", "advance", "step:heartbeat", "propose", "ready", "advance"]);
    expect(applied).toEqual([1]);
    await node.stop();
    await running;
  });
});
