import type { Raft } from "./raft.js";
import { type AppMessage, type HeartbeatMessage, type Message, NONE, type SnapMessage } from "./types.js";

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case "prop":
      // Forward once more only if it would not bounce straight back to the sender.
      if (r.lead !== m.from) r.propose(m.entries, true);
      return;
    case "app":
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppend(r, m);
      return;
    case "heartbeat":
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case "snap":
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshotChunk(r, m);
      return;
    case "transferLeader":
    case "readIndex":
      if (r.lead === NONE) {
        r.logger.debug({ term: r.term, type: m.type }, "raft dropping request: no leader");
        return;
      }
      r.send({ ...m, to: r.lead });
      return;
    case "timeoutNow":
      // Transfers skip PreVote: the leader asked for this, there is no partition to guard against.
      r.logger.info({ term: r.term, from: m.from }, "raft campaigning for a leadership transfer");
      r.hup(true);
      return;
    case "readIndexResp":
      r.readStates.push({ index: m.index, context: m.context });
      return;
    default:
      return;
  }
}

export function handleAppend(r: Raft, m: AppMessage): void {
  const reply = { type: "appResp", from: r.id, to: m.from, term: r.term } as const;
  // Per-message traffic: the fields are built only when debug is on (appends are the hot path).
  const debug = r.logger.isLevelEnabled("debug");
  const fields = () => ({
    term: r.term,
    from: m.from,
    index: m.index,
    logTerm: m.logTerm,
    entries: m.entries.length,
    commit: m.commit,
  });
  if (m.index < r.log.committed) {
    if (debug)
      r.logger.debug(
        {
          ...fields(),
          committed: r.log.committed,
          accepted: true,
          why: "already committed past the append's start",
        },
        "raft append decision",
      );
    r.send({ ...reply, index: r.log.committed, reject: false, rejectHint: 0, logTerm: 0 });
    return;
  }
  const lastNew = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew !== undefined) {
    if (debug)
      r.logger.debug(
        { ...fields(), lastNew, accepted: true, why: "log matches at the append's start" },
        "raft append decision",
      );
    r.send({ ...reply, index: lastNew, reject: false, rejectHint: 0, logTerm: 0 });
    return;
  }
  // Mismatch: hint the largest index whose term is <= the leader's term there, so the leader
  // skips a whole divergent term per round trip instead of one entry.
  const hint = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm);
  if (debug) {
    const why =
      m.index > r.log.lastIndex()
        ? `our log ends at ${r.log.lastIndex()}`
        : `our term at ${m.index} is ${r.log.term(m.index)}, not ${m.logTerm}`;
    r.logger.debug(
      { ...fields(), accepted: false, rejectHint: hint.index, hintTerm: hint.term, why },
      "raft append decision",
    );
  }
  r.send({ ...reply, index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
}

export function handleHeartbeat(r: Raft, m: HeartbeatMessage): void {
  r.log.commitTo(Math.min(m.commit, r.log.lastIndex()));
  r.send({ type: "heartbeatResp", from: r.id, to: m.from, term: r.term, context: m.context });
}

export function handleSnapshotChunk(r: Raft, m: SnapMessage): void {
  const snap = r.snapAssembly.add(m);
  if (snap === undefined) return;
  const installed = r.restore(snap);
  const index = installed ? r.log.lastIndex() : r.log.committed;
  r.logger.info({ term: r.term, index: snap.meta.index, installed }, "raft received snapshot");
  r.send({
    type: "appResp",
    from: r.id,
    to: m.from,
    term: r.term,
    index,
    reject: false,
    rejectHint: 0,
    logTerm: 0,
  });
}
