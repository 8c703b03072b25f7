/**
 * Per-node rank keys, compared lexicographically: `primary`, then `secondary` (which carries the
 * tie-break in its low bits). Keys live in flat arrays (one slot per node) so a comparison is at
 * most four array reads, no call.
 */
export interface RankKeys {
  primary: Float64Array;
  secondary: Float64Array;
}

/**
 * A binary min-heap of node indices ordered by RankKeys. The scheduler only ever looks at the best
 * node, changes its keys, and sifts it down: O(log n) per placed task instead of re-sorting the
 * nodes for every task.
 */
export class RankHeap {
  private readonly items: Int32Array;
  private readonly primary: Float64Array;
  private readonly secondary: Float64Array;
  size = 0;

  constructor(capacity: number, keys: RankKeys) {
    this.items = new Int32Array(Math.max(1, capacity));
    this.primary = keys.primary;
    this.secondary = keys.secondary;
  }

  /** Appends without ordering; call `heapify` once after the last push. */
  push(item: number): void {
    this.items[this.size++] = item;
  }

  heapify(): void {
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  top(): number {
    return this.items[0];
  }

  pop(): void {
    this.size--;
    if (this.size > 0) {
      this.items[0] = this.items[this.size];
      this.siftDown(0);
    }
  }

  /** Restores order after the top item's keys changed (worse under spread; binpack may make them better, which keeps it on top). */
  topChanged(): void {
    this.siftDown(0);
  }

  private less(a: number, b: number): boolean {
    const pa = this.primary[a];
    const pb = this.primary[b];
    if (pa !== pb) return pa < pb;
    return this.secondary[a] < this.secondary[b];
  }

  private siftDown(start: number): void {
    const items = this.items;
    const size = this.size;
    let i = start;
    const item = items[i];
    for (;;) {
      const left = 2 * i + 1;
      if (left >= size) break;
      const right = left + 1;
      let best = left;
      if (right < size && this.less(items[right], items[left])) best = right;
      if (!this.less(items[best], item)) break;
      items[i] = items[best];
      i = best;
    }
    items[i] = item;
  }
}

/** The same for objects (preference-tree branches; there are few of them). */
export class ObjectHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push(item);
  }

  heapify(): void {
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  top(): T {
    return this.items[0];
  }

  pop(): void {
    const last = this.items.pop() as T;
    if (this.items.length > 0) {
      this.items[0] = last;
      this.siftDown(0);
    }
  }

  topChanged(): void {
    this.siftDown(0);
  }

  private siftDown(start: number): void {
    const items = this.items;
    const size = items.length;
    let i = start;
    const item = items[i];
    for (;;) {
      const left = 2 * i + 1;
      if (left >= size) break;
      const right = left + 1;
      let best = left;
      if (right < size && this.less(items[right], items[left])) best = right;
      if (!this.less(items[best], item)) break;
      items[i] = items[best];
      i = best;
    }
    items[i] = item;
  }
}
