import { describe, expect, it } from "vitest";
import { resolveGroups, resolveUser } from "./user.js";

const passwd = `root:x:0:0:root:/root:/bin/sh
# comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
app:x:1000:1000:App:/home/app:/bin/sh
`;
const group = `root:x:0:
daemon:x:1:
app:x:1000:
audio:x:29:app,daemon
video:x:44:app
`;

describe("resolveUser", () => {
  it("is root when empty", () => {
    expect(resolveUser("", passwd, group)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: "/root" });
  });

  it("resolves a name with its primary and supplementary groups", () => {
    expect(resolveUser("app", passwd, group)).toEqual({
      uid: 1000,
      gid: 1000,
      additionalGids: [29, 44],
      home: "/home/app",
    });
  });

  it("takes an explicit group by name or number and then adds no supplementary groups", () => {
    expect(resolveUser("app:audio", passwd, group)).toMatchObject({ uid: 1000, gid: 29, additionalGids: [] });
    expect(resolveUser("daemon:7", passwd, group)).toMatchObject({ uid: 1, gid: 7 });
  });

  it("accepts numeric ids the files do not list", () => {
    expect(resolveUser("4242:4343", passwd, group)).toEqual({
      uid: 4242,
      gid: 4343,
      additionalGids: [],
      home: "/",
    });
    expect(resolveUser("4242", undefined, undefined)).toMatchObject({ uid: 4242, gid: 0 });
  });

  it("rejects unknown names with the name and the file", () => {
    expect(() => resolveUser("nobody", passwd, group)).toThrowError(
      `user "nobody" not found in the image's /etc/passwd`,
    );
    expect(() => resolveUser("app:wheel", passwd, group)).toThrowError(
      `group "wheel" not found in the image's /etc/group`,
    );
  });
});

describe("resolveGroups", () => {
  it("maps names through /etc/group and keeps numbers", () => {
    expect(resolveGroups(["audio", "4000"], group)).toEqual([29, 4000]);
    expect(() => resolveGroups(["wheel"], group)).toThrowError(
      `group "wheel" not found in the image's /etc/group`,
    );
  });
});
