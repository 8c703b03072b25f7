import { ManualClock, ShoalError, seededRandom } from "@shoal/base";
import { Node, StoreSnapshot, TaskState } from "@shoal/proto";
import { describe, expect, it } from "vitest";
import { config, network, node, secret, service, task } from "../test/objects.js";
import { StoreErrorCode } from "./errors.js";
import { Store } from "./store.js";
import { slotKey } from "./tables/tasks.js";

function newStore(): Store {
  return new Store({ clock: new ManualClock(1000), random: seededRandom(1) });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ShoalError) return err.code;
    throw err;
  }
  return "resolved";
}

function codeOfSync(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ShoalError) return err.code;
    throw err;
  }
  return "returned";
}

async function seeded(): Promise<Store> {
  const s = newStore();
  await s.update((tx) => {
    tx.nodes.create(node("n1", { zone: "a" }));
    tx.nodes.create(node("n2", { zone: "b" }));
    tx.secrets.create(secret("sec1", "db-password"));
    tx.configs.create(config("cfg1", "nginx.conf"));
    tx.networks.create(network("net1", "front"));
    tx.services.create(
      service("svc1", "web", {
        secrets: ["sec1"],
        configs: ["cfg1"],
        networks: ["front"],
        labels: { tier: "web" },
      }),
    );
  });
  await s.update((tx) => {
    tx.tasks.create(task("t1", "svc1", 1, { nodeId: "n1", secrets: ["sec1"] }));
    tx.tasks.create(task("t2", "svc1", 2, { nodeId: "n2" }));
  });
  return s;
}

describe("tables and indexes", () => {
  it("stamps versions with the entry index and times with the proposer's clock", async () => {
    const s = await seeded();
    const t1 = s.view((tx) => tx.tasks.get("t1"))!;
    expect(t1.meta).toEqual({ version: 2, createdAtMs: 1000, updatedAtMs: 1000 });
    expect(s.applied).toBe(2);
  });

  it.each([
    ["serviceId", "svc1", ["t1", "t2"]],
    ["nodeId", "n2", ["t2"]],
    ["slot", slotKey("svc1", 1), ["t1"]],
    ["desiredState", String(TaskState.RUNNING), ["t1", "t2"]],
    ["taskState", String(TaskState.NEW), ["t1", "t2"]],
    ["secretId", "sec1", ["t1"]],
  ] as const)("finds tasks by %s %s", async (index, key, ids) => {
    const s = await seeded();
    expect(s.view((tx) => tx.tasks.find(index, key).map((t) => t.id))).toEqual(ids);
  });

  it("finds services by label, label value and references", async () => {
    const s = await seeded();
    const ids = (index: "label" | "labelValue" | "secretId" | "configId" | "networkId", key: string) =>
      s.view((tx) => tx.services.find(index, key).map((x) => x.id));
    expect(ids("label", "tier")).toEqual(["svc1"]);
    expect(ids("labelValue", "tier=web")).toEqual(["svc1"]);
    expect(ids("labelValue", "tier=db")).toEqual([]);
    expect(ids("secretId", "sec1")).toEqual(["svc1"]);
    expect(ids("configId", "cfg1")).toEqual(["svc1"]);
    expect(ids("networkId", "front")).toEqual(["svc1"]);
    expect(s.view((tx) => tx.nodes.find("labelValue", "zone=b").map((n) => n.id))).toEqual(["n2"]);
  });

  it("moves index entries when an object changes", async () => {
    const s = await seeded();
    await s.update((tx) => {
      const t = tx.tasks.get("t1")!;
      tx.tasks.update({ ...t, nodeId: "n2", status: { ...t.status!, state: TaskState.ASSIGNED } });
    });
    s.view((tx) => {
      expect(tx.tasks.find("nodeId", "n1")).toEqual([]);
      expect(tx.tasks.find("nodeId", "n2").map((t) => t.id)).toEqual(["t1", "t2"]);
      expect(tx.tasks.find("taskState", String(TaskState.ASSIGNED)).map((t) => t.id)).toEqual(["t1"]);
    });
  });

  it("resolves by id, name and unique prefix; an ambiguous prefix names the candidates", async () => {
    const s = newStore();
    await s.update((tx) => {
      tx.services.create(service("3fa1", "web"));
      tx.services.create(service("3fb2", "api"));
    });
    s.view((tx) => {
      expect(tx.services.resolve("3fa1").id).toBe("3fa1");
      expect(tx.services.resolve("api").id).toBe("3fb2");
      expect(tx.services.resolve("3fa").id).toBe("3fa1");
      expect(codeOfSync(() => tx.services.resolve("3f"))).toBe(StoreErrorCode.AmbiguousPrefix);
      expect(() => tx.services.resolve("3f")).toThrow(/3fa1, 3fb2/);
      expect(codeOfSync(() => tx.services.resolve("zz"))).toBe(StoreErrorCode.NotFound);
    });
  });

  it("resolves a node by hostname or spec name as docker does, refusing one that names several", async () => {
    const s = newStore();
    const withHost = (id: string, hostname: string, name = "") =>
      Node.fromPartial({ id, spec: { name }, description: { hostname } });
    await s.update((tx) => {
      tx.nodes.create(withHost("a1", "host1"));
      tx.nodes.create(withHost("b2", "host2", "edge"));
      tx.nodes.create(withHost("c3", "twin"));
      tx.nodes.create(withHost("d4", "twin"));
    });
    s.view((tx) => {
      expect(tx.nodes.resolve("host1").id).toBe("a1");
      expect(tx.nodes.resolve("host2").id).toBe("b2");
      expect(tx.nodes.resolve("edge").id).toBe("b2");
      expect(tx.nodes.resolve("d").id).toBe("d4");
      expect(codeOfSync(() => tx.nodes.resolve("twin"))).toBe(StoreErrorCode.AmbiguousPrefix);
      expect(() => tx.nodes.resolve("twin")).toThrow(/node name "twin" names 2: c3, d4/);
      expect(codeOfSync(() => tx.nodes.resolve("host3"))).toBe(StoreErrorCode.NotFound);
    });
    // Inside a transaction, its own writes count.
    await s.update((tx) => {
      tx.nodes.delete("d4");
      expect(tx.nodes.resolve("twin").id).toBe("c3");
    });
  });

  it("reads inside update see the transaction's own writes", async () => {
    const s = await seeded();
    await s.update((tx) => {
      tx.tasks.create(task("t3", "svc1", 3));
      tx.tasks.delete("t2");
      expect(tx.tasks.find("serviceId", "svc1").map((t) => t.id)).toEqual(["t1", "t3"]);
      expect(tx.tasks.count()).toBe(2);
      expect(tx.tasks.get("t2")).toBeUndefined();
    });
    expect(s.view((tx) => tx.tasks.list().map((t) => t.id))).toEqual(["t1", "t3"]);
  });
});

describe("list order", () => {
  it("lists in id order through creates, updates, deletes and re-creates (the kept order)", async () => {
    const s = await seeded();
    await s.update((tx) => {
      tx.tasks.delete("t1");
      tx.tasks.delete("t2");
    });
    const ids = () => s.view((tx) => tx.tasks.list().map((t) => t.id));
    await s.update((tx) => {
      for (const id of ["t5", "t1", "t3"]) tx.tasks.create(task(id, "svc1", 1));
    });
    expect(ids()).toEqual(["t1", "t3", "t5"]);
    await s.update((tx) => {
      for (const id of ["t4", "t0"]) tx.tasks.create(task(id, "svc1", 1));
      const t3 = tx.tasks.get("t3")!;
      tx.tasks.update({ ...t3, desiredState: TaskState.SHUTDOWN });
    });
    expect(ids()).toEqual(["t0", "t1", "t3", "t4", "t5"]);
    expect(s.view((tx) => tx.tasks.get("t3")?.desiredState)).toBe(TaskState.SHUTDOWN);
    expect(s.view((tx) => tx.tasks.list()[2]?.desiredState)).toBe(TaskState.SHUTDOWN);
    await s.update((tx) => tx.tasks.delete("t1"));
    expect(ids()).toEqual(["t0", "t3", "t4", "t5"]);
    await s.update((tx) => {
      tx.tasks.create(task("t1", "svc1", 1));
      tx.tasks.create(task("t2", "svc1", 1));
    });
    expect(ids()).toEqual(["t0", "t1", "t2", "t3", "t4", "t5"]);
    // Inside a transaction, its own writes are in the order too.
    await s.update((tx) => {
      tx.tasks.delete("t0");
      tx.tasks.create(task("t9", "svc1", 1));
      expect(tx.tasks.list().map((t) => t.id)).toEqual(["t1", "t2", "t3", "t4", "t5", "t9"]);
    });
    expect(ids()).toEqual(["t1", "t2", "t3", "t4", "t5", "t9"]);
  });
});

describe("apply-time checks", () => {
  it("fails the second of two updates from the same read with STORE_VERSION_CONFLICT", async () => {
    const s = await seeded();
    const read = s.view((tx) => tx.services.get("svc1"))!;
    const a = s.update((tx) => tx.services.update({ ...read, spec: { ...read.spec!, labels: { v: "a" } } }));
    const b = s.update((tx) => tx.services.update({ ...read, spec: { ...read.spec!, labels: { v: "b" } } }));
    expect(await codeOf(a)).toBe("resolved");
    expect(await codeOf(b)).toBe(StoreErrorCode.VersionConflict);
    expect(s.view((tx) => tx.services.get("svc1")!.spec!.labels)).toEqual({ v: "a" });
  });

  it("a failed transaction changes nothing (all or none)", async () => {
    const s = await seeded();
    const before = s.stateHash();
    const p = s.update((tx) => {
      tx.tasks.create(task("t9", "svc1", 9));
      tx.services.create(service("svc2", "web"));
    });
    expect(await codeOf(p)).toBe(StoreErrorCode.NameConflict);
    expect(s.stateHash()).toBe(before);
  });

  const cases: [string, (s: Store) => Promise<unknown>, string][] = [
    [
      "duplicate service name",
      (s) => s.update((tx) => tx.services.create(service("svc2", "web"))),
      StoreErrorCode.NameConflict,
    ],
    [
      "rename onto a taken name",
      async (s) => {
        await s.update((tx) => tx.secrets.create(secret("sec2", "other")));
        const sec = s.view((tx) => tx.secrets.get("sec2"))!;
        return s.update((tx) => tx.secrets.update({ ...sec, spec: { ...sec.spec!, name: "db-password" } }));
      },
      StoreErrorCode.NameConflict,
    ],
    [
      "task of a missing service",
      (s) => s.update((tx) => tx.tasks.create(task("t9", "nope", 1))),
      StoreErrorCode.MissingReference,
    ],
    [
      "service with a missing secret",
      (s) => s.update((tx) => tx.services.create(service("svc2", "api", { secrets: ["nope"] }))),
      StoreErrorCode.MissingReference,
    ],
    [
      "service with a missing network",
      (s) => s.update((tx) => tx.services.create(service("svc2", "api", { networks: ["nope"] }))),
      StoreErrorCode.MissingReference,
    ],
    ["delete a secret in use", (s) => s.update((tx) => tx.secrets.delete("sec1")), StoreErrorCode.InUse],
    ["delete a config in use", (s) => s.update((tx) => tx.configs.delete("cfg1")), StoreErrorCode.InUse],
    [
      "delete a network in use (by name)",
      (s) => s.update((tx) => tx.networks.delete("net1")),
      StoreErrorCode.InUse,
    ],
    [
      "task state backwards",
      async (s) => {
        await s.update((tx) => {
          const t = tx.tasks.get("t1")!;
          tx.tasks.update({ ...t, status: { ...t.status!, state: TaskState.RUNNING } });
        });
        const t = s.view((tx) => tx.tasks.get("t1"))!;
        return s.update((tx) =>
          tx.tasks.update({ ...t, status: { ...t.status!, state: TaskState.ASSIGNED } }),
        );
      },
      StoreErrorCode.TaskStateBackwards,
    ],
    [
      "create that raced another create of the same id",
      (s) => {
        const a = s.update((tx) => tx.nodes.create(node("n9")));
        const b = s.update((tx) => tx.nodes.create(node("n9")));
        return a.then(() => b);
      },
      StoreErrorCode.AlreadyExists,
    ],
    [
      "delete that raced an update",
      (s) => {
        const a = s.update((tx) => {
          const n = tx.nodes.get("n1")!;
          tx.nodes.update({ ...n, spec: { ...n.spec!, labels: {} } });
        });
        const b = s.update((tx) => tx.nodes.delete("n1"));
        return a.then(() => b);
      },
      StoreErrorCode.VersionConflict,
    ],
    [
      "update of an object deleted meanwhile",
      (s) => {
        const n = s.view((tx) => tx.nodes.get("n2"))!;
        const a = s.update((tx) => tx.nodes.delete("n2"));
        const b = s.update((tx) => tx.nodes.update({ ...n }));
        return a.then(() => b);
      },
      StoreErrorCode.NotFound,
    ],
  ];
  it.each(cases)("%s", async (_name, act, code) => {
    const s = await seeded();
    expect(await codeOf(act(s))).toBe(code);
  });

  it("a secret used only by finished tasks and no service can be deleted", async () => {
    const s = await seeded();
    await s.update((tx) => {
      tx.secrets.create(secret("sec2", "old"));
    });
    await s.update((tx) => {
      tx.tasks.create(task("t9", "svc1", 9, { secrets: ["sec2"], state: TaskState.SHUTDOWN }));
    });
    expect(await codeOf(s.update((tx) => tx.secrets.delete("sec2")))).toBe("resolved");
  });

  it("refuses changes at proposal time that can never apply", async () => {
    const s = await seeded();
    await expect(s.update((tx) => tx.nodes.create(node("n1")))).rejects.toMatchObject({
      code: StoreErrorCode.AlreadyExists,
    });
    await expect(s.update((tx) => tx.nodes.delete("zz"))).rejects.toMatchObject({
      code: StoreErrorCode.NotFound,
    });
    await expect(s.update((tx) => tx.nodes.create(node("")))).rejects.toMatchObject({
      code: StoreErrorCode.InvalidObject,
    });
  });

  it("refuses a transaction over 1.5 MiB", async () => {
    const s = newStore();
    const big = secret("big", "big");
    big.spec!.data = new Uint8Array(1.6 * 1024 * 1024);
    await expect(s.update((tx) => tx.secrets.create(big))).rejects.toMatchObject({
      code: StoreErrorCode.TransactionTooLarge,
    });
    expect(s.applied).toBe(0);
  });
});

describe("batch", () => {
  it("splits a sweep into transactions of at most 200 changes, in order, re-basing later writes", async () => {
    const s = await seeded();
    const result = await s.batch((b) => {
      for (let i = 0; i < 450; i++) b.update((tx) => tx.nodes.create(node(`b${String(i).padStart(3, "0")}`)));
      // Touches objects created in the first transaction: their versions are re-based.
      for (let i = 0; i < 10; i++)
        b.update((tx) => {
          const n = tx.nodes.get(`b${String(i).padStart(3, "0")}`)!;
          tx.nodes.update({ ...n, spec: { ...n.spec!, labels: { touched: "yes" } } });
        });
    });
    expect(result).toEqual({ transactions: 3, changes: 460, index: 5 });
    expect(s.view((tx) => tx.nodes.find("label", "touched").length)).toBe(10);
    expect(s.view((tx) => tx.nodes.get("b000")!.meta!.version)).toBe(5);
  });

  it("pipelined: proposes the transactions at once; one touching an earlier one's objects is re-based", async () => {
    const s = await seeded();
    const result = await s.batch(
      (b) => {
        for (let i = 0; i < 450; i++)
          b.update((tx) => tx.nodes.create(node(`b${String(i).padStart(3, "0")}`)));
        for (let i = 0; i < 10; i++)
          b.update((tx) => {
            const n = tx.nodes.get(`b${String(i).padStart(3, "0")}`)!;
            tx.nodes.update({ ...n, spec: { ...n.spec!, labels: { touched: "yes" } } });
          });
      },
      { pipelined: true },
    );
    expect(result.transactions).toBe(3);
    expect(result.changes).toBe(460);
    expect(s.view((tx) => tx.nodes.count())).toBe(452);
    expect(s.view((tx) => tx.nodes.find("label", "touched").length)).toBe(10);
    expect(s.view((tx) => tx.nodes.get("b000")!.meta!.version)).toBe(result.index);
  });

  it("pipelined: a failed transaction does not stop the later ones; it rejects with the first failure", async () => {
    const s = await seeded();
    // A concurrent write to n1 lands first: the batch's first transaction read n1 before it.
    const concurrent = s.update((tx) => {
      const n = tx.nodes.get("n1")!;
      tx.nodes.update({ ...n, spec: { ...n.spec!, labels: { by: "other" } } });
    });
    const batch = s.batch(
      (b) => {
        b.update((tx) => {
          const n = tx.nodes.get("n1")!;
          tx.nodes.update({ ...n, spec: { ...n.spec!, labels: { by: "batch" } } });
        });
        for (let i = 0; i < 250; i++)
          b.update((tx) => tx.nodes.create(node(`c${String(i).padStart(3, "0")}`)));
      },
      { pipelined: true },
    );
    await concurrent;
    const err = await batch.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ShoalError);
    expect((err as ShoalError).code).toBe(StoreErrorCode.VersionConflict);
    expect((err as ShoalError).details.committedTransactions).toBe(1);
    expect(s.view((tx) => tx.nodes.get("n1")!.spec!.labels)).toEqual({ by: "other" });
    // The first transaction (n1 and c000…c198) failed whole; the second went through.
    expect(s.view((tx) => [tx.nodes.get("c000"), tx.nodes.get("c249")?.id])).toEqual([undefined, "c249"]);
  });

  it("splits by bytes too", async () => {
    const s = newStore();
    const result = await s.batch((b) => {
      for (let i = 0; i < 4; i++)
        b.update((tx) => {
          const x = secret(`s${i}`, `s${i}`);
          x.spec!.data = new Uint8Array(600 * 1024);
          tx.secrets.create(x);
        });
    });
    expect(result.transactions).toBe(2);
  });
});

describe("watches", () => {
  it("delivers typed changes then a commit per entry, filtered", async () => {
    const s = await seeded();
    const all = s.watch();
    const ofN1 = s.watch({ filter: { nodeId: "n1", commits: false } });
    await s.update((tx) => {
      const t = tx.tasks.get("t1")!;
      tx.tasks.update({ ...t, status: { ...t.status!, state: TaskState.ASSIGNED } });
      tx.nodes.create(node("n3"));
    });
    const first = [await all.next(), await all.next(), await all.next()].map((r) => r.value);
    expect(
      first.map((e) =>
        e!.kind === "commit" ? `commit@${e!.index}` : `${e!.action} ${e!.objectKind} ${e!.id}`,
      ),
    ).toEqual(["update task t1", "create node n3", "commit@3"]);
    const e = first[0]!;
    expect(e.kind === "change" && e.old?.status?.state).toBe(TaskState.NEW);
    expect((await ofN1.next()).value).toMatchObject({ kind: "change", id: "t1" });
    await all.return();
  });

  it("viewAndWatch has no gap and no duplicate", async () => {
    const s = await seeded();
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) writes.push(s.update((tx) => tx.nodes.create(node(`x${i}`))));
    await Promise.resolve();
    const { result, events } = s.viewAndWatch((tx) => tx.nodes.count());
    for (let i = 5; i < 10; i++) writes.push(s.update((tx) => tx.nodes.create(node(`x${i}`))));
    await Promise.all(writes);
    const seen: string[] = [];
    while (result + seen.length < 12) {
      const e = (await events.next()).value!;
      if (e.kind === "change") seen.push(e.id);
    }
    expect(result + seen.length).toBe(s.view((tx) => tx.nodes.count()));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("closes a watcher that falls behind with STORE_WATCH_LAGGED without slowing apply", async () => {
    const s = await seeded();
    const w = s.watch({ maxQueuedEvents: 10 });
    for (let i = 0; i < 20; i++) await s.update((tx) => tx.nodes.create(node(`l${i}`)));
    await expect(w.next()).rejects.toMatchObject({ code: StoreErrorCode.WatchLagged });
    expect((await w.next()).done).toBe(true);
  });

  it("ends when the signal aborts", async () => {
    const s = newStore();
    const ac = new AbortController();
    const w = s.watch({ signal: ac.signal });
    const next = w.next();
    ac.abort();
    expect((await next).done).toBe(true);
  });
});

describe("snapshots and hashes", () => {
  it("restores the same state (same hash) from a snapshot", async () => {
    const s = await seeded();
    await s.update((tx) => tx.tasks.create(task("t3", "svc1", 3, { nodeId: "n2" })));
    const copy = newStore();
    copy.restore(s.snapshot(), s.applied);
    expect(copy.stateHash()).toBe(s.stateHash());
    expect(copy.view((tx) => tx.tasks.find("nodeId", "n1").map((t) => t.id))).toEqual(["t1"]);
    expect(copy.applied).toBe(3);
    // The encoding is a plain StoreSnapshot (task specs are written from their shared encoding).
    const plain = StoreSnapshot.decode(s.snapshot());
    expect(plain.tasks.map((t) => t.spec)).toEqual(s.view((tx) => tx.tasks.list().map((t) => t.spec)));
    // Tasks with equal specs share one frozen copy.
    const [a, b] = copy.view((tx) => [tx.tasks.get("t2"), tx.tasks.get("t3")]);
    expect(a!.spec).toBe(b!.spec);
    expect(Object.isFrozen(a!.spec)).toBe(true);
  });

  it("refuses a corrupt snapshot with STORE_SNAPSHOT_CORRUPT naming the source, changing nothing", async () => {
    const s = await seeded();
    const before = s.stateHash();
    const bad = new Uint8Array([0x1a, 0xff, 0x01]);
    expect(() => s.restore(bad, 9, "/var/lib/shoal/raft/snap/1-9.snap")).toThrow(/1-9\.snap/);
    expect(codeOfSync(() => s.restore(bad, 9))).toBe(StoreErrorCode.SnapshotCorrupt);
    expect(s.stateHash()).toBe(before);
  });

  it("stops on an entry that does not decode, naming its index", async () => {
    const s = newStore();
    expect(() => s.applyEntry(7, new Uint8Array([0x08, 0x01]))).toThrow(/raft entry 7/);
    expect(codeOfSync(() => s.applyEntry(7, new Uint8Array([0x0a, 0x05, 1])))).toBe(
      StoreErrorCode.EntryCorrupt,
    );
  });

  it("hashes differ when state differs", async () => {
    const a = await seeded();
    const b = await seeded();
    expect(a.stateHash()).toBe(b.stateHash());
    await b.update((tx) => tx.nodes.create(node("n3")));
    expect(a.stateHash()).not.toBe(b.stateHash());
  });
});
