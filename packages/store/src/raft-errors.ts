import { ShoalError } from "@shoal/base";
import { NodeErrorCode } from "@shoal/raft/node";
import { StoreErrorCode } from "./errors.js";

/** Maps a raft driver failure (or a forwarding failure) to the store's codes, keeping the cause. */
export function toStoreError(err: unknown, memberId: number): ShoalError {
  if (err instanceof ShoalError && err.code.startsWith("STORE_")) return err;
  const leader = err instanceof ShoalError ? (err.details.leader as number | undefined) : undefined;
  const details = { leader: leader ?? 0, member: memberId };
  const code = err instanceof ShoalError ? err.code : undefined;
  switch (code) {
    case NodeErrorCode.NotLeader:
    case NodeErrorCode.ReadTimeout:
      return new ShoalError(
        StoreErrorCode.NoLeader,
        leader
          ? `store member ${memberId} is not the leader (leader is member ${leader})`
          : "store has no leader",
        {
          cause: err,
          hint: leader ? `retry on member ${leader}` : "retry once a leader is elected",
          details,
        },
      );
    case NodeErrorCode.ProposalDropped:
    case NodeErrorCode.EntryReplaced:
    case NodeErrorCode.EmptyProposal:
      return new ShoalError(
        StoreErrorCode.ProposalDropped,
        `store proposal was dropped by raft (${(err as Error).message})`,
        {
          cause: err,
          hint: "nothing was applied; retry",
          details,
        },
      );
    case NodeErrorCode.Stopped:
      return new ShoalError(
        StoreErrorCode.Closed,
        `store member ${memberId} stopped before the proposal finished`,
        {
          cause: err,
          hint: "the outcome is unknown: read back before retrying",
          details,
        },
      );
    default:
      return new ShoalError(
        StoreErrorCode.OutcomeUnknown,
        `store proposal outcome is unknown (${err instanceof Error ? err.message : String(err)})`,
        { cause: err, hint: "the entry may still be applied: read back before retrying", details },
      );
  }
}
