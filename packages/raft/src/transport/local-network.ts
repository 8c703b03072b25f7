import type { Message } from "../types.js";
import type { Transport, TransportHandler } from "./transport.js";

/**
 * An in-process network for tests of the driver: each member gets a Transport; messages are
 * deep-copied (no shared buffers between members, as over a wire) and delivered on a later turn
 * of the event loop. Links can be cut to simulate partitions and crashed members.
 */
export class LocalNetwork {
  private readonly handlers = new Map<number, TransportHandler>();
  private readonly cut = new Set<string>();
  private readonly down = new Set<number>();
  /** Messages delivered so far (for assertions). */
  delivered = 0;

  /** The transport of member `id`. */
  transport(id: number): Transport {
    return {
      attach: (handler) => {
        this.handlers.set(id, handler);
      },
      detach: () => {
        this.handlers.delete(id);
      },
      send: (messages) => {
        for (const m of messages) this.deliver(id, m);
      },
    };
  }

  /** Cuts (or restores) both directions between `a` and `b`. */
  setLink(a: number, b: number, up: boolean): void {
    for (const key of [`${a}>${b}`, `${b}>${a}`]) {
      if (up) this.cut.delete(key);
      else this.cut.add(key);
    }
  }

  /** Cuts `id` off from everyone (or reconnects it). */
  isolate(id: number, isolated = true): void {
    if (isolated) this.down.add(id);
    else this.down.delete(id);
  }

  private deliver(from: number, m: Message): void {
    const copy = structuredClone(m);
    setImmediate(() => {
      if (this.down.has(from) || this.down.has(m.to) || this.cut.has(`${from}>${m.to}`)) {
        this.handlers.get(from)?.reportUnreachable(m.to);
        return;
      }
      const h = this.handlers.get(m.to);
      if (h === undefined) {
        this.handlers.get(from)?.reportUnreachable(m.to);
        return;
      }
      this.delivered++;
      h.receive(copy);
      if (m.type === "snap" && m.done) this.handlers.get(from)?.reportSnapshot(m.to, true);
    });
  }
}
