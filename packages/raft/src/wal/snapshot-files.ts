import { join } from "node:path";
import { crc32 } from "node:zlib";
import { type Logger, ShoalError } from "@shoal/base";
import type { Snapshot, SnapshotMeta } from "../types.js";
import { WalErrorCode } from "./errors.js";
import type { WalFileSystem } from "./file-system.js";
import { fsyncDir, writeFileAtomic } from "./fs-util.js";

/**
 * Snapshot files: `<term>-<index>.snap` (hex), written atomically (temp, fsync, rename, dir fsync)
 * so a crash leaves either the whole file or none.
 *
 *   u32 magic "SNAP" | u32 CRC32 of everything after it | u32 meta length | meta JSON | data
 */
const SNAP_MAGIC = 0x534e4150;
const SNAP_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export interface SnapshotFile {
  term: number;
  index: number;
  path: string;
}

export function snapshotName(term: number, index: number): string {
  return `${term.toString(16).padStart(16, "0")}-${index.toString(16).padStart(16, "0")}.snap`;
}

export async function writeSnapshotFile(fs: WalFileSystem, dir: string, snap: Snapshot): Promise<string> {
  const meta = Buffer.from(JSON.stringify(snap.meta));
  const head = Buffer.allocUnsafe(12);
  head.writeUInt32LE(SNAP_MAGIC, 0);
  head.writeUInt32LE(meta.length, 8);
  const crc = crc32(snap.data, crc32(meta, crc32(head.subarray(8, 12))));
  head.writeUInt32LE(crc, 4);
  const path = join(dir, snapshotName(snap.meta.term, snap.meta.index));
  await writeFileAtomic(fs, dir, path, [head, meta, snap.data]);
  return path;
}

function corrupt(path: string, offset: number, why: string): ShoalError {
  return new ShoalError(
    WalErrorCode.SnapshotCorrupt,
    `snapshot file "${path}" is corrupt at byte ${offset}: ${why}`,
    {
      hint: "delete the file to fall back to an older snapshot, or restore it from a backup",
      details: { path, offset },
    },
  );
}

export async function readSnapshotFile(fs: WalFileSystem, path: string): Promise<Snapshot> {
  const buf = await fs.readFile(path);
  if (buf.length < 12)
    throw corrupt(path, 0, `file of ${buf.length} bytes is shorter than the 12-byte header`);
  if (buf.readUInt32LE(0) !== SNAP_MAGIC) throw corrupt(path, 0, "bad magic");
  const metaLen = buf.readUInt32LE(8);
  if (12 + metaLen > buf.length)
    throw corrupt(path, 8, `meta length ${metaLen} runs past the end of the file`);
  if (crc32(buf.subarray(8)) !== buf.readUInt32LE(4)) throw corrupt(path, 4, "checksum mismatch");
  const meta = JSON.parse(buf.subarray(12, 12 + metaLen).toString("utf8")) as SnapshotMeta;
  // Copy the data out so the snapshot does not pin the whole file buffer's header.
  const data = new Uint8Array(buf.length - 12 - metaLen);
  data.set(buf.subarray(12 + metaLen));
  return { meta, data };
}

/** Snapshot files in `dir`, newest (highest index) first. Removes leftovers of interrupted writes. */
export async function listSnapshotFiles(fs: WalFileSystem, dir: string): Promise<SnapshotFile[]> {
  const files: SnapshotFile[] = [];
  for (const name of await fs.readdir(dir)) {
    if (name.endsWith(".snap.tmp")) {
      await fs.rm(join(dir, name));
      continue;
    }
    const m = SNAP_RE.exec(name);
    if (m)
      files.push({
        term: Number.parseInt(m[1]!, 16),
        index: Number.parseInt(m[2]!, 16),
        path: join(dir, name),
      });
  }
  return files.sort((a, b) => b.index - a.index || b.term - a.term);
}

/**
 * Loads the newest snapshot that reads back intact, skipping (and reporting) damaged ones: the
 * WAL keeps the log back to the oldest retained snapshot, so an older one plus the log still
 * reconstructs the state.
 */
export async function loadNewestSnapshot(
  fs: WalFileSystem,
  dir: string,
  logger: Logger,
): Promise<{ snapshot: Snapshot | undefined; skipped: { path: string; error: string }[] }> {
  const skipped: { path: string; error: string }[] = [];
  for (const f of await listSnapshotFiles(fs, dir)) {
    try {
      const snapshot = await readSnapshotFile(fs, f.path);
      return { snapshot, skipped };
    } catch (err) {
      if (!ShoalError.is(err, WalErrorCode.SnapshotCorrupt) && !(err instanceof SyntaxError)) throw err;
      logger.error({ err, path: f.path }, "wal: skipping damaged snapshot file");
      skipped.push({ path: f.path, error: (err as Error).message });
    }
  }
  return { snapshot: undefined, skipped };
}

/** Deletes all but the newest `keep` snapshot files; returns the oldest index still kept. */
export async function pruneSnapshotFiles(
  fs: WalFileSystem,
  dir: string,
  keep: number,
): Promise<number | undefined> {
  const files = await listSnapshotFiles(fs, dir);
  const doomed = files.slice(keep);
  for (const f of doomed) await fs.rm(f.path);
  if (doomed.length > 0) await fsyncDir(fs, dir);
  const kept = files.slice(0, keep);
  return kept.length > 0 ? kept[kept.length - 1]!.index : undefined;
}
