import { createHash } from "node:crypto";
import { ShoalError } from "@shoal/base";
import { ImageErrorCode } from "./errors.js";

// Only sha256: it is what every registry and the OCI spec require; sha512 is allowed by the spec
// but no registry we target produces it, and accepting it would widen what "verified" means.
const SHA256 = /^sha256:[a-f0-9]{64}$/;

export function isDigest(value: string): boolean {
  return SHA256.test(value);
}

/** The hex part of a validated digest; throws on anything else (digests become file names). */
export function digestHex(digest: string): string {
  if (!SHA256.test(digest)) {
    throw new ShoalError(ImageErrorCode.InvalidManifest, `digest "${digest}" is not a sha256 digest`);
  }
  return digest.slice("sha256:".length);
}

export function sha256Digest(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function digestMismatch(what: string, expected: string, actual: string): ShoalError {
  return new ShoalError(
    ImageErrorCode.DigestMismatch,
    `${what} has digest "${actual}", expected "${expected}"`,
    {
      details: { expected, actual },
    },
  );
}
