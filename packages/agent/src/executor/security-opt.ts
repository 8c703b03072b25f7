import { ShoalError } from "@shoal/base";
import { AgentErrorCode } from "../errors.js";

/** What a task's `security_opt` entries ask of its container. */
export interface SecurityOptions {
  /** "unconfined" or the absolute path of a profile file on the node; absent = the default profile. */
  seccompProfile?: string;
  noNewPrivileges?: boolean;
  /** Entries accepted but not applied (AppArmor, SELinux labels), with why, for the task's log. */
  ignored: string[];
}

/**
 * Docker's `--security-opt` strings (`key=value`, or `key:value` as older Docker wrote them).
 * Pure. An entry this node cannot honour and that would change what the container may do
 * (an unknown key, a relative profile path) is `AGENT_INVALID_TASK` naming the entry, so the task
 * is rejected instead of running with less isolation than asked, or more.
 */
export function parseSecurityOpt(entries: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { ignored: [] };
  for (const [i, entry] of entries.entries()) {
    const where = `security_opt[${i}] "${entry}"`;
    const sep = /[=:]/.exec(entry);
    const key = sep === null ? entry : entry.slice(0, sep.index);
    const value = sep === null ? undefined : entry.slice(sep.index + 1);
    switch (key) {
      case "seccomp":
        if (value === undefined || value === "")
          throw bad(where, 'give "seccomp=unconfined" or "seccomp=<absolute path of a profile on the node>"');
        if (value === "unconfined" || value === "default") {
          if (value === "unconfined") out.seccompProfile = value;
          else delete out.seccompProfile;
        } else if (value.startsWith("/")) out.seccompProfile = value;
        else throw bad(where, "a seccomp profile is named by its absolute path on the node");
        break;
      case "no-new-privileges":
        if (value === undefined || value === "" || value === "true") out.noNewPrivileges = true;
        else if (value === "false") out.noNewPrivileges = false;
        else throw bad(where, 'give "no-new-privileges", "no-new-privileges=true" or "=false"');
        break;
      case "apparmor":
        out.ignored.push(`${where}: ignored, nodes run no AppArmor profiles for containers`);
        break;
      case "label":
        out.ignored.push(`${where}: ignored, nodes run no SELinux labels for containers`);
        break;
      default:
        throw bad(where, 'known keys are "seccomp", "no-new-privileges", "apparmor" and "label"');
    }
  }
  return out;
}

function bad(where: string, hint: string): ShoalError {
  return new ShoalError(AgentErrorCode.InvalidTask, `${where} cannot be applied`, { hint });
}
