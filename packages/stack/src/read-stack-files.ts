import { ShoalError } from "@shoal/base";
import type { StackFileObject, StackPlan } from "./convert.js";
import { StackErrorCode } from "./errors.js";
import type { LookupEnv } from "./interpolate.js";

/** Reads file content as bytes; undefined when it is missing or unreadable. */
export type ReadBytes = (absolutePath: string) => Uint8Array | undefined;

/**
 * Fills the data of the stack's own secrets and configs, at deploy time (as docker/cli does):
 * from `file`, from an environment variable, or from inline `content`. Every missing source is
 * reported together; nothing is returned half-filled.
 */
export function readStackFiles(plan: StackPlan, readBytes: ReadBytes, lookup: LookupEnv): StackPlan {
  const problems: string[] = [];
  const fill = <T extends { data: Uint8Array }>(
    kind: string,
    objects: StackFileObject<T>[],
  ): StackFileObject<T>[] =>
    objects.map((o) => {
      if (o.external) return o;
      let data: Uint8Array | undefined;
      if (o.file !== undefined) {
        data = readBytes(o.file);
        if (data === undefined)
          problems.push(`${kind} ${JSON.stringify(o.key)}: cannot read file ${JSON.stringify(o.file)}`);
      } else if (o.environment !== undefined) {
        const v = lookup(o.environment);
        if (v === undefined)
          problems.push(`${kind} ${JSON.stringify(o.key)}: environment variable ${o.environment} is not set`);
        else data = new TextEncoder().encode(v);
      } else if (o.content !== undefined) {
        data = new TextEncoder().encode(o.content);
      } else {
        problems.push(`${kind} ${JSON.stringify(o.key)}: has no file:, environment: or content:`);
      }
      return data === undefined ? o : { ...o, spec: { ...o.spec, data } };
    });
  const secrets = fill("secret", plan.secrets);
  const configs = fill("config", plan.configs);
  if (problems.length > 0) {
    throw new ShoalError(
      StackErrorCode.ReferencedFileUnreadable,
      problems.length === 1
        ? problems[0]!
        : `${problems.length} secrets/configs cannot be read:\n  ${problems.join("\n  ")}`,
      { details: { problems } },
    );
  }
  return { ...plan, secrets, configs };
}
