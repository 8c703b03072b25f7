import type { Clock } from "@shoal/base";
import { Node, NodeAvailability, NodeState, Service, Task, TaskState } from "@shoal/proto";
import type { ChangeEvent } from "@shoal/store";
import { describe, expect, it } from "vitest";
import { eventsOfChange, leaderEvent } from "./cluster-event.js";
import {
  batchMsgId,
  decodeBatch,
  encodeBatch,
  type LogLine,
  linesOfMessage,
  preciseTimeMs,
} from "./log-batch.js";
import { formatLogLine } from "./log-prefix.js";
import { DEFAULT_LOG_RETENTION, logRetentionFor } from "./log-retention.js";
import { parseHostPort, renderNatsConfig } from "./nats-config.js";
import { isTransientBusError, retryTransient } from "./transient.js";

const line: LogLine = {
  taskId: "abc123def456ghi789",
  serviceId: "s1",
  serviceName: "web",
  slot: 2,
  nodeId: "n2",
  nodeName: "node2",
  time: "2026-01-01T00:00:00.123456789Z",
  timeMs: preciseTimeMs("2026-01-01T00:00:00.123456789Z"),
  stream: "stdout",
  text: "hello",
};

describe("docker's log prefix", () => {
  it.each([
    [{}, "web.2.abc123def456@node2    | hello"],
    [{ noTaskIds: true }, "web.2@node2    | hello"],
    [{ noTrunc: true }, "web.2.abc123def456ghi789@node2    | hello"],
    [{ timestamps: true }, "web.2.abc123def456@node2    | 2026-01-01T00:00:00.123456789Z hello"],
    [{ raw: true }, "hello"],
  ])("%o → %s", (opts, want) => {
    expect(formatLogLine(line, opts)).toBe(want);
  });
});

describe("log batches", () => {
  it("round-trip, keep sub-millisecond order, and name their bytes by task, inode and offset", () => {
    const back = decodeBatch(
      encodeBatch({ ...line, lines: [{ time: line.time, stream: "stderr", text: "x" }] }),
    );
    expect(back).toEqual([{ ...line, stream: "stderr", text: "x" }]);
    expect(preciseTimeMs("2026-01-01T00:00:00.000002000Z")).toBeGreaterThan(
      preciseTimeMs("2026-01-01T00:00:00.000001000Z"),
    );
    expect(preciseTimeMs("2026-01-01T01:00:00+01:00")).toBe(Date.UTC(2026, 0, 1));
    expect(Number.isNaN(preciseTimeMs("yesterday"))).toBe(true);
    expect(batchMsgId("t1", 42, 4096)).toBe("t1:42:4096");
  });

  it("trust the subject over the payload, and skip a message that is no batch", () => {
    const data = encodeBatch({ ...line, lines: [{ time: line.time, stream: "stdout", text: "x" }] });
    const own = `shoal.logs.${line.nodeId}.${line.serviceId}.${line.taskId}`;
    expect(linesOfMessage(own, data)).toEqual([{ ...line, stream: "stdout", text: "x" }]);
    // A payload claiming another node, task or service is shown as what its subject says.
    expect(linesOfMessage(`shoal.logs.w9.${line.serviceId}.t9`, data)).toEqual([
      { ...line, nodeId: "w9", nodeName: "w9", taskId: "t9", stream: "stdout", text: "x" },
    ]);
    expect(linesOfMessage(own, Buffer.from("{}"))).toEqual([]);
    expect(linesOfMessage(own, Buffer.from("not json"))).toEqual([]);
    expect(linesOfMessage("shoal.logs.w1", data)).toEqual([]);
  });
});

describe("log retention", () => {
  it("takes the cluster default, overridden by service labels", () => {
    expect(logRetentionFor({})).toEqual(DEFAULT_LOG_RETENTION);
    expect(logRetentionFor({ "shoal.logs.max-age": "48h", "shoal.logs.max-bytes": "10M" })).toEqual({
      maxAgeMs: 48 * 3600 * 1000,
      maxBytes: 10 * 1024 * 1024,
    });
  });
  it("names the label that is wrong", () => {
    expect(() => logRetentionFor({ "shoal.logs.max-bytes": "lots" })).toThrow(
      /label shoal.logs.max-bytes="lots"/,
    );
    expect(() => logRetentionFor({ "shoal.logs.max-age": "0s" })).toThrow(/must be above zero/);
  });
});

describe("nats-server config", () => {
  const input = {
    serverName: "m1",
    clusterName: "shoal",
    client: { host: "127.0.0.1", port: 4222 },
    cluster: { host: "127.0.0.1", port: 6222 },
    routes: [
      { host: "127.0.0.1", port: 6222 },
      { host: "10.0.0.2", port: 6222 },
    ],
    storeDir: "/d/js",
    logFile: "/d/log",
    pidFile: "/d/pid",
    tls: { certFile: "/d/c", keyFile: "/d/k", caFile: "/d/ca" },
    nodes: [
      { nodeId: "m1", role: "manager" as const },
      { nodeId: "w1", role: "worker" as const },
    ],
    routeSecret: "s3cr/t",
  };
  it("maps certificates to users: managers unrestricted, workers to their own subjects", () => {
    const c = JSON.parse(renderNatsConfig(input));
    expect(c.tls.verify_and_map).toBe(true);
    expect(c.authorization.users).toEqual([
      { user: "m1" },
      {
        user: "w1",
        permissions: { publish: { allow: ["shoal.logs.w1.>"] }, subscribe: { allow: ["_INBOX_w1.>"] } },
      },
    ]);
    expect(c.cluster.routes).toEqual([
      "nats-route://route:s3cr%2Ft@127.0.0.1:6222",
      "nats-route://route:s3cr%2Ft@10.0.0.2:6222",
    ]);
    expect(c.cluster.tls.verify).toBe(true);
  });
  it("runs a lone server without a cluster block, and refuses node ids that are not subject tokens", () => {
    expect(JSON.parse(renderNatsConfig({ ...input, routes: [input.cluster] })).cluster).toBeUndefined();
    expect(() => renderNatsConfig({ ...input, nodes: [{ nodeId: "a.b", role: "worker" }] })).toThrow(
      /node id "a.b"/,
    );
  });
  it("parses host:port and says what is wrong", () => {
    expect(parseHostPort("[::1]:4222", "x")).toEqual({ host: "::1", port: 4222 });
    expect(() => parseHostPort("localhost", "--metrics-addr")).toThrow(
      /--metrics-addr "localhost" is not host:port/,
    );
  });
});

describe("events of store changes", () => {
  const change = (c: Omit<ChangeEvent, "kind" | "index">): ChangeEvent =>
    ({ ...c, kind: "change", index: 9 }) as ChangeEvent;
  it("reports what a user cares about, and nothing else", () => {
    const t0 = Task.fromPartial({
      id: "t1",
      serviceId: "s1",
      nodeId: "n1",
      slot: 1,
      status: { state: TaskState.RUNNING },
    });
    const same = eventsOfChange(
      change({ objectKind: "task", action: "update", id: "t1", object: t0, old: t0 }),
      5,
    );
    expect(same).toEqual([]);
    const failed = {
      ...t0,
      status: { ...(t0.status as NonNullable<Task["status"]>), state: TaskState.FAILED, message: "exit 1" },
    };
    const [e] = eventsOfChange(
      change({ objectKind: "task", action: "update", id: "t1", object: failed, old: t0 }),
      5,
    );
    expect(e).toMatchObject({
      type: "task",
      action: "state",
      key: "9:task:t1:state",
      serviceId: "s1",
      nodeId: "n1",
    });
    expect(e?.attributes).toMatchObject({ state: "failed", from: "running", message: "exit 1" });
    const n0 = Node.fromPartial({
      id: "n1",
      status: { state: NodeState.READY },
      spec: { availability: NodeAvailability.ACTIVE },
    });
    const n1 = {
      ...n0,
      spec: { ...(n0.spec as NonNullable<Node["spec"]>), availability: NodeAvailability.DRAIN },
    };
    expect(
      eventsOfChange(change({ objectKind: "node", action: "update", id: "n1", object: n1, old: n0 }), 5).map(
        (x) => x.attributes,
      ),
    ).toEqual([{ name: "", availability: "drain" }]);
    const s0 = Service.fromPartial({ id: "s1", spec: { name: "web" }, specVersion: 1 });
    expect(
      eventsOfChange(
        change({ objectKind: "service", action: "delete", id: "s1", object: undefined, old: s0 }),
        5,
      )[0]?.action,
    ).toBe("remove");
    expect(leaderEvent("m2", 3, 5)).toMatchObject({
      type: "leader",
      key: "leader:3",
      attributes: { term: "3" },
    });
  });
});

describe("transient bus errors", () => {
  const named = (name: string, extra: object = {}) => Object.assign(new Error(name), { name }, extra);
  it.each([
    [named("TimeoutError"), true],
    [named("NoResponders"), true],
    [named("JetStreamNotEnabled"), true],
    [Object.defineProperty(named("JetStreamApiError"), "status", { value: 503 }), true],
    [Object.defineProperty(named("JetStreamApiError"), "status", { value: 400 }), false],
    [named("StreamNotFoundError"), false],
    [named("PermissionViolationError"), false],
    ["a string", false],
  ])("%o → %s", (err, want) => {
    expect(isTransientBusError(err)).toBe(want);
  });

  it("retries a transient failure, and gives up on another at once", async () => {
    let calls = 0;
    const flaky = async () => {
      calls++;
      if (calls < 3) throw named("TimeoutError");
      return "ok";
    };
    await expect(retryTransient(flaky, { clock: instantClock() })).resolves.toBe("ok");
    expect(calls).toBe(3);
    const fatal = async () => {
      throw named("PermissionViolationError");
    };
    await expect(retryTransient(fatal, { clock: instantClock() })).rejects.toThrow(
      "PermissionViolationError",
    );
  });
});

/** A clock whose sleeps end at once (time moves by what was slept). */
function instantClock(): Clock {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  } as unknown as Clock;
}
