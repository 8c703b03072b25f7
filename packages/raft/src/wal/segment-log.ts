import { join } from "node:path";
import { type Logger, ShoalError, silentLogger } from "@shoal/base";
import { WalErrorCode } from "./errors.js";
import type { WalFile, WalFileSystem } from "./file-system.js";
import { nodeFileSystem } from "./file-system.js";
import { encodeFrame, type Frame, scanFrames } from "./frame.js";
import { fsyncDir, writeFileAtomic } from "./fs-util.js";

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const SEGMENT_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;
const META_FILE = "wal.meta";
/** Zeros written ahead of the last frame at a time (see append). */
const PREALLOC_BYTES = 4 * 1024 * 1024;

function isAllZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

export interface SegmentInfo {
  /** Position of the segment in the log: 0, 1, 2, … without gaps. */
  segSeq: number;
  /** Raft index the next appended entry had when the segment was started. */
  firstIndex: number;
  path: string;
}

export function segmentName(segSeq: number, firstIndex: number): string {
  return `${segSeq.toString(16).padStart(16, "0")}-${firstIndex.toString(16).padStart(16, "0")}.wal`;
}

export interface SegmentLogOptions {
  /** Start a new segment once the current one reaches this size. */
  segmentBytes?: number;
  /**
   * Index of the snapshot the owner restarts from. Segments that lie wholly at or below it are
   * not needed; when they are out of order on disk (a power loss undid some of the unlinks of a
   * compaction) they are deleted instead of refused as a gap.
   */
  snapshotIndex?: number;
  logger?: Logger;
  /** Default node:fs. */
  fileSystem?: WalFileSystem;
}

export interface OpenedSegmentLog {
  log: SegmentLog;
  /** Payloads of all valid frames, oldest first. Empty for a new log. */
  payloads: Buffer[];
  /** Whether the directory held no log and one was created. */
  created: boolean;
  /** Set when a torn tail was cut off the last segment. */
  truncatedTail?: { path: string; offset: number; reason: string };
}

/**
 * A directory of append-only segment files holding frames. Knows nothing of Raft: the owner gives
 * it payloads (one per batch) and reads them back on open. Every append is written and fdatasynced
 * before its promise resolves; appends are serialized.
 *
 * Files: `<segSeq>-<firstIndex>.wal` (hex) and `wal.meta`, which names the newest segment so that
 * losing the newest segment file is detected rather than silently rolling the log back.
 */
export class SegmentLog {
  private fh: WalFile | undefined;
  private sizeBytes: number;
  /** File size including the zero-filled free space after the last frame. */
  private allocatedBytes: number;
  private readonly preallocBytes: number;
  private nextSeq: bigint;
  private readonly segs: SegmentInfo[];
  private readonly segmentBytes: number;
  private readonly logger: Logger;
  private failed: unknown;
  private readonly fs: WalFileSystem;

  private constructor(
    readonly dir: string,
    segs: SegmentInfo[],
    fh: WalFile,
    sizeBytes: number,
    nextSeq: bigint,
    options: SegmentLogOptions,
  ) {
    this.segs = segs;
    this.fh = fh;
    this.sizeBytes = sizeBytes;
    this.allocatedBytes = sizeBytes;
    this.nextSeq = nextSeq;
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.preallocBytes = Math.min(PREALLOC_BYTES, this.segmentBytes);
    this.logger = options.logger ?? silentLogger();
    this.fs = options.fileSystem ?? nodeFileSystem;
  }

  /**
   * Opens the log in `dir`, verifying every frame. A torn or corrupt tail of the last segment is
   * cut off (it was never acknowledged: only the frame being written at a crash can be damaged);
   * damage followed by valid frames, damage in an older segment, or a missing segment refuses with
   * a ShoalError. `initialHeader` becomes the first frame when the directory holds no log.
   */
  static async open(
    dir: string,
    initialHeader: { firstIndex: number; payload: Buffer },
    options: SegmentLogOptions = {},
  ): Promise<OpenedSegmentLog> {
    const logger = options.logger ?? silentLogger();
    const fs = options.fileSystem ?? nodeFileSystem;
    const names = await fs.readdir(dir);
    for (const name of names) {
      // Leftovers of a segment or meta write that never reached its rename.
      if (name.endsWith(".wal.tmp") || name === `${META_FILE}.tmp`) await fs.rm(join(dir, name));
    }
    const segs: SegmentInfo[] = [];
    for (const name of names) {
      const m = SEGMENT_RE.exec(name);
      if (m)
        segs.push({
          segSeq: Number.parseInt(m[1]!, 16),
          firstIndex: Number.parseInt(m[2]!, 16),
          path: join(dir, name),
        });
    }
    segs.sort((a, b) => a.segSeq - b.segSeq);
    const metaLast = await readMeta(fs, dir);

    if (segs.length === 0) {
      if (metaLast !== undefined) {
        throw new ShoalError(
          WalErrorCode.MissingSegment,
          `wal directory "${dir}" has no segment files but wal.meta names segment ${metaLast}`,
          {
            hint: "the log was deleted; restore the directory from a backup, or remove this member from the cluster and rejoin it with an empty data directory",
            details: { path: dir, expectedSegment: metaLast },
          },
        );
      }
      const seg = {
        segSeq: 0,
        firstIndex: initialHeader.firstIndex,
        path: join(dir, segmentName(0, initialHeader.firstIndex)),
      };
      await writeFileAtomic(fs, dir, seg.path, encodeFrame(0n, initialHeader.payload));
      await writeMeta(fs, dir, 0);
      const fh = await fs.open(seg.path, "r+");
      const size = await fh.size();
      const log = new SegmentLog(dir, [seg], fh, size, 1n, options);
      return { log, payloads: [initialHeader.payload], created: true };
    }

    await dropCoveredStrays(fs, dir, segs, options.snapshotIndex ?? 0, logger);
    for (let i = 1; i < segs.length; i++) {
      if (segs[i]!.segSeq !== segs[i - 1]!.segSeq + 1) {
        const missing = segs[i - 1]!.segSeq + 1;
        throw new ShoalError(
          WalErrorCode.MissingSegment,
          `wal segment ${missing} is missing between "${segs[i - 1]!.path}" and "${segs[i]!.path}"`,
          {
            hint: "entries in the missing segment are lost; restore the file from a backup, or remove this member from the cluster and rejoin it with an empty data directory",
            details: { path: dir, missingSegment: missing },
          },
        );
      }
    }
    const last = segs[segs.length - 1]!;
    // The newest segment is created (and fsynced) before wal.meta is updated, so meta may lag by one.
    const metaOk =
      metaLast === undefined
        ? segs.length === 1 && last.segSeq === 0
        : metaLast === last.segSeq || metaLast === last.segSeq - 1;
    if (!metaOk) {
      throw new ShoalError(
        WalErrorCode.MissingSegment,
        metaLast === undefined
          ? `wal directory "${dir}" lacks wal.meta while holding ${segs.length} segments`
          : `wal.meta names segment ${metaLast} but the newest segment file is ${last.segSeq} ("${last.path}")`,
        {
          hint: "the newest segment files were lost; restore them from a backup, or remove this member from the cluster and rejoin it with an empty data directory",
          details: { path: dir, metaLastSegment: metaLast, lastSegmentOnDisk: last.segSeq },
        },
      );
    }

    const payloads: Buffer[] = [];
    let nextSeq: bigint | undefined;
    let truncatedTail: OpenedSegmentLog["truncatedTail"];
    let lastSize = 0;
    let lastAllocated = 0;
    for (const seg of segs) {
      const buf = await fs.readFile(seg.path);
      const scan = scanFrames(buf, nextSeq);
      const isLast = seg === last;
      // The last segment is preallocated with zeros: zeros from the end of the last frame to the
      // end of the file are free space, not damage.
      const freeTail =
        isLast && scan.damage !== undefined && scan.frames.length > 0 && isAllZero(buf, scan.damage.offset);
      if (scan.damage !== undefined && !freeTail) {
        const d = scan.damage;
        if (!isLast || d.followedByValid || scan.frames.length === 0) {
          throw new ShoalError(
            WalErrorCode.Corrupt,
            `wal segment "${seg.path}" is corrupt at byte ${d.offset}: ${d.reason}`,
            {
              hint:
                isLast && d.followedByValid
                  ? "valid records follow the damage, so this is not a torn write; restore the file from a backup, or remove this member from the cluster and rejoin it with an empty data directory"
                  : "restore the file from a backup, or remove this member from the cluster and rejoin it with an empty data directory",
              details: { path: seg.path, offset: d.offset, reason: d.reason },
            },
          );
        }
        // A torn write: the batch in it was never fsynced, hence never acknowledged. Cut it off
        // so that new frames are not appended after garbage.
        logger.warn(
          { path: seg.path, offset: d.offset, reason: d.reason, droppedBytes: buf.length - d.offset },
          "wal: truncating torn tail",
        );
        await fs.truncate(seg.path, d.offset);
        const fh = await fs.open(seg.path, "r+");
        await fh.datasync();
        await fh.close();
        truncatedTail = { path: seg.path, offset: d.offset, reason: d.reason };
      } else if (scan.frames.length === 0) {
        throw new ShoalError(
          WalErrorCode.Corrupt,
          `wal segment "${seg.path}" is empty; every segment starts with a header record`,
          {
            hint: "restore the file from a backup, or remove this member from the cluster and rejoin it with an empty data directory",
            details: { path: seg.path, offset: 0 },
          },
        );
      }
      for (const f of scan.frames) payloads.push(f.payload);
      nextSeq = (scan.frames[scan.frames.length - 1] as Frame).seq + 1n;
      if (isLast) {
        lastSize = scan.validEnd;
        lastAllocated = freeTail ? buf.length : scan.validEnd;
      }
    }
    if (metaLast !== last.segSeq) await writeMeta(fs, dir, last.segSeq);
    const fh = await fs.open(last.path, "r+");
    // What was just replayed may be page cache only: a process that died between its write and
    // its fsync leaves the frame readable but not durable. This incarnation acts on it (votes,
    // acks), so make it durable first — the last segment's data and the directory's entries.
    await fh.datasync();
    await fsyncDir(fs, dir);
    const log = new SegmentLog(dir, segs, fh, lastSize, nextSeq!, options);
    log.allocatedBytes = lastAllocated;
    const opened: OpenedSegmentLog = { log, payloads, created: false };
    if (truncatedTail !== undefined) opened.truncatedTail = truncatedTail;
    return opened;
  }

  /** Segments on disk, oldest first. */
  segments(): readonly SegmentInfo[] {
    return this.segs;
  }

  /** Whether the current segment is full and the owner should call `rotate` before the next append. */
  needsRotation(): boolean {
    return this.sizeBytes >= this.segmentBytes;
  }

  /** Appends one frame and fdatasyncs it. After a failed write the log refuses further use. */
  async append(payload: Uint8Array): Promise<void> {
    const fh = this.usable();
    const frame = encodeFrame(this.nextSeq, payload);
    try {
      const end = this.sizeBytes + frame.length;
      if (end > this.allocatedBytes) {
        // Extend with real zeros ahead of need: overwriting allocated blocks lets fdatasync skip
        // the file-size/extent journal commit that every appending fsync otherwise pays.
        const grow = Math.max(end - this.allocatedBytes, this.preallocBytes);
        await fh.write(Buffer.alloc(grow), 0, grow, this.allocatedBytes);
        this.allocatedBytes += grow;
      }
      // The copy into the page cache is synchronous (microseconds for a batch): one trip through
      // the thread pool, for the fdatasync, instead of two on every commit's critical path.
      for (let done = 0; done < frame.length; ) {
        done += fh.writeSync(frame, done, frame.length - done, this.sizeBytes + done);
      }
      await fh.datasync();
    } catch (err) {
      // The file may now hold part of the frame; appending after it would bury a torn frame in the
      // middle of the log. Recovery (reopen) cuts it off instead.
      this.failed = err;
      throw err;
    }
    this.sizeBytes += frame.length;
    this.nextSeq++;
  }

  /**
   * Starts a new segment whose first frame is `headerPayload` (the owner puts the current hard
   * state and snapshot marker in it, so the segment is self-describing once older ones are gone).
   */
  async rotate(firstIndex: number, headerPayload: Uint8Array): Promise<void> {
    const old = this.usable();
    const prev = this.segs[this.segs.length - 1]!;
    try {
      // Older segments hold no free space: their last frame ends the file.
      if (this.allocatedBytes > this.sizeBytes) {
        await old.truncate(this.sizeBytes);
        await old.datasync();
      }
    } catch (err) {
      this.failed = err;
      throw err;
    }
    const seg = {
      segSeq: prev.segSeq + 1,
      firstIndex,
      path: join(this.dir, segmentName(prev.segSeq + 1, firstIndex)),
    };
    try {
      await writeFileAtomic(this.fs, this.dir, seg.path, encodeFrame(this.nextSeq, headerPayload));
      await writeMeta(this.fs, this.dir, seg.segSeq);
      const fh = await this.fs.open(seg.path, "r+");
      this.fh = fh;
      this.sizeBytes = await fh.size();
      this.allocatedBytes = this.sizeBytes;
    } catch (err) {
      this.failed = err;
      throw err;
    }
    this.nextSeq++;
    this.segs.push(seg);
    await old.close();
    this.logger.debug({ path: seg.path }, "wal: started segment");
  }

  /**
   * Deletes the oldest segments while the segment after them starts at or below `keepFromIndex`,
   * i.e. while they hold nothing at or after that index. Never deletes the newest segment.
   */
  async removeSegmentsBefore(keepFromIndex: number): Promise<number> {
    this.usable();
    let n = 0;
    while (this.segs.length > 1 && this.segs[1]!.firstIndex <= keepFromIndex) {
      const seg = this.segs.shift()!;
      await this.fs.rm(seg.path);
      n++;
    }
    if (n > 0) {
      await fsyncDir(this.fs, this.dir);
      this.logger.debug({ removed: n }, "wal: removed segments covered by a snapshot");
    }
    return n;
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }

  private usable(): WalFile {
    if (this.failed !== undefined) {
      throw new ShoalError(WalErrorCode.Closed, `wal in "${this.dir}" is unusable after a failed write`, {
        cause: this.failed,
        hint: "restart the process; recovery truncates the partial write",
      });
    }
    if (this.fh === undefined) throw new ShoalError(WalErrorCode.Closed, `wal in "${this.dir}" is closed`);
    return this.fh;
  }
}

/**
 * Compaction unlinks several old segments and fsyncs the directory once at the end, so a power
 * loss in between may bring back any subset of them: a gap in the numbering. When the segment
 * after the last gap starts at or below `snapshotIndex + 1`, everything before it is covered by
 * the snapshot and is deleted again (durably); any other gap is left for the caller to refuse.
 */
async function dropCoveredStrays(
  fs: WalFileSystem,
  dir: string,
  segs: SegmentInfo[],
  snapshotIndex: number,
  logger: Logger,
): Promise<void> {
  let lastGap = -1;
  for (let i = 1; i < segs.length; i++) if (segs[i]!.segSeq !== segs[i - 1]!.segSeq + 1) lastGap = i;
  if (lastGap < 0 || segs[lastGap]!.firstIndex > snapshotIndex + 1) return;
  const stray = segs.splice(0, lastGap);
  for (const seg of stray) await fs.rm(seg.path);
  await fsyncDir(fs, dir);
  logger.warn(
    { removed: stray.map((s) => s.path), snapshotIndex },
    "wal: removed segments left over from an interrupted compaction",
  );
}

async function readMeta(fs: WalFileSystem, dir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = (await fs.readFile(join(dir, META_FILE))).toString("utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as { lastSegment?: unknown };
  if (typeof parsed.lastSegment !== "number") {
    throw new ShoalError(
      WalErrorCode.Corrupt,
      `wal meta "${join(dir, META_FILE)}" lacks a numeric lastSegment`,
      {
        details: { path: join(dir, META_FILE) },
      },
    );
  }
  return parsed.lastSegment;
}

async function writeMeta(fs: WalFileSystem, dir: string, lastSegment: number): Promise<void> {
  await writeFileAtomic(fs, dir, join(dir, META_FILE), Buffer.from(`${JSON.stringify({ lastSegment })}\n`));
}
