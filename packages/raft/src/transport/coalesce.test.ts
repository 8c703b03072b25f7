import { describe, expect, it } from "vitest";
import type { AppMessage, AppRespMessage, Entry } from "../types.js";
import { coalesce } from "./coalesce.js";

const e = (index: number, term = 2): Entry => ({ index, term, type: "normal", data: new Uint8Array(10) });
const app = (index: number, logTerm: number, entries: Entry[], commit = 0): AppMessage => ({
  type: "app",
  from: 1,
  to: 2,
  term: 2,
  index,
  logTerm,
  entries,
  commit,
});
const ack = (index: number, reject = false): AppRespMessage => ({
  type: "appResp",
  from: 2,
  to: 1,
  term: 2,
  index,
  reject,
  rejectHint: 0,
  logTerm: 0,
});

describe("coalesce", () => {
  it("joins appends that continue each other and keeps the newer commit", () => {
    const m = coalesce(app(4, 1, [e(5), e(6)], 3), app(6, 2, [e(7)], 5), 1 << 20);
    expect(m).toEqual(app(4, 1, [e(5), e(6), e(7)], 5));
  });

  it("folds a commit-only append into the previous one", () => {
    expect(coalesce(app(4, 1, [e(5)], 3), app(5, 2, [], 5), 1 << 20)).toEqual(app(4, 1, [e(5)], 5));
  });

  it("keeps appends apart that do not continue each other, or would pass the size limit", () => {
    expect(coalesce(app(4, 1, [e(5)]), app(4, 1, [e(5)]), 1 << 20)).toBeUndefined();
    expect(coalesce(app(4, 1, [e(5, 2)]), app(5, 1, [e(6)]), 1 << 20)).toBeUndefined();
    expect(coalesce(app(4, 1, [e(5)]), app(5, 2, [e(6)]), 100)).toBeUndefined();
    expect(coalesce(app(4, 1, [e(5)]), { ...app(5, 2, [e(6)]), term: 3 }, 1 << 20)).toBeUndefined();
  });

  it("keeps only the highest accepting ack, never merges rejections", () => {
    expect(coalesce(ack(5), ack(9), 1 << 20)).toEqual(ack(9));
    expect(coalesce(ack(9), ack(5), 1 << 20)).toEqual(ack(9));
    expect(coalesce(ack(5), ack(9, true), 1 << 20)).toBeUndefined();
  });
});
