// Quorum safety of membership changes (swarmkit's CanRemoveMember, etcd's isConnectedToQuorum):
// a manager may leave the voters — by `leave`, `demote` or `remove` — only if the voters left
// behind still have a reachable majority, or the cluster would stop accepting writes. Pure: the
// caller says who is a voter and who is reachable (the leader's view of its followers).

/** One manager as the leader sees it. */
export interface ManagerMember {
  nodeId: string;
  /** What people call it (hostname or node name); quoted in messages. */
  name: string;
  /** Counts for quorum (a learner does not). */
  voter: boolean;
  /** The leader heard from it recently (the leader itself is reachable). */
  reachable: boolean;
}

export type MembershipChange = "leave" | "demote" | "remove";

export type QuorumCheck =
  | { kind: "safe" }
  /** Refused unless forced; `message` says why, `hint` what to do. */
  | { kind: "unsafe"; message: string; hint: string; reachableAfter: number; votersBefore: number };

const quorumOf = (voters: number) => Math.floor(voters / 2) + 1;

function subject(change: MembershipChange, name: string): string {
  if (change === "demote") return `demoting node "${name}"`;
  if (change === "remove") return `removing node "${name}"`;
  return `node "${name}" leaving the cluster`;
}

/**
 * Whether taking `nodeId` out of the voters keeps a reachable majority among the voters that
 * remain. A node that is not a voter (a learner, a worker) never endangers quorum.
 */
export function checkQuorumSafety(
  members: readonly ManagerMember[],
  nodeId: string,
  change: MembershipChange,
): QuorumCheck {
  const target = members.find((m) => m.nodeId === nodeId);
  if (target === undefined || !target.voter) return { kind: "safe" };
  const voters = members.filter((m) => m.voter);
  const after = voters.filter((m) => m.nodeId !== nodeId);
  const reachableAfter = after.filter((m) => m.reachable).length;
  const what = subject(change, target.name);
  if (after.length === 0) {
    return {
      kind: "unsafe",
      message: `${what} would leave the cluster without managers`,
      hint: "promote another node first; to dissolve the cluster, leave with --force",
      reachableAfter: 0,
      votersBefore: voters.length,
    };
  }
  if (reachableAfter >= quorumOf(after.length)) return { kind: "safe" };
  const unreachable = after.filter((m) => !m.reachable).map((m) => `"${m.name}"`);
  return {
    kind: "unsafe",
    message: `${what} would leave ${reachableAfter} of ${voters.length} managers reachable; the cluster would lose quorum`,
    hint: `bring back the unreachable managers (${unreachable.join(", ")}) first, or repeat with --force`,
    reachableAfter,
    votersBefore: voters.length,
  };
}
