import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FilePosition } from "./log-tail.js";

/**
 * What a shipper persists per container: how far the server has acknowledged, and the batch it
 * is sending (written before the send). After a crash the in-flight batch is sent again with the
 * same bytes and the same dedup id, so whether or not the server had stored it, it is stored once.
 */
export interface ShipState {
  acked: FilePosition | undefined;
  inflight: { ino: number; start: number; end: number } | undefined;
}

export class CursorStore {
  constructor(private readonly dir: string) {}

  async load(containerId: string): Promise<ShipState> {
    const text = await readFile(this.path(containerId), "utf8").catch(() => undefined);
    if (text === undefined) return { acked: undefined, inflight: undefined };
    const v = JSON.parse(text) as ShipState;
    return { acked: v.acked ?? undefined, inflight: v.inflight ?? undefined };
  }

  /**
   * Atomic (temp file and rename): a crash leaves the old state or the new one. Not fsynced: a
   * process crash keeps it; a power loss may step back one batch, which the dedup window covers.
   */
  async save(containerId: string, state: ShipState): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const p = this.path(containerId);
    await writeFile(`${p}.tmp`, JSON.stringify(state));
    await rename(`${p}.tmp`, p);
  }

  async remove(containerId: string): Promise<void> {
    await unlink(this.path(containerId)).catch(() => undefined);
  }

  private path(containerId: string): string {
    return join(this.dir, `${containerId}.json`);
  }
}
