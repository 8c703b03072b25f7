/**
 * ReadIndex bookkeeping on the leader (Raft dissertation §6.4): each read records the commit
 * index when it arrived and is released once a quorum has answered a heartbeat carrying its
 * context — proof that no newer leader existed at that moment.
 */
export interface ReadRequest {
  index: number;
  /** Node that asked (the leader itself for local reads). */
  from: number;
  context: Uint8Array;
  acks: Set<number>;
}

export function contextKey(context: Uint8Array): string {
  return Buffer.from(context.buffer, context.byteOffset, context.byteLength).toString("base64");
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadRequest>();
  private queue: string[] = [];

  add(index: number, from: number, context: Uint8Array): void {
    const key = contextKey(context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, from, context, acks: new Set() });
    this.queue.push(key);
  }

  /** Records `id`'s heartbeat answer for `context`; returns how many voters have acked it. */
  recvAck(id: number, context: Uint8Array, isVoter: (id: number) => boolean): number {
    const req = this.pending.get(contextKey(context));
    if (req === undefined) return 0;
    req.acks.add(id);
    // Learners answer heartbeats too, but only voters can vouch that no newer leader exists.
    let n = 0;
    for (const a of req.acks) if (isVoter(a)) n++;
    return n;
  }

  /** Releases the request for `context` and every request queued before it. */
  advance(context: Uint8Array): ReadRequest[] {
    const key = contextKey(context);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const released = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: ReadRequest[] = [];
    for (const k of released) {
      const req = this.pending.get(k);
      if (req !== undefined) out.push(req);
      this.pending.delete(k);
    }
    return out;
  }

  /** Context of the newest pending read (heartbeats carry it so one round confirms all). */
  lastPendingContext(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)?.context;
  }

  reset(): void {
    this.pending.clear();
    this.queue = [];
  }
}
