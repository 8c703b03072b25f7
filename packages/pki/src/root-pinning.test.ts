import { describe, expect, it } from "vitest";
import { PkiErrorCode } from "./errors.js";
import { generateJoinToken } from "./join-token.js";
import { RootCa } from "./root-ca.js";
import { assertRootMatchesToken, verifyRootAgainstToken } from "./root-pinning.js";

describe("verifyRootAgainstToken", async () => {
  const real = await RootCa.create({ clusterId: "c1", nowMs: 0 });
  const impostor = await RootCa.create({ clusterId: "c1", nowMs: 0 });
  const token = generateJoinToken(real.digest);

  it("trusts the root whose digest the token carries", () => {
    expect(verifyRootAgainstToken(token, real.certPem)).toEqual({
      kind: "trusted",
      rootCertPem: real.certPem,
    });
  });

  it("trusts it whatever its PEM line endings (the digest is of the DER)", () => {
    expect(verifyRootAgainstToken(token, real.certPem.replaceAll("\n", "\r\n")).kind).toBe("trusted");
  });

  it("refuses another root, even with the same subject, warning of a man in the middle", () => {
    const result = verifyRootAgainstToken(token, impostor.certPem);
    expect(result).toEqual({
      kind: "refused",
      message: `the manager's root certificate has digest "${impostor.digest}" but the join token expects "${real.digest}"; a man in the middle may be present, or the token belongs to another cluster`,
    });
    expect(() => assertRootMatchesToken(token, impostor.certPem)).toThrow(
      expect.objectContaining({ code: PkiErrorCode.RootMismatch }),
    );
  });

  it("refuses a presented root that is not a certificate", () => {
    const result = verifyRootAgainstToken(token, "hello");
    expect(result.kind).toBe("refused");
    expect(result.kind === "refused" && result.message).toContain("a man in the middle may be present");
  });

  it("throws on a malformed token rather than pinning nothing", () => {
    expect(() => verifyRootAgainstToken("SHTKN-1-x-y", real.certPem)).toThrow(
      expect.objectContaining({ code: PkiErrorCode.InvalidToken }),
    );
  });
});
