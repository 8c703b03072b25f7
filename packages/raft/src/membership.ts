import type { Raft } from "./raft.js";
import { sendAppendToAll } from "./raft.js";
import { sendAppend } from "./replication.js";
import { type ConfChange, NONE, Role, type Snapshot } from "./types.js";

// Membership changes (applied one at a time, when their entry is applied) and snapshot
// installation on a follower, split out of raft.ts.

export function applyConfChange(r: Raft, cc: ConfChange): void {
  const next = r.log.lastIndex() + 1;
  switch (cc.type) {
    case "addVoter":
      r.trk.learners.delete(cc.nodeId);
      r.trk.voters.add(cc.nodeId);
      break;
    case "addLearner":
      r.trk.voters.delete(cc.nodeId);
      r.trk.learners.add(cc.nodeId);
      break;
    case "removeNode":
      r.trk.voters.delete(cc.nodeId);
      r.trk.learners.delete(cc.nodeId);
      r.trk.progress.delete(cc.nodeId);
      break;
  }
  if (cc.type !== "removeNode") r.trk.ensureProgress(cc.nodeId, next, cc.type === "addLearner");
  if (r.role !== Role.Leader) return;
  if (!r.trk.isVoter(r.id)) {
    // A leader removed (or demoted) by this change steps down; the rest elect a new one.
    r.logger.info({ term: r.term }, "raft leader removed from the voters, stepping down");
    r.becomeFollower(r.term, NONE);
    return;
  }
  if (r.leadTransferee !== NONE && !r.trk.isVoter(r.leadTransferee)) r.leadTransferee = NONE;
  // The quorum changed size: the commit index may move, and followers must hear about it.
  if (r.maybeCommit()) sendAppendToAll(r);
  else for (const id of r.trk.progress.keys()) if (id !== r.id) sendAppend(r, id, false);
}

/** Follower side: installs a complete snapshot. Returns false when it was not needed. */
export function restoreSnapshot(r: Raft, snap: Snapshot): boolean {
  if (snap.meta.index <= r.log.committed) return false;
  const cs = snap.meta.confState;
  if (!cs.voters.includes(r.id) && !cs.learners.includes(r.id)) {
    r.logger.warn({ index: snap.meta.index }, "raft ignoring a snapshot whose configuration lacks this node");
    return false;
  }
  if (r.log.matchTerm(snap.meta.index, snap.meta.term)) {
    // We already have the entries: just fast-forward the commit index.
    r.log.commitTo(snap.meta.index);
    return false;
  }
  r.log.restore(snap);
  r.trk.setConf(cs, r.log.lastIndex() + 1);
  const pr = r.trk.progress.get(r.id);
  if (pr !== undefined) pr.match = snap.meta.index;
  return true;
}

export function reportSnapshot(r: Raft, id: number, ok: boolean): void {
  const pr = r.trk.progress.get(id);
  if (r.role !== Role.Leader || pr === undefined || pr.state !== "snapshot") return;
  // On failure forget the pending snapshot so probing restarts from the last known match.
  if (!ok) pr.pendingSnapshot = 0;
  pr.becomeProbe();
  pr.probeSent = true; // wait for the next heartbeat before probing again
}
