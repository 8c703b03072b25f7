// A manager whose certificates live for 4 s renews its own by itself (at 50–80 % of the
// lifetime, through its CA), keeps serving with the new one past the old one's expiry, and the
// expired certificate is refused by the TLS layer.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { silentLogger } from "@shoal/base";
import { createClientCredentials, readNodeCertificate, tlsChannelOptions } from "@shoal/pki";
import { ControlClient } from "@shoal/proto";
import { afterAll, describe, expect, it } from "vitest";
import { LOOPBACK } from "../test/tls.js";
import { Manager } from "./manager.js";
import { readTls } from "./node-files.js";

const LIFETIME_MS = 4_000;
let dir = "";
afterAll(async () => {
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

describe("certificate renewal", () => {
  it("renews the manager's certificate by itself and refuses the expired one", async () => {
    dir = await mkdtemp(join(tmpdir(), "shoal-renewal-"));
    const manager = await Manager.init({
      dataDir: dir,
      listenAddress: `${LOOPBACK}:0`,
      advertiseAddress: `${LOOPBACK}:4270`,
      logger: silentLogger(),
      raft: { tickMs: 20 },
      nodeCertLifetimeMs: LIFETIME_MS,
    });
    const stop = new AbortController();
    const running = manager.run(stop.signal);
    try {
      const first = await readTls(dir);
      const firstInfo = readNodeCertificate(first.certPem);
      const deadline = Date.now() + 3 * LIFETIME_MS;
      let renewed = first;
      while (renewed.certPem === first.certPem) {
        if (Date.now() > deadline) throw new Error("the certificate was never renewed");
        await new Promise((r) => setTimeout(r, 100));
        renewed = await readTls(dir);
      }
      const info = readNodeCertificate(renewed.certPem);
      expect(info.nodeId).toBe(manager.identity.nodeId);
      expect(info.role).toBe("manager");
      expect(info.notAfterMs).toBeGreaterThan(firstInfo.notAfterMs);
      // Past the first certificate's expiry: the renewed one works, the old one is refused.
      const wait = firstInfo.notAfterMs - Date.now() + 500;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const list = (tls: typeof first) =>
        new Promise<grpc.ServiceError | null>((resolve) => {
          const c = new ControlClient(
            `${LOOPBACK}:${manager.port}`,
            createClientCredentials(tls, { clusterId: manager.identity.clusterId }),
            { ...tlsChannelOptions(), "grpc.use_local_subchannel_pool": 1 },
          );
          c.listServices({}, new grpc.Metadata(), { deadline: Date.now() + 5_000 }, (err) => {
            c.close();
            resolve(err);
          });
        });
      expect(await list(await readTls(dir))).toBeNull();
      const expired = await list(first);
      expect(expired?.code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      stop.abort();
      await running;
      await manager.close();
    }
  });
});
