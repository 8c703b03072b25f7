import type { Random } from "@shoal/base";

/**
 * ReadIndex contexts of one process incarnation: `<id>/<nonce>/<seq>`. The leader keys pending
 * reads by context and answers a repeated context with the earlier request's index, so a context
 * must never recur — not even after a restart, when the sequence starts over. The nonce is drawn
 * once per RaftNode from its Random (pass each incarnation its own, as systemRandom does).
 */
export class ReadContexts {
  private readonly prefix: string;
  private seq = 0;

  constructor(id: number, random: Random) {
    const nonce = `${random.int(2 ** 32).toString(36)}${random.int(2 ** 32).toString(36)}`;
    this.prefix = `${id}/${nonce}/`;
  }

  next(): Uint8Array {
    return new TextEncoder().encode(`${this.prefix}${++this.seq}`);
  }

  /** Whether `context` was made by this incarnation (answers to any other request are ignored). */
  owns(context: Uint8Array): boolean {
    return Buffer.from(context).toString("utf8").startsWith(this.prefix);
  }
}
