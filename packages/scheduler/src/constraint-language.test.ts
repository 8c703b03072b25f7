// One constraint language, one parser: @shoal/proto's `parseConstraint` decides what a user may
// submit and what placement understands; this package only compiles what it accepted (attribute,
// lower-cased value, address bytes). The table and property check that compiling never refuses or
// breaks on a text the parser accepted (a spec that passed validation but could not be placed
// would sit unplaced forever with "invalid placement"), and refuses with the parser's reason
// otherwise.

import { ShoalError } from "@shoal/base";
import { isSpreadKey, parseConstraint as validateConstraint } from "@shoal/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compileConstraint } from "./constraints.js";
import { SchedulerErrorCode } from "./errors.js";
import { parseSpreadDescriptor } from "./preferences.js";

function schedulerAccepts(text: string): boolean {
  try {
    compileConstraint(text);
    return true;
  } catch (err) {
    // Only a refusal with the parser's reason counts; an invariant error fails the test.
    if (ShoalError.is(err, SchedulerErrorCode.InvalidConstraint)) return false;
    throw err;
  }
}

function spreadAccepted(descriptor: string): boolean {
  try {
    parseSpreadDescriptor(descriptor);
    return true;
  } catch {
    return false;
  }
}

const CONSTRAINTS: readonly [string, boolean][] = [
  ["node.id==abc", true],
  ["node.id == abc", true],
  ["  node.hostname  !=  web-1  ", true],
  ["node.role==manager", true],
  ["node.role == Worker", true],
  ["node.role==leader", false],
  ["node.platform.os==linux", true],
  ["node.platform.arch==x86_64", true],
  ["node.labels.zone==eu-1", true],
  ["node.labels.Zone!=EU-1", true],
  ["node.labels.a_b-c.d==x", true],
  ["engine.labels.kernel==6.1", true],
  ["node.ip==10.0.0.1", true],
  ["node.ip==10.0.0.0/8", true],
  ["node.ip!=2001:db8::/32", true],
  ["node.ip==::ffff:10.0.0.1", true],
  ["node.ip==0.0.0.0/0", true],
  ["node.ip==10.0.0.01", false],
  ["node.ip==10.0.0.0/33", false],
  ["node.ip==2001:db8::/129", false],
  ["node.ip==fe80::1%eth0", false],
  ["node.ip==:::", false],
  ["node.ip==10.0.0.1/", false],
  ["node.ip==host-1", false],
  ["node.labels.zone==", false],
  ["node.labels.zone!=", false],
  ["node.labels.==x", false],
  ["node.labels==x", false],
  ["node.labels.a b==x", false],
  ["node.labels.a/b==x", false],
  ["Node.Role==manager", false],
  ["node.colour==red", false],
  ["==x", false],
  ["node.id=abc", false],
  ["node.id", false],
  ["", false],
  ["node.id==a==b", false],
  ["node.id==a!=b", false],
  ["node.id!==a", true],
  ["node.hostname==a\nb", true],
  ["node.labels.x\n==a", true],
];

const SPREADS: readonly [string, boolean][] = [
  ["node.labels.zone", true],
  ["engine.labels.rack", true],
  ["node.hostname", true],
  ["node.role", true],
  ["node.platform.os", true],
  ["node.platform.arch", true],
  ["node.id", false],
  ["node.ip", false],
  ["node.labels.", false],
  ["node.labels.a b", false],
  [" node.labels.zone", false],
  ["spread=node.labels.zone", false],
  ["zone", false],
  ["", false],
];

describe("placement compiles exactly what validation accepts", () => {
  it.each(CONSTRAINTS)("%j accepted: %s", (text, accepted) => {
    const validation = validateConstraint(text);
    expect({ validation: validation.ok, scheduler: schedulerAccepts(text) }).toEqual({
      validation: accepted,
      scheduler: accepted,
    });
  });

  it.each(SPREADS)("spread over %j accepted: %s", (descriptor, accepted) => {
    expect({ validation: isSpreadKey(descriptor), scheduler: spreadAccepted(descriptor) }).toEqual({
      validation: accepted,
      scheduler: accepted,
    });
  });

  it("both parsers agree on expressions assembled from the language's pieces", () => {
    const key = fc.constantFrom(
      "node.id",
      "node.hostname",
      "node.role",
      "node.platform.os",
      "node.platform.arch",
      "node.ip",
      "node.labels.zone",
      "engine.labels.k",
      "node.labels.",
      "node.zone",
      "node.labels.a b",
      "",
    );
    const operator = fc.constantFrom("==", "!=", "=", "!==", "===", "<>", "");
    const value = fc.oneof(
      fc.constantFrom(
        "manager",
        "WORKER",
        "leader",
        "10.0.0.1",
        "10.0.0.0/8",
        "10.0.0.0/33",
        "010.0.0.1",
        "2001:db8::1",
        "2001:db8::/64",
        "::ffff:1.2.3.4",
        "fe80::1%eth0",
        "eu-1",
        "",
        "a==b",
      ),
      fc.string({ maxLength: 6 }),
    );
    const space = fc.constantFrom("", " ", "  ", "\t");
    fc.assert(
      fc.property(space, key, space, operator, space, value, space, (s1, k, s2, op, s3, v, s4) => {
        const text = `${s1}${k}${s2}${op}${s3}${v}${s4}`;
        expect({ text, ok: schedulerAccepts(text) }).toEqual({ text, ok: validateConstraint(text).ok });
      }),
      { numRuns: 2000 },
    );
  });
});
