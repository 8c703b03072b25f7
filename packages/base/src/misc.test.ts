import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ShoalError } from "./errors.js";
import { ID_LENGTH, isId, newId } from "./ids.js";
import { createLogger, loggerOptionsFromEnv } from "./logger.js";

describe("ids", () => {
  it("are 25 URL-safe characters and unique", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) {
      expect(id).toHaveLength(ID_LENGTH);
      expect(isId(id)).toBe(true);
    }
    expect(isId("Not-An-Id")).toBe(false);
  });
});

describe("ShoalError", () => {
  it("carries a stable code, a hint and the cause", () => {
    const cause = new Error("disk full");
    const err = new ShoalError("WAL_WRITE", "wal write failed", { cause, hint: "free some space" });
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe("WAL_WRITE");
    expect(err.hint).toBe("free some space");
    expect(err.cause).toBe(cause);
    expect(ShoalError.is(err, "WAL_WRITE")).toBe(true);
    expect(ShoalError.is(err, "OTHER")).toBe(false);
    expect(ShoalError.is(cause)).toBe(false);
  });
});

describe("createLogger", () => {
  function capture() {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    });
    return { lines, destination };
  }

  it("writes JSON with child bindings", () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination, name: "test" }).child({ module: "raft" });
    log.info({ term: 3 }, "became leader");
    expect(lines[0]).toMatchObject({ name: "test", module: "raft", term: 3, msg: "became leader" });
  });

  it("never logs secrets or join tokens", () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination });
    log.info({ joinToken: "SHTKN-1-abc-def", req: { token: "t0ps3cret" }, password: "hunter2" }, "join");
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain("SHTKN-1-abc-def");
    expect(text).not.toContain("t0ps3cret");
    expect(text).not.toContain("hunter2");
    expect(text).toContain("[redacted]");
  });

  it("never logs a secret's payload, the cluster's join tokens or its CA key", () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination });
    log.info({ spec: { name: "db-pass", data: "c3VwZXJzZWNyZXQ=" } }, "secret created");
    log.info(
      {
        cluster: {
          joinTokens: { worker: "SHTKN-1-aaa-worker", manager: "SHTKN-1-aaa-manager" },
          rootCa: { caKey: "-----BEGIN EC PRIVATE KEY-----" },
        },
      },
      "cluster updated",
    );
    const text = JSON.stringify(lines);
    for (const leak of ["c3VwZXJzZWNyZXQ=", "SHTKN-1-aaa", "BEGIN EC PRIVATE KEY"]) {
      expect(text).not.toContain(leak);
    }
    expect(text).toContain("db-pass");
  });

  it("takes its level from the options only, not from the environment", () => {
    const { lines, destination } = capture();
    const before = process.env.SHOAL_LOG_LEVEL;
    process.env.SHOAL_LOG_LEVEL = "debug";
    try {
      createLogger({ destination }).debug("hidden");
      createLogger({ destination, level: "debug" }).debug("shown");
    } finally {
      if (before === undefined) delete process.env.SHOAL_LOG_LEVEL;
      else process.env.SHOAL_LOG_LEVEL = before;
    }
    expect(lines.map((l) => l.msg)).toEqual(["shown"]);
  });
});

describe("loggerOptionsFromEnv", () => {
  it("resolves the level and the output form once, for a composition root", () => {
    expect(loggerOptionsFromEnv({}, false)).toEqual({ level: "info", pretty: false });
    expect(loggerOptionsFromEnv({ SHOAL_LOG_LEVEL: " Debug " }, true)).toEqual({
      level: "debug",
      pretty: true,
    });
  });

  it("refuses an unknown level with the allowed ones", () => {
    expect(() => loggerOptionsFromEnv({ SHOAL_LOG_LEVEL: "verbose" }, false)).toThrow(
      'SHOAL_LOG_LEVEL "verbose" is not a log level',
    );
  });
});
