import type { Message } from "../types.js";
import { estimateWireBytes } from "./wire.js";

/**
 * Merges `next` into `prev` (both queued for the same peer, `prev` first) when one message can
 * say what both say, so a backlog of small messages shrinks into few large ones:
 *
 * - two appends where `next` continues exactly where `prev` ends (same leader and term) become
 *   one append with both entry runs and the newer commit index;
 * - two accepting append responses (same term) become the later one: acks are cumulative, the
 *   higher index says everything the lower one did.
 *
 * Returns undefined when they must stay separate (rejections, heartbeats with read contexts,
 * votes, snapshot chunks, or a merge that would pass `maxBytes`).
 */
export function coalesce(prev: Message, next: Message, maxBytes: number): Message | undefined {
  if (prev.to !== next.to || prev.from !== next.from || prev.term !== next.term) return undefined;
  if (prev.type === "app" && next.type === "app") {
    const last = prev.entries[prev.entries.length - 1];
    const lastIndex = last === undefined ? prev.index : last.index;
    const lastTerm = last === undefined ? prev.logTerm : last.term;
    if (next.index !== lastIndex || next.logTerm !== lastTerm) return undefined;
    if (estimateWireBytes(prev) + estimateWireBytes(next) > maxBytes) return undefined;
    return {
      ...prev,
      entries: next.entries.length === 0 ? prev.entries : [...prev.entries, ...next.entries],
      commit: Math.max(prev.commit, next.commit),
    };
  }
  if (prev.type === "appResp" && next.type === "appResp" && !prev.reject && !next.reject) {
    return next.index >= prev.index ? next : prev;
  }
  return undefined;
}
