import { describe, expect, it } from "vitest";
import { checkHistory, type Operation } from "./linearizability.js";

function op(kind: Operation["kind"], call: number, ret: number, value: string, client = 1): Operation {
  return {
    client,
    kind,
    key: "k",
    input: kind === "get" ? "" : value,
    output: kind === "get" ? value : "",
    call,
    ret,
  };
}

describe("linearizability checker", () => {
  it("accepts a sequential history", () => {
    expect(
      checkHistory([
        op("put", 0, 1, "a"),
        op("get", 2, 3, "a"),
        op("append", 4, 5, "b"),
        op("get", 6, 7, "ab"),
      ]).ok,
    ).toBe(true);
  });

  it("accepts concurrent operations that can be ordered", () => {
    expect(checkHistory([op("put", 0, 10, "a", 1), op("get", 1, 2, "a", 2), op("get", 3, 4, "", 3)]).ok).toBe(
      false,
    );
    expect(checkHistory([op("put", 0, 10, "a", 1), op("get", 1, 2, "", 2), op("get", 3, 4, "a", 3)]).ok).toBe(
      true,
    );
  });

  it("rejects a stale read after a completed write", () => {
    expect(checkHistory([op("put", 0, 1, "a"), op("put", 2, 3, "b"), op("get", 4, 5, "a", 2)]).ok).toBe(
      false,
    );
  });

  it("lets an operation with an unknown outcome take effect or not", () => {
    const lost = op("put", 0, Number.POSITIVE_INFINITY, "x", 1);
    expect(checkHistory([lost, op("get", 5, 6, "", 2)]).ok).toBe(true);
    expect(checkHistory([lost, op("get", 5, 6, "x", 2)]).ok).toBe(true);
    expect(checkHistory([lost, op("get", 5, 6, "x", 2), op("get", 7, 8, "", 2)]).ok).toBe(false);
  });

  it("checks keys independently", () => {
    const a: Operation = { ...op("put", 0, 1, "1"), key: "a" };
    const b: Operation = { ...op("get", 2, 3, "1"), key: "b" };
    const r = checkHistory([a, b]);
    expect(r.ok).toBe(false);
    expect(r.key).toBe("b");
  });

  it("finds the order among many overlapping appends", () => {
    const ops: Operation[] = [];
    for (let i = 0; i < 7; i++) ops.push(op("append", i, 100 + i, String.fromCharCode(97 + i), i));
    ops.push(op("get", 200, 201, "bacdefg", 99));
    expect(checkHistory(ops).ok).toBe(true);
    ops.push(op("get", 202, 203, "abcdefg", 98));
    expect(checkHistory(ops).ok).toBe(false);
  });
});
