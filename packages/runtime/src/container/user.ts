import { ShoalError } from "@shoal/base";
import { ContainerErrorCode } from "./errors.js";

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups: every group in /etc/group that lists the user by name. */
  additionalGids: number[];
  /** The user's home from /etc/passwd, for HOME; "/" when unknown. */
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length < 4) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0] ?? "", uid, gid, home: f[5] || "/" });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const f = line.split(":");
    if (f.length < 3) continue;
    const gid = Number(f[2]);
    if (!Number.isInteger(gid)) continue;
    const members = (f[3] ?? "")
      .split(",")
      .map((m) => m.trim())
      .filter((m) => m !== "");
    out.push({ name: f[0] ?? "", gid, members });
  }
  return out;
}

const NUMERIC = /^\d+$/;

/** Docker's `--group-add`: names must exist in the image's /etc/group, numbers need not. */
export function resolveGroups(names: readonly string[], groupText: string | undefined): number[] {
  const groups = parseGroup(groupText ?? "");
  return names.map((name) => {
    if (NUMERIC.test(name)) return Number(name);
    const g = groups.find((x) => x.name === name);
    if (g === undefined) {
      throw new ShoalError(
        ContainerErrorCode.UserNotFound,
        `group "${name}" not found in the image's /etc/group`,
        {
          hint: "use a numeric gid or a group the image defines",
        },
      );
    }
    return g.gid;
  });
}

/**
 * Resolves a Docker-style user string against the image's /etc/passwd and /etc/group contents
 * (either may be absent). Numeric ids need no entry, as in Docker; names must exist.
 */
export function resolveUser(
  user: string,
  passwdText: string | undefined,
  groupText: string | undefined,
): ResolvedUser {
  const passwd = parsePasswd(passwdText ?? "");
  const groups = parseGroup(groupText ?? "");
  const [userPart = "", groupPart] = user === "" ? ["0"] : user.split(":", 2);
  let entry: PasswdEntry | undefined;
  let uid: number;
  if (NUMERIC.test(userPart)) {
    uid = Number(userPart);
    entry = passwd.find((p) => p.uid === uid);
  } else {
    entry = passwd.find((p) => p.name === userPart);
    if (entry === undefined) {
      throw new ShoalError(
        ContainerErrorCode.UserNotFound,
        `user "${userPart}" not found in the image's /etc/passwd`,
        {
          hint: "use a numeric uid or a user the image defines",
        },
      );
    }
    uid = entry.uid;
  }
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== "") {
    if (NUMERIC.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (g === undefined) {
        throw new ShoalError(
          ContainerErrorCode.UserNotFound,
          `group "${groupPart}" not found in the image's /etc/group`,
          {
            hint: "use a numeric gid or a group the image defines",
          },
        );
      }
      gid = g.gid;
    }
  }
  // Supplementary groups only come with a named user and no explicit group, as Docker does.
  const additionalGids =
    entry !== undefined && groupPart === undefined
      ? groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid)
      : [];
  return { uid, gid, additionalGids: [...new Set(additionalGids)], home: entry?.home ?? "/" };
}
