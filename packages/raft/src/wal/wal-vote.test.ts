import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededRandom, silentLogger } from "@shoal/base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RawNode } from "../raw-node.js";
import type { Message, VoteRespMessage } from "../types.js";
import { WalStorage } from "./wal-storage.js";

// Issue 11, item 9: a vote is a promise that survives a restart. A member that voted in a term
// and restarted from its WAL refuses a second candidate of the same term.

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "shoal-wal-vote-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function member(): Promise<{ rn: RawNode; wal: WalStorage }> {
  const wal = await WalStorage.open({ dir, bootstrapVoters: [1, 2, 3] });
  const rn = new RawNode({
    id: 1,
    storage: wal,
    electionTicks: 10,
    heartbeatTicks: 1,
    random: seededRandom(1),
    logger: silentLogger(),
    applied: wal.snapshot().meta.index,
  });
  return { rn, wal };
}

/** Handles every Ready in the durability contract's order; returns the messages sent. */
async function drain(rn: RawNode, wal: WalStorage): Promise<Message[]> {
  const sent: Message[] = [];
  while (rn.hasReady()) {
    const rd = rn.ready();
    await wal.save(rd.hardState, rd.entries, rd.snapshot, rd.mustSync);
    sent.push(...rd.messages);
    rn.advance(rd);
  }
  return sent;
}

function voteRequest(from: number, term: number): Message {
  return { type: "vote", from, to: 1, term, index: 3, logTerm: 1, transfer: false };
}

describe("a vote survives a restart", () => {
  it("refuses a second candidate of the same term after restarting from the WAL", async () => {
    const first = await member();
    await drain(first.rn, first.wal);
    first.rn.step(voteRequest(2, 5));
    const granted = (await drain(first.rn, first.wal)).find((m) => m.type === "voteResp") as VoteRespMessage;
    expect(granted).toMatchObject({ to: 2, term: 5, reject: false });
    await first.wal.close();

    const second = await member();
    expect(second.wal.hardState()).toMatchObject({ term: 5, vote: 2 });
    await drain(second.rn, second.wal);
    second.rn.step(voteRequest(3, 5));
    const answer = (await drain(second.rn, second.wal)).find((m) => m.type === "voteResp") as VoteRespMessage;
    expect(answer).toMatchObject({ to: 3, term: 5, reject: true });
    // The candidate it voted for may ask again (a retransmission) and is granted again.
    second.rn.step(voteRequest(2, 5));
    const again = (await drain(second.rn, second.wal)).find((m) => m.type === "voteResp") as VoteRespMessage;
    expect(again).toMatchObject({ to: 2, term: 5, reject: false });
    await second.wal.close();
  });
});
