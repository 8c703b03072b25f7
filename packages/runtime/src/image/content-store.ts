import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ignoring } from "../ignore.js";
import { digestHex, digestMismatch, sha256Digest } from "./digest.js";

// Blobs by sha256 under <root>/blobs/sha256/<hex>. A blob becomes visible only by rename after
// its bytes were hashed, matched the expected digest and were fsynced: a crash leaves at most a
// file in ingest/, never a wrong or half-written blob under its digest.

export interface WrittenBlob {
  digest: string;
  sizeBytes: number;
}

export class ContentStore {
  private readonly blobDir: string;
  private readonly ingestDir: string;

  constructor(readonly root: string) {
    this.blobDir = join(root, "blobs", "sha256");
    this.ingestDir = join(root, "ingest");
  }

  async open(): Promise<void> {
    await mkdir(this.blobDir, { recursive: true });
    // Leftovers of writes interrupted by a crash.
    await rm(this.ingestDir, { recursive: true, force: true });
    await mkdir(this.ingestDir, { recursive: true });
  }

  path(digest: string): string {
    return join(this.blobDir, digestHex(digest));
  }

  async size(digest: string): Promise<number | undefined> {
    // Only "not there" means missing; EACCES or EIO must not pass for a blob to fetch again.
    return (await ignoring(stat(this.path(digest)), ["ENOENT"], undefined))?.size;
  }

  async has(digest: string): Promise<boolean> {
    return (await this.size(digest)) !== undefined;
  }

  /** Small blobs (manifests, configs), re-verified on read since they steer everything else. */
  async read(digest: string): Promise<Buffer> {
    const data = await readFile(this.path(digest));
    const actual = sha256Digest(data);
    if (actual !== digest) throw digestMismatch(`stored blob "${digest}"`, digest, actual);
    return data;
  }

  async writeBuffer(data: Uint8Array, expected?: string): Promise<WrittenBlob> {
    return this.write(Readable.from([Buffer.from(data)]), expected);
  }

  /**
   * Streams `source` into the store. With `expected`, a mismatch throws and stores nothing.
   * `onBytes` sees the running byte count (for progress).
   */
  async write(
    source: Readable | AsyncIterable<Uint8Array>,
    expected?: string,
    options: { onBytes?: (doneBytes: number) => void; signal?: AbortSignal | undefined } = {},
  ): Promise<WrittenBlob> {
    if (expected !== undefined) digestHex(expected);
    const temp = join(this.ingestDir, `${randomBytes(8).toString("hex")}.part`);
    const hash = createHash("sha256");
    let sizeBytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        sizeBytes += chunk.length;
        options.onBytes?.(sizeBytes);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(
        source,
        counter,
        createWriteStream(temp),
        ...(options.signal === undefined ? [] : [{ signal: options.signal }]),
      );
      const digest = `sha256:${hash.digest("hex")}`;
      if (expected !== undefined && digest !== expected)
        throw digestMismatch(`blob "${expected}"`, expected, digest);
      const handle = await open(temp, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path(digest));
      return { digest, sizeBytes };
    } finally {
      await rm(temp, { force: true });
    }
  }

  async delete(digest: string): Promise<number> {
    const size = (await this.size(digest)) ?? 0;
    await rm(this.path(digest), { force: true });
    return size;
  }

  async list(): Promise<string[]> {
    return (await readdir(this.blobDir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }
}
