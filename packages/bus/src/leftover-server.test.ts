import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger, systemClock } from "@shoal/base";
import { RootCa } from "@shoal/pki";
import { afterEach, describe, expect, it } from "vitest";
import { stopLeftoverServer } from "./leftover-server.js";
import { DEFAULT_NATS_BINARY, NatsSupervisor, type NatsSupervisorOptions } from "./nats-supervisor.js";
import { freePort } from "./test-support.js";

const alive = (pid: number) =>
  readFile(`/proc/${pid}/stat`, "utf8").then(
    (s) => s.slice(s.lastIndexOf(")") + 2, s.lastIndexOf(")") + 3) !== "Z",
    () => false,
  );

describe("a nats-server left running by a daemon killed with -9 (real nats-server)", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("is stopped before the restarted daemon's server starts on the same data dir and ports", async () => {
    const dir = await mkdtemp(join(tmpdir(), "shoal-leftover-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const ca = await RootCa.create({ clusterId: "testcluster", nowMs: Date.now() });
    const issued = await ca.issueNodeMaterial({
      nodeId: "m1",
      role: "manager",
      hosts: ["127.0.0.1"],
      nowMs: Date.now(),
    });
    const opts: NatsSupervisorOptions = {
      dataDir: join(dir, "nats"),
      serverName: "m1",
      client: { host: "127.0.0.1", port: await freePort() },
      cluster: { host: "127.0.0.1", port: await freePort() },
      routes: [],
      nodes: [{ nodeId: "m1", role: "manager" }],
      tls: { caPem: issued.rootCertPem, certPem: issued.certPem, keyPem: issued.keyPem },
      logger: silentLogger(),
    };
    // The first run writes the config; its server is then started again outside any supervisor,
    // as the child of a daemon that died would still be running.
    await (await NatsSupervisor.open(opts)).close();
    const orphan = spawn(DEFAULT_NATS_BINARY, ["-c", join(opts.dataDir, "nats-server.conf")], {
      stdio: "ignore",
    });
    cleanups.push(async () => orphan.kill("SIGKILL"));
    const pidFile = join(opts.dataDir, "nats-server.pid");
    for (let i = 0; (await readFile(pidFile, "utf8").catch(() => "")) !== String(orphan.pid); i++) {
      if (i > 200) throw new Error("the leftover nats-server wrote no pid file in 10 s");
      await new Promise((r) => setTimeout(r, 50));
    }

    const next = await NatsSupervisor.open(opts);
    cleanups.push(() => next.close());
    expect(await alive(orphan.pid as number)).toBe(false);
    expect(next.pid).toBeDefined();
    expect(next.pid).not.toBe(orphan.pid);
    expect(await alive(next.pid as number)).toBe(true);
    expect(await readFile(pidFile, "utf8")).toBe(String(next.pid));
  });

  it("leaves alone a process that a stale pid file names but that runs something else", async () => {
    const dir = await mkdtemp(join(tmpdir(), "shoal-leftover-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const other = spawn("sleep", ["30"], { stdio: "ignore" });
    cleanups.push(async () => other.kill("SIGKILL"));
    await writeFile(join(dir, "nats-server.pid"), String(other.pid));
    const stopped = await stopLeftoverServer(
      join(dir, "nats-server.pid"),
      join(dir, "nats-server.conf"),
      systemClock,
      silentLogger(),
    );
    expect(stopped).toBe(false);
    expect(await alive(other.pid as number)).toBe(true);
  });
});
