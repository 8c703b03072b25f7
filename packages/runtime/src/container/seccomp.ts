import { readFile } from "node:fs/promises";
import { posix } from "node:path";
import { ShoalError } from "@shoal/base";
import { ContainerErrorCode } from "./errors.js";

/**
 * Seccomp profiles in Docker's JSON form (`security_opt: seccomp=<file>`), and their resolution
 * into the OCI `linux.seccomp` section for one container, as moby's `seccomp.setupSeccomp` does:
 * rules whose `includes`/`excludes` do not fit the container's capabilities or the node's
 * architecture are dropped, and `archMap` becomes the list of architectures the filter covers.
 */

/** `ContainerSpec.seccompProfile` values besides a file path. */
export const SECCOMP_DEFAULT = "default";
export const SECCOMP_UNCONFINED = "unconfined";

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface SeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
  /** The rule applies only when the container holds every one of `caps` and the node is one of `arches`. */
  includes?: { caps?: string[]; arches?: string[] };
  /** The rule is dropped when the container holds any of `caps` or the node is one of `arches`. */
  excludes?: { caps?: string[]; arches?: string[] };
}

export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  /** Native architecture → the compat ones a process may also enter (x86 and x32 on amd64). */
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  /** Used instead of `archMap` when given (the older profile form). */
  architectures?: string[];
  syscalls: SeccompRule[];
}

/** What runc reads from config.json. */
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: { names: string[]; action: string; errnoRet?: number; args?: SeccompArg[] }[];
}

const ACTIONS = new Set([
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_LOG",
]);
const OPS = new Set([
  "SCMP_CMP_NE",
  "SCMP_CMP_LT",
  "SCMP_CMP_LE",
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_MASKED_EQ",
]);

/** Node's `process.arch` → the Go names profiles use in `includes.arches`, and the native seccomp arch. */
const NODE_ARCH: Record<string, { goArch: string; scmp: string }> = {
  x64: { goArch: "amd64", scmp: "SCMP_ARCH_X86_64" },
  arm64: { goArch: "arm64", scmp: "SCMP_ARCH_AARCH64" },
  arm: { goArch: "arm", scmp: "SCMP_ARCH_ARM" },
  ia32: { goArch: "x86", scmp: "SCMP_ARCH_X86" },
};

export interface SeccompTarget {
  /** The container's capabilities (bounding set), e.g. "CAP_SYS_ADMIN". */
  capabilities: readonly string[];
  /** Node's `process.arch`. */
  arch: string;
}

/** The profile as runc takes it for one container. Pure. */
export function resolveSeccomp(profile: SeccompProfile, target: SeccompTarget): OciSeccomp {
  const arch = NODE_ARCH[target.arch] ?? { goArch: target.arch, scmp: "" };
  const caps = new Set(target.capabilities);
  let architectures: string[];
  if (profile.architectures !== undefined) architectures = [...profile.architectures];
  else {
    const entry = profile.archMap?.find((a) => a.architecture === arch.scmp);
    architectures = entry === undefined ? [] : [entry.architecture, ...(entry.subArchitectures ?? [])];
  }
  const syscalls: OciSeccomp["syscalls"] = [];
  for (const rule of profile.syscalls) {
    const inc = rule.includes;
    if (inc?.caps !== undefined && !inc.caps.every((c) => caps.has(c))) continue;
    if (inc?.arches !== undefined && !inc.arches.includes(arch.goArch)) continue;
    const exc = rule.excludes;
    if (exc?.caps?.some((c) => caps.has(c))) continue;
    if (exc?.arches?.includes(arch.goArch)) continue;
    const out: OciSeccomp["syscalls"][number] = { names: rule.names, action: rule.action };
    if (rule.errnoRet !== undefined) out.errnoRet = rule.errnoRet;
    if (rule.args !== undefined && rule.args.length > 0) out.args = rule.args;
    syscalls.push(out);
  }
  const oci: OciSeccomp = { defaultAction: profile.defaultAction, architectures, syscalls };
  if (profile.defaultErrnoRet !== undefined) oci.defaultErrnoRet = profile.defaultErrnoRet;
  return oci;
}

function bad(path: string, why: string): ShoalError {
  return new ShoalError(ContainerErrorCode.SeccompProfileInvalid, `seccomp profile "${path}" ${why}`, {
    hint: 'give a Docker-format JSON profile, or "default" / "unconfined"',
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === "string");
}

function checkAction(path: string, where: string, action: unknown): string {
  if (typeof action !== "string" || !ACTIONS.has(action))
    throw bad(path, `has an unknown action "${String(action)}" at ${where}`);
  return action;
}

/** Checks a Docker-format profile; `path` only names it in errors. */
export function parseSeccompProfile(text: string, path: string): SeccompProfile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw bad(path, `is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw bad(path, "is not a JSON object");
  const profile: SeccompProfile = {
    defaultAction: checkAction(path, "defaultAction", doc.defaultAction),
    syscalls: [],
  };
  if (doc.defaultErrnoRet !== undefined) {
    if (!Number.isInteger(doc.defaultErrnoRet)) throw bad(path, "has a non-integer defaultErrnoRet");
    profile.defaultErrnoRet = doc.defaultErrnoRet as number;
  }
  if (doc.architectures !== undefined) {
    if (!stringList(doc.architectures)) throw bad(path, "has architectures that are not a list of strings");
    profile.architectures = doc.architectures;
  }
  if (doc.archMap !== undefined) {
    if (!Array.isArray(doc.archMap)) throw bad(path, "has an archMap that is not a list");
    profile.archMap = doc.archMap.map((a, i) => {
      if (!isObject(a) || typeof a.architecture !== "string")
        throw bad(path, `has archMap[${i}] without an architecture`);
      const subs = a.subArchitectures ?? [];
      if (!stringList(subs)) throw bad(path, `has archMap[${i}].subArchitectures that are not strings`);
      return { architecture: a.architecture, subArchitectures: subs };
    });
  }
  const calls = doc.syscalls ?? [];
  if (!Array.isArray(calls)) throw bad(path, "has syscalls that are not a list");
  calls.forEach((c: unknown, i: number) => {
    const where = `syscalls[${i}]`;
    if (!isObject(c)) throw bad(path, `has ${where} that is not an object`);
    // Old profiles name one syscall per rule in `name`.
    const names = c.names ?? (typeof c.name === "string" ? [c.name] : undefined);
    if (!stringList(names) || names.length === 0) throw bad(path, `has ${where} without names`);
    const rule: SeccompRule = { names, action: checkAction(path, `${where}.action`, c.action) };
    if (c.errnoRet !== undefined) {
      if (!Number.isInteger(c.errnoRet)) throw bad(path, `has a non-integer ${where}.errnoRet`);
      rule.errnoRet = c.errnoRet as number;
    }
    if (c.args !== undefined && c.args !== null) {
      if (!Array.isArray(c.args)) throw bad(path, `has ${where}.args that are not a list`);
      rule.args = c.args.map((a: unknown, j: number) => {
        if (!isObject(a)) throw bad(path, `has ${where}.args[${j}] that is not an object`);
        const { index, value, valueTwo, op } = a;
        if (!Number.isInteger(index) || !Number.isInteger(value))
          throw bad(path, `has ${where}.args[${j}] without an integer index and value`);
        if (typeof op !== "string" || !OPS.has(op))
          throw bad(path, `has an unknown operator "${String(op)}" at ${where}.args[${j}]`);
        const arg: SeccompArg = { index: index as number, value: value as number, op };
        if (valueTwo !== undefined) arg.valueTwo = valueTwo as number;
        return arg;
      });
    }
    for (const key of ["includes", "excludes"] as const) {
      const f = c[key];
      if (f === undefined) continue;
      if (!isObject(f)) throw bad(path, `has ${where}.${key} that is not an object`);
      const out: { caps?: string[]; arches?: string[] } = {};
      if (f.caps !== undefined) {
        if (!stringList(f.caps)) throw bad(path, `has ${where}.${key}.caps that are not strings`);
        out.caps = f.caps;
      }
      if (f.arches !== undefined) {
        if (!stringList(f.arches)) throw bad(path, `has ${where}.${key}.arches that are not strings`);
        out.arches = f.arches;
      }
      rule[key] = out;
    }
    profile.syscalls.push(rule);
  });
  return profile;
}

/** Reads and checks a profile file named by a spec's `seccompProfile`. */
export async function loadSeccompProfile(path: string): Promise<SeccompProfile> {
  if (!posix.isAbsolute(path)) throw bad(path, "is not an absolute path");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw bad(path, `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseSeccompProfile(text, path);
}
