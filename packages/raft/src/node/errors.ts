/** Error codes of the RaftNode driver. Each line says when the error happens. */
export const NodeErrorCode = {
  /** propose()/readIndex() on a node that is not the leader; `details.leader` is the hint (0 = unknown). */
  NotLeader: "RAFT_NOT_LEADER",
  /** The core refused the proposal (no leader, transfer in progress, uncommitted-size cap, conf change pending). */
  ProposalDropped: "RAFT_PROPOSAL_DROPPED",
  /**
   * The node lost leadership after appending the proposal and before applying it: the entry may
   * still be committed by the next leader. Retry only idempotent requests.
   */
  LeadershipLost: "RAFT_LEADERSHIP_LOST",
  /** The proposal's log slot was taken by an entry of another term: it will never be applied. */
  EntryReplaced: "RAFT_ENTRY_REPLACED",
  /** A snapshot from the leader replaced the log past the proposal before it was seen applied. */
  OutcomeUnknown: "RAFT_OUTCOME_UNKNOWN",
  /** A linearizable read did not get a read index in time (no leader, or no quorum). */
  ReadTimeout: "RAFT_READ_TIMEOUT",
  /** run() was called a second time (a RaftNode runs once; make a new one to restart). */
  AlreadyRunning: "RAFT_NODE_ALREADY_RUNNING",
  /** The node stopped (or failed) before the request finished. */
  Stopped: "RAFT_NODE_STOPPED",
  /** An empty proposal: empty normal entries are reserved for the leader's no-op at term start. */
  EmptyProposal: "RAFT_EMPTY_PROPOSAL",
} as const;
export type NodeErrorCode = (typeof NodeErrorCode)[keyof typeof NodeErrorCode];
