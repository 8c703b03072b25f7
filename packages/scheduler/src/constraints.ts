import { ShoalError } from "@shoal/base";
import { attributeValue, KEY_PATTERN, type NodeAttribute, parseAttribute } from "./attributes.js";
import { SchedulerErrorCode } from "./errors.js";
import { type Cidr, cidrContains, hostOfAddr, ipEquals, parseCidr, parseIp } from "./ip.js";
import { normalizeArch } from "./platform.js";
import type { SchedulerNode } from "./types.js";

export interface Constraint {
  /** The expression as written, for messages. */
  text: string;
  key: string;
  attribute: NodeAttribute;
  operator: "==" | "!=";
  /** Lower-cased (values compare case-insensitively); architecture aliases normalized. */
  value: string;
  /** For `node.ip`: the address or network to compare with. */
  ip?: { kind: "exact"; address: Uint8Array } | { kind: "cidr"; cidr: Cidr };
}

function invalid(text: string, why: string, hint?: string): ShoalError {
  return new ShoalError(SchedulerErrorCode.InvalidConstraint, `constraint "${text}" ${why}`, {
    hint: hint ?? 'write constraints as "<key> == <value>" or "<key> != <value>"',
    details: { constraint: text },
  });
}

/**
 * Parses one Swarm constraint expression. Keys: node.id, node.hostname, node.role,
 * node.platform.os, node.platform.arch, node.ip (an address or a CIDR), node.labels.<k>,
 * engine.labels.<k>. @shoal/proto's validation parses the same language (see
 * constraint-language.test.ts, which runs both parsers over one table); change them together.
 */
export function parseConstraint(text: string): Constraint {
  const eq = text.indexOf("==");
  const ne = text.indexOf("!=");
  let at: number;
  let operator: "==" | "!=";
  if (eq >= 0 && (ne < 0 || eq < ne)) {
    at = eq;
    operator = "==";
  } else if (ne >= 0) {
    at = ne;
    operator = "!=";
  } else {
    throw invalid(text, "has no operator (expected == or !=)");
  }
  const key = text.slice(0, at).trim();
  const rawValue = text.slice(at + 2).trim();
  if (rawValue.includes("==") || rawValue.includes("!=")) throw invalid(text, "has more than one operator");
  if (!KEY_PATTERN.test(key)) throw invalid(text, `has an invalid key "${key}"`);
  const attribute = parseAttribute(key);
  if (attribute === undefined) {
    throw invalid(
      text,
      `has an unknown key "${key}"`,
      "known keys: node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.ip, node.labels.<key>, engine.labels.<key>",
    );
  }
  // Swarm refuses empty values: a missing label still equals "" when matching (so `!= x` holds).
  if (rawValue === "") throw invalid(text, "has an empty value");
  const value = attribute.kind === "arch" ? normalizeArch(rawValue) : rawValue.toLowerCase();
  if (attribute.kind === "role" && value !== "manager" && value !== "worker") {
    throw invalid(text, `compares node.role with "${rawValue}"`, "node.role is manager or worker");
  }
  const constraint: Constraint = { text, key, attribute, operator, value };
  if (attribute.kind === "ip") {
    const cidr = parseCidr(rawValue);
    if (cidr !== undefined) {
      constraint.ip = { kind: "cidr", cidr };
    } else {
      const address = parseIp(rawValue);
      if (address === undefined) {
        throw invalid(text, `has value "${rawValue}" which is neither an IP address nor a CIDR network`);
      }
      constraint.ip = { kind: "exact", address };
    }
  }
  return constraint;
}

/** Parses every expression; throws the first error (a ShoalError with code SCHEDULER_INVALID_CONSTRAINT). */
export function parseConstraints(texts: readonly string[]): Constraint[] {
  return texts.map(parseConstraint);
}

function matchesOne(c: Constraint, node: SchedulerNode): boolean {
  if (c.ip !== undefined) {
    const address = parseIp(hostOfAddr(node.addr));
    // A node whose address we cannot read is not in any network and equals no address.
    let inside = false;
    if (address !== undefined) {
      inside = c.ip.kind === "exact" ? ipEquals(c.ip.address, address) : cidrContains(c.ip.cidr, address);
    }
    return c.operator === "==" ? inside : !inside;
  }
  const actual = attributeValue(node, c.attribute) ?? "";
  const equal = actual.toLowerCase() === c.value;
  return c.operator === "==" ? equal : !equal;
}

/** True when the node satisfies every constraint (all must hold, as in Swarm). */
export function nodeMatchesConstraints(constraints: readonly Constraint[], node: SchedulerNode): boolean {
  for (const c of constraints) if (!matchesOne(c, node)) return false;
  return true;
}
