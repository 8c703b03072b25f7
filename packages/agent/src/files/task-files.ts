import { posix } from "node:path";
import { ShoalError } from "@shoal/base";
import type { Config, FileTarget, Secret, Task } from "@shoal/proto";
import { AgentErrorCode } from "../errors.js";
import type { TaskFile } from "../executor/engine.js";

/** Where a secret with a relative target goes, as in Docker. */
const SECRETS_DIR = "/run/secrets";
/** FileTarget.mode 0 means this. */
const DEFAULT_MODE = 0o444;

/** The secrets and configs the node holds, by id. */
export interface FileLookup {
  secret(id: string, name: string): Secret | undefined;
  config(id: string, name: string): Config | undefined;
}

/**
 * The files a task's container gets (pure): each secret at `/run/secrets/<target>` (or its absolute
 * target), each config at `/<target>` (or its absolute target), with the reference's uid, gid and
 * mode. `missing` names the references the node does not hold (yet). A target outside the rules
 * (`..`, a non-numeric owner, a mode beyond 0o777) is `AGENT_INVALID_TASK` naming the reference.
 */
export function taskFiles(task: Task, lookup: FileLookup): { files: TaskFile[]; missing: string[] } {
  const c = task.spec?.container;
  const files: TaskFile[] = [];
  const missing: string[] = [];
  for (const [i, ref] of (c?.secrets ?? []).entries()) {
    const where = `secrets[${i}] "${ref.secretName}"`;
    const secret = lookup.secret(ref.secretId, ref.secretName);
    if (secret === undefined) missing.push(`secret "${ref.secretName || ref.secretId}"`);
    else files.push(file(where, SECRETS_DIR, ref.file, ref.secretName, secret.spec?.data));
  }
  for (const [i, ref] of (c?.configs ?? []).entries()) {
    const where = `configs[${i}] "${ref.configName}"`;
    const config = lookup.config(ref.configId, ref.configName);
    if (config === undefined) missing.push(`config "${ref.configName || ref.configId}"`);
    else files.push(file(where, "/", ref.file, ref.configName, config.spec?.data));
  }
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.target)) throw invalid(`file target "${f.target}" is used by two secrets or configs`);
    seen.add(f.target);
  }
  return { files, missing };
}

function file(
  where: string,
  base: string,
  target: FileTarget | undefined,
  name: string,
  data: Uint8Array | undefined,
): TaskFile {
  const given = target?.name || name;
  if (given === "" || given.split("/").includes("..")) throw invalid(`${where} has target "${given}"`);
  const path = posix.normalize(posix.isAbsolute(given) ? given : posix.join(base, given));
  if (path === "/") throw invalid(`${where} has target "${given}"`);
  const mode = target?.mode || DEFAULT_MODE;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777)
    throw invalid(`${where} has mode ${mode.toString(8)}, not within 0-0777`);
  return {
    target: path,
    data: data ?? new Uint8Array(),
    uid: numericId(where, "uid", target?.uid ?? ""),
    gid: numericId(where, "gid", target?.gid ?? ""),
    mode,
  };
}

function numericId(where: string, which: string, value: string): number {
  if (value === "") return 0;
  if (!/^\d{1,10}$/.test(value) || Number(value) > 0xfffffffe)
    throw invalid(`${where} has ${which} "${value}", not a number`);
  return Number(value);
}

function invalid(message: string): ShoalError {
  return new ShoalError(AgentErrorCode.InvalidTask, message, {
    hint: "fix the service's secret or config reference",
  });
}
