import type { Raft } from "./raft.js";
import { sendAppendToAll } from "./raft.js";
import { sendAppend, sendAppendsWhileAllowed, sendHeartbeats } from "./replication.js";
import {
  type AppRespMessage,
  type HeartbeatRespMessage,
  type Message,
  NONE,
  type ReadIndexMessage,
} from "./types.js";

export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case "prop":
      if (m.entries.length > 0) r.propose(m.entries, true);
      return;
    case "readIndex":
      handleReadIndex(r, m);
      return;
    case "appResp":
      handleAppendResponse(r, m);
      return;
    case "heartbeatResp":
      handleHeartbeatResponse(r, m);
      return;
    case "transferLeader":
      transferLeadership(r, m.from);
      return;
    default:
      return;
  }
}

function handleAppendResponse(r: Raft, m: AppRespMessage): void {
  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  if (m.reject) {
    let probe = m.rejectHint;
    // The follower told us its term at rejectHint: skip every entry of ours from later terms.
    if (m.logTerm > 0) probe = r.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
    r.logger.debug(
      {
        term: r.term,
        from: m.from,
        index: m.index,
        rejectHint: m.rejectHint,
        hintTerm: m.logTerm,
        probe,
        state: pr.state,
      },
      "raft append rejected, probing back",
    );
    if (pr.maybeDecrTo(m.index, probe)) {
      if (pr.state === "replicate") pr.becomeProbe();
      sendAppend(r, m.from, true);
    }
    return;
  }
  // Index 0 is the "your term is stale" notice (raft.ts step); it says nothing about the log.
  if (m.index === 0) return;
  const wasPaused = pr.isPaused();
  if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === "probe")) {
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.match + 1 >= r.log.firstIndex()) {
      // The snapshot (or appends that overtook it) brought the follower up to our log.
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "replicate") pr.inflights.freeLE(m.index);

    if (r.maybeCommit()) {
      releasePendingReadIndex(r);
      sendAppendToAll(r);
    } else if (wasPaused) {
      sendAppend(r, m.from, false);
    }
    sendAppendsWhileAllowed(r, m.from);
    if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) {
      r.logger.info({ term: r.term, to: m.from }, "raft transferee caught up, sending timeoutNow");
      r.send({ type: "timeoutNow", from: r.id, to: m.from, term: r.term });
    }
  }
}

function handleHeartbeatResponse(r: Raft, m: HeartbeatRespMessage): void {
  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  pr.probeSent = false;
  // A heartbeat answer proves the follower is alive: free a slot so a lost append is retried.
  if (pr.state === "replicate" && pr.inflights.full()) pr.inflights.freeFirstOne();
  if (pr.match < r.log.lastIndex() || pr.state === "probe") sendAppend(r, m.from, true);
  if (m.context.byteLength === 0) return;
  if (r.readOnly.recvAck(m.from, m.context, (id) => r.trk.isVoter(id)) < r.trk.quorum()) return;
  for (const req of r.readOnly.advance(m.context)) answerRead(r, req.from, req.index, req.context);
}

function answerRead(r: Raft, from: number, index: number, context: Uint8Array): void {
  if (from === NONE || from === r.id) r.readStates.push({ index, context });
  else r.send({ type: "readIndexResp", from: r.id, to: from, term: r.term, index, context });
}

export function handleReadIndex(r: Raft, m: ReadIndexMessage): void {
  if (r.trk.isSingleton()) {
    answerRead(r, m.from, r.log.committed, m.context);
    return;
  }
  // Until an entry of this term commits, the leader's commit index may lag the true one (§6.4).
  if (!r.committedEntryInCurrentTerm()) {
    r.pendingReadIndex.push(m);
    return;
  }
  if (r.cfg.testingUnsafe === "readIndexWithoutHeartbeat") {
    answerRead(r, m.from, r.log.committed, m.context);
    return;
  }
  r.readOnly.add(r.log.committed, m.from, m.context);
  r.readOnly.recvAck(r.id, m.context, () => true);
  sendHeartbeats(r, m.context);
}

function releasePendingReadIndex(r: Raft): void {
  if (r.pendingReadIndex.length === 0 || !r.committedEntryInCurrentTerm()) return;
  if (r.cfg.testingUnsafe === "neverReleaseParkedReads") return;
  const pending = r.pendingReadIndex;
  r.pendingReadIndex = [];
  for (const m of pending) if (m.type === "readIndex") handleReadIndex(r, m);
}

export function transferLeadership(r: Raft, to: number): void {
  const pr = r.trk.progress.get(to);
  if (pr === undefined || pr.isLearner) {
    r.logger.debug({ term: r.term, to }, "raft ignoring transfer to a non-voter");
    return;
  }
  if (r.leadTransferee !== NONE) {
    if (r.leadTransferee === to) return;
    r.leadTransferee = NONE;
  }
  if (to === r.id) return;
  // The transfer must finish within an election timeout or it is abandoned. It has its own clock:
  // resetting electionElapsed here (as etcd does) would let repeated transfers keep an isolated
  // leader from ever noticing, through CheckQuorum, that it lost its quorum.
  r.transferElapsed = 0;
  r.leadTransferee = to;
  r.logger.info({ term: r.term, to }, "raft starting leadership transfer");
  if (pr.match === r.log.lastIndex()) r.send({ type: "timeoutNow", from: r.id, to, term: r.term });
  else sendAppend(r, to, true);
}
