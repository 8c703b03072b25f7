import type { Raft } from "./raft.js";
import { handleAppend, handleHeartbeat, handleSnapshotChunk } from "./step-follower.js";
import { type Message, Role } from "./types.js";

/** Shared by candidates and pre-candidates; only the vote answer type they count differs. */
export function stepCandidate(r: Raft, m: Message): void {
  switch (m.type) {
    case "prop":
      r.logger.debug({ term: r.term }, "raft dropping proposal: no leader during election");
      return;
    case "app":
      // A leader exists for this term: concede.
      r.becomeFollower(m.term, m.from);
      handleAppend(r, m);
      return;
    case "heartbeat":
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case "snap":
      r.becomeFollower(m.term, m.from);
      handleSnapshotChunk(r, m);
      return;
    case "preVoteResp":
    case "voteResp": {
      const mine = r.role === Role.PreCandidate ? "preVoteResp" : "voteResp";
      if (m.type !== mine) return;
      r.poll(m.from, !m.reject, mine);
      return;
    }
    default:
      return;
  }
}
