import { ShoalError } from "@shoal/base";
import { Task } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { AgentErrorCode } from "../errors.js";
import { AssignedFiles } from "./assigned-files.js";
import { taskFiles } from "./task-files.js";

const held = new AssignedFiles();
held.replace(
  [{ id: "s1", meta: undefined, spec: { name: "db", labels: {}, data: Buffer.from("pw") } }],
  [{ id: "c1", meta: undefined, spec: { name: "conf", labels: {}, data: Buffer.from("x=1") } }],
);

const withRefs = (secrets: object[], configs: object[] = []) =>
  Task.fromPartial({ id: "t", spec: { container: { image: "i", secrets, configs } } });

describe("taskFiles", () => {
  it("puts relative secret targets under /run/secrets and config targets under /, with owner and mode", () => {
    const { files, missing } = taskFiles(
      withRefs(
        [{ secretId: "s1", secretName: "db", file: { name: "db", uid: "1000", gid: "", mode: 0o400 } }],
        [
          { configId: "c1", configName: "conf", file: { name: "app.conf", uid: "", gid: "", mode: 0 } },
          { configId: "", configName: "conf", file: { name: "/etc/x/conf", uid: "", gid: "7", mode: 0o640 } },
        ],
      ),
      held,
    );
    expect(missing).toEqual([]);
    expect(files.map(({ data, ...f }) => ({ ...f, data: Buffer.from(data).toString() }))).toEqual([
      { target: "/run/secrets/db", uid: 1000, gid: 0, mode: 0o400, data: "pw" },
      { target: "/app.conf", uid: 0, gid: 0, mode: 0o444, data: "x=1" },
      { target: "/etc/x/conf", uid: 0, gid: 7, mode: 0o640, data: "x=1" },
    ]);
  });

  it("names what the node does not hold", () => {
    const { missing } = taskFiles(
      withRefs([{ secretId: "s9", secretName: "other", file: { name: "other" } }]),
      held,
    );
    expect(missing).toEqual(['secret "other"']);
  });

  it("refuses targets with .., non-numeric owners, bad modes and a target used twice", () => {
    const bad = [
      withRefs([{ secretId: "s1", secretName: "db", file: { name: "../etc/shadow" } }]),
      withRefs([{ secretId: "s1", secretName: "db", file: { name: "db", uid: "root" } }]),
      withRefs([{ secretId: "s1", secretName: "db", file: { name: "db", mode: 0o4755 } }]),
      withRefs(
        [{ secretId: "s1", secretName: "db", file: { name: "/etc/a" } }],
        [{ configId: "c1", configName: "conf", file: { name: "/etc/a" } }],
      ),
    ];
    for (const t of bad) {
      let err: unknown;
      try {
        taskFiles(t, held);
      } catch (e) {
        err = e;
      }
      expect(ShoalError.is(err, AgentErrorCode.InvalidTask), String(err)).toBe(true);
    }
  });
});

describe("AssignedFiles", () => {
  it("waits for a missing reference until the first complete set, then fails naming it", async () => {
    const files = new AssignedFiles();
    const t = withRefs([{ secretId: "s1", secretName: "db", file: { name: "db" } }]);
    const pending = files.forTask(t, new AbortController().signal);
    files.putSecret({ id: "s1", meta: undefined, spec: { name: "db", labels: {}, data: Buffer.from("pw") } });
    expect((await pending).map((f) => f.target)).toEqual(["/run/secrets/db"]);
    files.replace([], []);
    await expect(files.forTask(t, new AbortController().signal)).rejects.toMatchObject({
      code: AgentErrorCode.FilesMissing,
      message: 'secret "db" not given to this node',
    });
    expect(files.heldIds()).toEqual({ secrets: [], configs: [] });
  });
});
