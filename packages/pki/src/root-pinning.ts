import { ShoalError } from "@shoal/base";
import { PkiErrorCode } from "./errors.js";
import { parseJoinToken, rootDigestOf } from "./join-token.js";

export type RootPinResult = { kind: "trusted"; rootCertPem: string } | { kind: "refused"; message: string };

/**
 * The joining node's trust decision. It fetched the root certificate over a connection it could
 * not yet verify, so that certificate is believed only if its digest is the one in the token the
 * operator copied from a real manager. Every later connection is then verified against this root,
 * which is what ties the join to the real cluster.
 */
export function verifyRootAgainstToken(token: string, presentedRootPem: string): RootPinResult {
  const expected = parseJoinToken(token).rootDigest;
  let actual: string;
  try {
    actual = rootDigestOf(presentedRootPem);
  } catch (err) {
    return {
      kind: "refused",
      message: `the manager presented a root certificate that cannot be read (${(err as Error).message}); a man in the middle may be present`,
    };
  }
  if (actual !== expected) {
    return {
      kind: "refused",
      message: `the manager's root certificate has digest "${actual}" but the join token expects "${expected}"; a man in the middle may be present, or the token belongs to another cluster`,
    };
  }
  return { kind: "trusted", rootCertPem: presentedRootPem };
}

/** `verifyRootAgainstToken` for callers that stop on refusal: throws PKI_ROOT_MISMATCH. */
export function assertRootMatchesToken(token: string, presentedRootPem: string): string {
  const result = verifyRootAgainstToken(token, presentedRootPem);
  if (result.kind === "refused") {
    throw new ShoalError(PkiErrorCode.RootMismatch, result.message, {
      hint: "check the manager address, and copy the join token again from a manager you trust",
    });
  }
  return result.rootCertPem;
}
