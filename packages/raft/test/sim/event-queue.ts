/** A min-heap of timed callbacks; ties run in scheduling order so runs are deterministic. */
interface Event {
  at: number;
  seq: number;
  run: () => void;
}

export class EventQueue {
  private heap: Event[] = [];
  private seq = 0;
  now = 0;

  schedule(delayMs: number, run: () => void): void {
    this.push({ at: this.now + Math.max(0, delayMs), seq: this.seq++, run });
  }

  /** Runs events up to and including time `until`; returns the number run. */
  runUntil(until: number, shouldStop: () => boolean = () => false): number {
    let n = 0;
    while (this.heap.length > 0 && (this.heap[0] as Event).at <= until) {
      const e = this.pop();
      this.now = e.at;
      e.run();
      n++;
      if (shouldStop()) return n;
    }
    if (this.now < until) this.now = until;
    return n;
  }

  /** Removes and returns the earliest event due by `until` (time moves to it), if any. */
  popDue(until: number): { at: number; run: () => void } | undefined {
    if (this.heap.length === 0 || (this.heap[0] as Event).at > until) return undefined;
    const e = this.pop();
    this.now = e.at;
    return e;
  }

  get size(): number {
    return this.heap.length;
  }

  private less(a: Event, b: Event): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(e: Event): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i] as Event, h[p] as Event)) break;
      [h[i], h[p]] = [h[p] as Event, h[i] as Event];
      i = p;
    }
  }

  private pop(): Event {
    const h = this.heap;
    const top = h[0] as Event;
    const last = h.pop() as Event;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l] as Event, h[m] as Event)) m = l;
        if (r < h.length && this.less(h[r] as Event, h[m] as Event)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as Event, h[i] as Event];
        i = m;
      }
    }
    return top;
  }
}
