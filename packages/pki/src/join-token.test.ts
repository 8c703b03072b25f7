import { describe, expect, it } from "vitest";
import { PkiErrorCode } from "./errors.js";
import {
  generateJoinToken,
  generateJoinTokens,
  JOIN_SECRET_LENGTH,
  matchJoinToken,
  parseJoinToken,
  ROOT_DIGEST_LENGTH,
  rootDigestOf,
  rotateJoinToken,
  secretsEqual,
} from "./join-token.js";
import { RootCa } from "./root-ca.js";

const DIGEST = "1".repeat(ROOT_DIGEST_LENGTH);

describe("join tokens", () => {
  it("have the form SHTKN-1-<50 base-36 digest>-<25 base-36 secret>", async () => {
    const root = await RootCa.create({ clusterId: "c1", nowMs: 0 });
    const token = generateJoinToken(root.digest);
    expect(token).toMatch(/^SHTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/);
    expect(parseJoinToken(token)).toEqual({
      rootDigest: rootDigestOf(root.certPem),
      secret: token.slice(-25),
    });
  });

  it("take the secret from the injected byte source, left-padded", () => {
    const token = generateJoinToken(DIGEST, (n) => new Uint8Array(n));
    expect(parseJoinToken(token).secret).toBe("0".repeat(JOIN_SECRET_LENGTH));
    const max = generateJoinToken(DIGEST, (n) => new Uint8Array(n).fill(0xff));
    expect(parseJoinToken(max).secret).toHaveLength(JOIN_SECRET_LENGTH);
  });

  it("rotate to a new secret for the same root", () => {
    const token = generateJoinToken(DIGEST);
    const rotated = rotateJoinToken(token);
    expect(parseJoinToken(rotated).rootDigest).toBe(DIGEST);
    expect(parseJoinToken(rotated).secret).not.toBe(parseJoinToken(token).secret);
  });

  const secret = "2".repeat(JOIN_SECRET_LENGTH);
  it.each([
    ["", "join token is empty"],
    [`SWMTKN-1-${DIGEST}-${secret}`, 'join token does not start with "SHTKN-"'],
    [`SHTKN-1-${DIGEST}`, "join token has 3 dash-separated parts, expected 4"],
    [`SHTKN-2-${DIGEST}-${secret}`, 'join token version "2" is not supported, expected "1"'],
    [`SHTKN-1-${DIGEST.slice(1)}-${secret}`, "join token root digest is 49 characters long, expected 50"],
    [`SHTKN-1-${DIGEST.slice(1)}Z-${secret}`, "join token root digest has characters outside [0-9a-z]"],
    [`SHTKN-1-${DIGEST}-${secret}0`, "join token secret is 26 characters long, expected 25"],
  ])("refuse %j: %s", (text, message) => {
    let caught: unknown;
    try {
      parseJoinToken(text);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({
      code: PkiErrorCode.InvalidToken,
      message: expect.stringContaining(message),
    });
    // The message never repeats the token: it is a credential and messages end up in logs.
    if (text.length > 0) expect((caught as Error).message).not.toContain(secret);
  });
});

describe("matchJoinToken", () => {
  const tokens = generateJoinTokens(DIGEST);

  it("tells the worker and the manager token apart", () => {
    expect(matchJoinToken(tokens.worker, tokens)).toEqual({ kind: "accepted", role: "worker" });
    expect(matchJoinToken(tokens.manager, tokens)).toEqual({ kind: "accepted", role: "manager" });
  });

  it("refuses a rotated-away token, one for another root, and garbage", () => {
    const rotated = { ...tokens, worker: rotateJoinToken(tokens.worker) };
    expect(matchJoinToken(tokens.worker, rotated)).toEqual({
      kind: "refused",
      reason: "join token is not valid; it may have been rotated",
    });
    const otherRoot = generateJoinToken("3".repeat(ROOT_DIGEST_LENGTH));
    expect(matchJoinToken(otherRoot, tokens)).toEqual({
      kind: "refused",
      reason: "join token was made for a different root CA than this cluster's",
    });
    expect(matchJoinToken("nonsense", tokens)).toMatchObject({ kind: "refused" });
  });

  it("compares secrets by value whatever their lengths", () => {
    expect(secretsEqual("abc", "abc")).toBe(true);
    expect(secretsEqual("abc", "abd")).toBe(false);
    expect(secretsEqual("abc", "abcd")).toBe(false);
  });
});
