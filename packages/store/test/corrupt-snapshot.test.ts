import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalNetwork } from "@shoal/raft/transport";
import { WalStorage } from "@shoal/raft/wal";
import { afterEach, expect, it } from "vitest";
import { StoreErrorCode } from "../src/errors.js";
import { ReplicatedStore } from "../src/replicated-store.js";

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

it("a snapshot whose data is not a store refuses to start with STORE_SNAPSHOT_CORRUPT naming the file", async () => {
  dir = mkdtempSync(join(tmpdir(), "shoal-store-snap-"));
  const wal = await WalStorage.open({ dir, bootstrapVoters: [1] });
  // Intact as a file (its CRC is right) but not a StoreSnapshot inside.
  await wal.createSnapshot(1, { voters: [1], learners: [] }, new Uint8Array([0x1a, 0xff, 0xff, 0x01]));
  await wal.close();
  const store = await ReplicatedStore.open({ id: 1, dir, transport: new LocalNetwork().transport(1) });
  const err = await store.run().then(
    () => undefined,
    (e: unknown) => e,
  );
  await store.close();
  expect(err).toMatchObject({ code: StoreErrorCode.SnapshotCorrupt });
  expect((err as Error).message).toMatch(/snap\/0000000000000001-0000000000000001\.snap/);
});
