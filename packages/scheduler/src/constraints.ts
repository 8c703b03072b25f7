import { ShoalError } from "@shoal/base";
import { parseConstraint } from "@shoal/proto";
import { attributeValue, type NodeAttribute, parseAttribute } from "./attributes.js";
import { SchedulerErrorCode } from "./errors.js";
import { type Cidr, cidrContains, hostOfAddr, ipEquals, parseCidr, parseIp } from "./ip.js";
import { normalizeArch } from "./platform.js";
import type { SchedulerNode } from "./types.js";

/**
 * A constraint ready for matching: the key resolved to a node attribute, the value lower-cased
 * (values compare case-insensitively) and, for `node.ip`, the address or network as bytes.
 * Which texts are constraints is decided by @shoal/proto's `parseConstraint` alone — the one
 * parser of the language, which spec validation uses too — so a spec that passed validation
 * always compiles here.
 */
export interface CompiledConstraint {
  /** The expression as written, for messages. */
  text: string;
  key: string;
  attribute: NodeAttribute;
  operator: "==" | "!=";
  /** Lower-cased; architecture aliases normalized. */
  value: string;
  /** For `node.ip`: the address or network to compare with. */
  ip?: { kind: "exact"; address: Uint8Array } | { kind: "cidr"; cidr: Cidr };
}

function invalid(text: string, why: string): ShoalError {
  return new ShoalError(SchedulerErrorCode.InvalidConstraint, `constraint ${why}`, {
    hint: 'write constraints as "<key> == <value>" or "<key> != <value>"',
    details: { constraint: text },
  });
}

/**
 * Parses one Swarm constraint expression with @shoal/proto's parser and resolves it for matching.
 * Throws ShoalError SCHEDULER_INVALID_CONSTRAINT with the parser's reason when it is not one.
 */
export function compileConstraint(text: string): CompiledConstraint {
  const parsed = parseConstraint(text);
  if (!parsed.ok) throw invalid(text, parsed.reason);
  const { key, operator, value: rawValue } = parsed.constraint;
  const attribute = parseAttribute(key);
  // The parser accepted the key, so it names an attribute: anything else is a bug in one of the two.
  if (attribute === undefined)
    throw new ShoalError(
      SchedulerErrorCode.Invariant,
      `constraint key "${key}" was accepted but names no attribute`,
    );
  const value = attribute.kind === "arch" ? normalizeArch(rawValue) : rawValue.toLowerCase();
  const constraint: CompiledConstraint = { text, key, attribute, operator, value };
  if (attribute.kind === "ip") {
    const cidr = parseCidr(rawValue);
    const address = cidr === undefined ? parseIp(rawValue) : undefined;
    if (cidr !== undefined) constraint.ip = { kind: "cidr", cidr };
    else if (address !== undefined) constraint.ip = { kind: "exact", address };
    else
      throw new ShoalError(
        SchedulerErrorCode.Invariant,
        `node.ip value "${rawValue}" was accepted but is no address`,
      );
  }
  return constraint;
}

/** Compiles every expression; throws the first error (ShoalError SCHEDULER_INVALID_CONSTRAINT). */
export function compileConstraints(texts: readonly string[]): CompiledConstraint[] {
  return texts.map(compileConstraint);
}

function matchesOne(c: CompiledConstraint, node: SchedulerNode): boolean {
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
export function nodeMatchesConstraints(
  constraints: readonly CompiledConstraint[],
  node: SchedulerNode,
): boolean {
  for (const c of constraints) if (!matchesOne(c, node)) return false;
  return true;
}
