import { createLogger, seededRandom } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { RawNode } from "./raw-node.js";
import { MemoryStorage } from "./storage.js";

interface Line {
  msg: string;
  raftId: number;
  [key: string]: unknown;
}

/** Two cores whose debug lines land in `lines`; messages are delivered by hand. */
function pair(lines: Line[]) {
  const root = createLogger({
    level: "debug",
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  const nodes = new Map<number, RawNode>();
  for (const id of [1, 2]) {
    const storage = MemoryStorage.bootstrap([1, 2]);
    nodes.set(
      id,
      new RawNode({
        id,
        storage,
        electionTicks: 10,
        heartbeatTicks: 1,
        random: seededRandom(id),
        logger: root.child({ module: "raft", raftId: id }),
      }),
    );
  }
  // Apply the bootstrap configuration entries; a node does not campaign before that.
  for (const n of nodes.values()) n.advance(n.ready());
  return { nodes };
}

describe("debug lines for vote and append decisions", () => {
  it("say the term, the index and why", () => {
    const lines: Line[] = [];
    const { nodes } = pair(lines);
    const n1 = nodes.get(1)!;
    const n2 = nodes.get(2)!;
    n1.campaign(); // pre-vote
    const preVote = n1.ready().messages.find((m) => m.type === "preVote")!;
    n2.step(preVote);
    expect(lines.find((l) => l.msg === "raft vote decision" && l.raftId === 2)).toMatchObject({
      type: "preVote",
      from: 1,
      term: 1,
      candidateTerm: 2,
      index: 2,
      logTerm: 1,
      granted: true,
      why: "candidate log is at least as up to date as ours",
    });

    // An append whose start the follower does not have is refused, saying why.
    n2.step({ type: "app", from: 1, to: 2, term: 1, index: 7, logTerm: 1, entries: [], commit: 0 });
    expect(lines.find((l) => l.msg === "raft append decision" && l.accepted === false)).toMatchObject({
      raftId: 2,
      term: 1,
      index: 7,
      logTerm: 1,
      rejectHint: 2,
      why: "our log ends at 2",
    });
    n2.step({ type: "app", from: 1, to: 2, term: 1, index: 2, logTerm: 1, entries: [], commit: 2 });
    expect(lines.find((l) => l.msg === "raft append decision" && l.accepted === true)).toMatchObject({
      index: 2,
      lastNew: 2,
      why: "log matches at the append's start",
    });
  });
});
