import type { Raft } from "./raft.js";
import { sendAppendToAll } from "./raft.js";
import { NONE, Role, type VoteMessage } from "./types.js";

// Elections: campaigning (with PreVote), counting votes, and answering vote requests.

export function hup(r: Raft, transfer: boolean): void {
  if (r.role === Role.Leader) return;
  if (!r.promotable()) return;
  // Applying a pending conf change might remove us; campaigning before that is unsafe.
  if (hasUnappliedConfChanges(r)) {
    r.logger.debug({ term: r.term }, "raft not campaigning: conf change committed but not applied");
    return;
  }
  if (r.cfg.preVote && !transfer) campaign(r, "preVote", false);
  else campaign(r, "vote", transfer);
}

function hasUnappliedConfChanges(r: Raft): boolean {
  if (r.log.applied >= r.log.committed) return false;
  const lo = Math.max(r.log.applied + 1, r.log.firstIndex());
  if (lo > r.log.committed) return false;
  for (const e of r.log.slice(lo, r.log.committed + 1, Number.MAX_SAFE_INTEGER)) {
    if (e.type === "confChange") return true;
  }
  return false;
}

export function campaign(r: Raft, kind: "preVote" | "vote", transfer: boolean): void {
  if (kind === "preVote") r.becomePreCandidate();
  else r.becomeCandidate();
  r.trk.recordVote(r.id, true);
  if (r.trk.tallyVotes().result === "won") {
    if (kind === "preVote") campaign(r, "vote", false);
    else r.becomeLeader();
    return;
  }
  r.campaignTransfer = transfer;
  sendVoteRequests(r, false);
}

/**
 * Sends this round's (pre-)vote request to every voter, or with `unansweredOnly` (a retry, see
 * Raft.tickElection) to those that have not answered it. A request changes nothing at a voter that
 * already answered it or ignored it (the leader lease), so sending it again is always safe.
 */
export function sendVoteRequests(r: Raft, unansweredOnly: boolean): void {
  const preVote = r.role === Role.PreCandidate;
  const kind = preVote ? "preVote" : "vote";
  const term = preVote ? r.term + 1 : r.term;
  const index = r.log.lastIndex();
  const logTerm = r.log.lastTerm();
  const transfer = r.campaignTransfer;
  for (const id of r.trk.voters) {
    if (id === r.id || (unansweredOnly && r.trk.hasVoted(id))) continue;
    r.send({ type: kind, from: r.id, to: id, term, index, logTerm, transfer });
  }
}

/** Records a vote answer and acts on the outcome; used by the candidate step function. */
export function poll(r: Raft, from: number, granted: boolean, kind: "preVoteResp" | "voteResp"): void {
  r.trk.recordVote(from, granted);
  const { granted: yes, rejected: no, result } = r.trk.tallyVotes();
  r.logger.debug({ term: r.term, kind, from, granted, yes, no, result }, "raft vote counted");
  if (result === "won") {
    if (kind === "preVoteResp") campaign(r, "vote", false);
    else {
      r.becomeLeader();
      sendAppendToAll(r);
    }
  } else if (result === "lost") {
    r.becomeFollower(r.term, NONE);
  }
}

export function handleVote(r: Raft, m: VoteMessage): void {
  const canVote =
    r.vote === m.from || (r.vote === NONE && r.lead === NONE) || (m.type === "preVote" && m.term > r.term);
  const respType = m.type === "vote" ? "voteResp" : "preVoteResp";
  const upToDate = r.cfg.testingUnsafe === "voteIgnoringLog" || r.log.isUpToDate(m.index, m.logTerm);
  const granted = canVote && upToDate;
  r.logger.debug(
    {
      term: r.term,
      type: m.type,
      from: m.from,
      candidateTerm: m.term,
      index: m.index,
      logTerm: m.logTerm,
      lastIndex: r.log.lastIndex(),
      lastTerm: r.log.lastTerm(),
      granted,
      why: granted
        ? "candidate log is at least as up to date as ours"
        : !canVote
          ? r.vote !== NONE
            ? `already voted for ${r.vote} in term ${r.term}`
            : `following leader ${r.lead} in term ${r.term}`
          : "candidate log is behind ours (§5.4.1)",
    },
    "raft vote decision",
  );
  if (granted) {
    // A granted pre-vote answers with the candidate's future term so it is not seen as stale.
    r.send({ type: respType, from: r.id, to: m.from, term: m.term, reject: false });
    if (m.type === "vote") {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
  } else {
    r.send({ type: respType, from: r.id, to: m.from, term: r.term, reject: true });
  }
}
