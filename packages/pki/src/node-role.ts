import { ShoalError } from "@shoal/base";
import { PkiErrorCode } from "./errors.js";

/** The role a node certificate grants; it is the certificate's OU. */
export const NodeRole = { Manager: "manager", Worker: "worker" } as const;
export type NodeRole = (typeof NodeRole)[keyof typeof NodeRole];

export function isNodeRole(value: unknown): value is NodeRole {
  return value === NodeRole.Manager || value === NodeRole.Worker;
}

/**
 * Node and cluster ids go into certificate subjects and DNS SANs, so they are held to DNS-label
 * characters (what `newId` makes, plus "-" for hand-picked test names).
 */
const SUBJECT_ID = /^[0-9a-z](?:[0-9a-z-]{0,62}[0-9a-z])?$/;

export function assertSubjectId(value: string, what: "node id" | "cluster id"): void {
  if (typeof value !== "string" || !SUBJECT_ID.test(value)) {
    throw new ShoalError(
      PkiErrorCode.InvalidSubject,
      `${what} "${String(value)}" is not 1 to 64 characters of [0-9a-z-] starting and ending with a letter or digit`,
    );
  }
}

export function assertNodeRole(value: unknown): asserts value is NodeRole {
  if (!isNodeRole(value)) {
    throw new ShoalError(
      PkiErrorCode.InvalidSubject,
      `node role "${String(value)}" is not "manager" or "worker"`,
    );
  }
}

/**
 * The DNS name every certificate of a role carries. Clients check a manager by this name (and by
 * the subject), since managers are dialled by addresses that need not be in their certificate.
 */
export function roleDnsName(role: NodeRole): string {
  return `shoal-${role}`;
}
