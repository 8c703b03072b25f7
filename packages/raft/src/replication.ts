import type { Raft } from "./raft.js";
import { snapshotChunks } from "./snapshot-chunks.js";
import type { Entry } from "./types.js";

/**
 * Leader → follower traffic: appends (batched up to maxSizePerMsg, pipelined in replicate
 * state), InstallSnapshot chunks when the follower needs compacted entries, and heartbeats.
 * Returns whether a message was sent.
 */
export function sendAppend(r: Raft, to: number, sendIfEmpty: boolean): boolean {
  const pr = r.trk.progress.get(to);
  if (pr === undefined || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.log.term(prevIndex);
  const entries = prevTerm === undefined ? undefined : r.log.entriesFrom(pr.next, r.cfg.maxSizePerMsg);
  if (prevTerm === undefined || entries === undefined) return sendSnapshot(r, to);
  if (entries.length === 0 && !sendIfEmpty) return false;
  let bytes = 0;
  for (const e of entries) bytes += e.data.byteLength;
  r.send({
    type: "app",
    from: r.id,
    to,
    term: r.term,
    index: prevIndex,
    logTerm: prevTerm,
    entries,
    commit: r.log.committed,
  });
  const last = entries.length > 0 ? (entries[entries.length - 1] as Entry).index : prevIndex;
  pr.sentEntries(entries.length, last, bytes);
  return true;
}

function sendSnapshot(r: Raft, to: number): boolean {
  const pr = r.trk.progress.get(to);
  // A follower we have not heard from lately is probably down: do not stream a snapshot at it.
  if (pr === undefined || !pr.recentActive) return false;
  const snap = r.log.snapshot();
  if (snap.meta.index === 0) return false;
  for (const m of snapshotChunks(snap, r.cfg.snapshotChunkBytes, r.id, to, r.term)) r.send(m);
  pr.becomeSnapshot(snap.meta.index);
  r.logger.debug({ to, index: snap.meta.index, bytes: snap.data.byteLength }, "raft sent snapshot");
  return true;
}

/** Sends as many appends to `to` as its progress allows (pipelining while replicating). */
export function sendAppendsWhileAllowed(r: Raft, to: number): void {
  while (sendAppend(r, to, false)) {
    const pr = r.trk.progress.get(to);
    if (pr === undefined || pr.state !== "replicate") break;
  }
}

export function sendHeartbeats(r: Raft, context: Uint8Array): void {
  for (const [id, pr] of r.trk.progress) {
    if (id === r.id) continue;
    // Never tell a follower a commit index beyond what it is known to hold.
    const commit = Math.min(pr.match, r.log.committed);
    r.send({ type: "heartbeat", from: r.id, to: id, term: r.term, commit, context });
  }
}
