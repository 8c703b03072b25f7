import { randomBytes as systemRandomBytes, timingSafeEqual } from "node:crypto";
import { ShoalError } from "@shoal/base";
import { certificateSha256, parseCertificatePem } from "./certificate.js";
import { PkiErrorCode } from "./errors.js";
import type { NodeRole } from "./node-role.js";

/** Join tokens look like Swarm's: `SHTKN-1-<root digest>-<secret>`. */
export const JOIN_TOKEN_PREFIX = "SHTKN";
export const JOIN_TOKEN_VERSION = "1";
/** A SHA-256 digest in base 36 is at most 50 characters; shorter values are left-padded with "0". */
export const ROOT_DIGEST_LENGTH = 50;
/** The secret is 128 random bits in base 36, left-padded to 25 characters (the length of an id). */
export const JOIN_SECRET_LENGTH = 25;
const JOIN_SECRET_BYTES = 16;

/** Source of the secret's bits; tokens are credentials, so production uses the OS's CSPRNG. */
export type RandomBytes = (size: number) => Uint8Array;

export interface JoinToken {
  /** Base-36 SHA-256 of the root certificate's DER: what the joining node pins. */
  rootDigest: string;
  secret: string;
}

/** The digest of a root certificate as it appears in join tokens. */
export function rootDigestOf(rootCertPem: string): string {
  const digest = certificateSha256(parseCertificatePem(rootCertPem, "root certificate"));
  return toBase36(digest, ROOT_DIGEST_LENGTH);
}

export function formatJoinToken(token: JoinToken): string {
  return `${JOIN_TOKEN_PREFIX}-${JOIN_TOKEN_VERSION}-${token.rootDigest}-${token.secret}`;
}

/** A new token for the given root digest with a fresh secret. */
export function generateJoinToken(rootDigest: string, randomBytes: RandomBytes = systemRandomBytes): string {
  assertBase36(rootDigest, ROOT_DIGEST_LENGTH, "root digest");
  const secret = toBase36(randomBytes(JOIN_SECRET_BYTES), JOIN_SECRET_LENGTH);
  return formatJoinToken({ rootDigest, secret });
}

/** Rotation keeps the root digest and replaces the secret; the old token stops working. */
export function rotateJoinToken(token: string, randomBytes: RandomBytes = systemRandomBytes): string {
  return generateJoinToken(parseJoinToken(token).rootDigest, randomBytes);
}

/**
 * Parses a token, naming the part that is wrong. The token itself never appears in the message:
 * messages get logged and shown, and a token is a credential.
 */
export function parseJoinToken(text: string): JoinToken {
  if (typeof text !== "string" || text.length === 0) {
    throw invalid("join token is empty");
  }
  const parts = text.trim().split("-");
  if (parts[0] !== JOIN_TOKEN_PREFIX) {
    throw invalid(`join token does not start with "${JOIN_TOKEN_PREFIX}-"`);
  }
  if (parts.length !== 4) {
    throw invalid(
      `join token has ${parts.length} dash-separated parts, expected 4 (${JOIN_TOKEN_PREFIX}-${JOIN_TOKEN_VERSION}-<root digest>-<secret>)`,
    );
  }
  const [, version, rootDigest, secret] = parts as [string, string, string, string];
  if (version !== JOIN_TOKEN_VERSION) {
    throw invalid(`join token version "${version}" is not supported, expected "${JOIN_TOKEN_VERSION}"`);
  }
  assertBase36(rootDigest, ROOT_DIGEST_LENGTH, "join token root digest");
  assertBase36(secret, JOIN_SECRET_LENGTH, "join token secret");
  return { rootDigest, secret };
}

/** The two tokens a cluster keeps. */
export interface JoinTokens {
  worker: string;
  manager: string;
}

export function generateJoinTokens(
  rootDigest: string,
  randomBytes: RandomBytes = systemRandomBytes,
): JoinTokens {
  return {
    worker: generateJoinToken(rootDigest, randomBytes),
    manager: generateJoinToken(rootDigest, randomBytes),
  };
}

export type JoinTokenMatch = { kind: "accepted"; role: NodeRole } | { kind: "refused"; reason: string };

/**
 * Which role a presented token grants, compared in constant time against both current tokens so
 * that timing tells an attacker nothing about how many characters matched, or which token did.
 */
export function matchJoinToken(presented: string, current: JoinTokens): JoinTokenMatch {
  let parsed: JoinToken;
  try {
    parsed = parseJoinToken(presented);
  } catch (err) {
    return { kind: "refused", reason: (err as Error).message };
  }
  const worker = parseJoinToken(current.worker);
  const manager = parseJoinToken(current.manager);
  if (parsed.rootDigest !== worker.rootDigest) {
    return { kind: "refused", reason: "join token was made for a different root CA than this cluster's" };
  }
  const isWorker = secretsEqual(parsed.secret, worker.secret);
  const isManager = secretsEqual(parsed.secret, manager.secret);
  if (isManager) return { kind: "accepted", role: "manager" };
  if (isWorker) return { kind: "accepted", role: "worker" };
  return { kind: "refused", reason: "join token is not valid; it may have been rotated" };
}

/** Constant-time comparison of two secrets (lengths are public: every secret has the same one). */
export function secretsEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

function toBase36(bytes: Uint8Array, length: number): string {
  const value = BigInt(`0x${Buffer.from(bytes).toString("hex") || "0"}`);
  return value.toString(36).padStart(length, "0");
}

function assertBase36(value: string, length: number, what: string): void {
  if (value.length !== length) {
    throw invalid(`${what} is ${value.length} characters long, expected ${length}`);
  }
  if (!/^[0-9a-z]+$/.test(value)) {
    throw invalid(`${what} has characters outside [0-9a-z]`);
  }
}

function invalid(message: string): ShoalError {
  return new ShoalError(PkiErrorCode.InvalidToken, message, {
    hint: "copy the token again from `shoal cluster join-token worker|manager` on a manager",
  });
}
