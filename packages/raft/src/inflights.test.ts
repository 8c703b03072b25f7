import { describe, expect, it } from "vitest";
import { Inflights } from "./inflights.js";

describe("Inflights", () => {
  it("fills up to its capacity and never overwrites a slot", () => {
    const f = new Inflights(3);
    f.add(10, 1);
    f.add(20, 1);
    expect(f.full()).toBe(false);
    f.add(30, 1);
    expect(f.full()).toBe(true);
    f.add(40, 1); // ignored: callers check full() first
    expect(f.size()).toBe(3);
    f.freeLE(30);
    expect(f.size()).toBe(0);
  });

  it("frees every message whose last index is at or below the acknowledged one", () => {
    const f = new Inflights(4);
    for (const i of [5, 7, 9, 11]) f.add(i, 1);
    f.freeLE(8);
    expect(f.size()).toBe(2);
    f.freeLE(6); // a stale ack frees nothing more
    expect(f.size()).toBe(2);
    f.freeFirstOne();
    expect(f.size()).toBe(1);
    f.freeLE(100);
    expect(f.size()).toBe(0);
    f.freeFirstOne(); // empty: nothing to free
    expect(f.size()).toBe(0);
  });

  it("wraps around the ring in order", () => {
    const f = new Inflights(3);
    let next = 1;
    for (let round = 0; round < 10; round++) {
      while (!f.full()) f.add(next++, 1);
      f.freeLE(next - 3); // ack the oldest one
      expect(f.size()).toBe(2);
    }
    f.freeLE(next - 2);
    expect(f.size()).toBe(1);
  });

  it("is also full once the bytes in flight reach maxBytes", () => {
    const f = new Inflights(10, 100);
    f.add(1, 60);
    expect(f.full()).toBe(false);
    f.add(2, 40);
    expect(f.full()).toBe(true);
    f.freeLE(1);
    expect(f.full()).toBe(false);
    f.reset();
    expect(f.size()).toBe(0);
    expect(f.full()).toBe(false);
  });
});
