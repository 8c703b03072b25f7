import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open } from "node:fs/promises";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { ShoalError } from "@shoal/base";
import { digestMismatch } from "./digest.js";
import { ImageErrorCode } from "./errors.js";
import { ByteReader, type RewriteStats, rewriteLayerTar } from "./layer-rewrite.js";

export interface UnpackResult {
  /** sha256 of the uncompressed tar. */
  diffId: string;
  uncompressedBytes: number;
  stats: RewriteStats;
}

export type Compression = "gzip" | "zstd" | "none";

export async function detectCompression(path: string): Promise<Compression> {
  const handle = await open(path, "r");
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    if (bytesRead >= 2 && magic[0] === 0x1f && magic[1] === 0x8b) return "gzip";
    if (bytesRead === 4 && magic.readUInt32LE(0) === 0xfd2fb528) return "zstd";
    return "none";
  } finally {
    await handle.close();
  }
}

function sniff(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "none";
}

/**
 * The uncompressed bytes of a (possibly gzip/zstd-compressed) tar stream, detected from its
 * first bytes (media types lie: Docker calls uncompressed layers ".tar" and gzip ones too).
 */
export function decompress(source: Readable): Readable {
  async function* headFirst(): AsyncGenerator<Buffer> {
    yield* source;
  }
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  void (async () => {
    const iterator = headFirst();
    const chunks: Buffer[] = [];
    let length = 0;
    let done = false;
    while (length < 4) {
      const next = await iterator.next();
      if (next.done === true) {
        done = true;
        break;
      }
      chunks.push(next.value);
      length += next.value.length;
    }
    const head = Buffer.concat(chunks);
    async function* all(): AsyncGenerator<Buffer> {
      if (head.length > 0) yield head;
      if (!done) yield* { [Symbol.asyncIterator]: () => iterator };
    }
    const compression = sniff(head);
    const input = Readable.from(all(), { objectMode: false });
    const onError = (err: Error | null) => {
      if (err !== null) out.destroy(err);
    };
    if (compression === "gzip") {
      pipeline(input, createGunzip({ chunkSize: 1 << 18 }), out).catch(onError);
    } else if (compression === "zstd") {
      // Node 20 has no zstd; Debian's zstd CLI is the dependable decoder.
      const child = spawn("zstd", ["-dcq"], { stdio: ["pipe", "pipe", "ignore"] });
      child.on("error", onError);
      child.on("close", (code) => {
        if (code !== 0)
          out.destroy(
            new ShoalError(ImageErrorCode.InvalidLayer, `zstd exited with ${code}: the layer is corrupt`),
          );
      });
      pipeline(input, child.stdin).catch(onError);
      pipeline(child.stdout, out).catch(onError);
    } else {
      pipeline(input, out).catch(onError);
    }
  })().catch((err: Error) => out.destroy(err));
  return out;
}

/** The uncompressed bytes of a (possibly gzip/zstd-compressed) tar file. */
export function openUncompressed(path: string): Readable {
  return decompress(createReadStream(path, { highWaterMark: 1 << 20 }));
}

async function* hashing(
  source: AsyncIterable<Buffer>,
  onChunk: (chunk: Buffer) => void,
): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    onChunk(chunk);
    yield chunk;
  }
}

/**
 * Unpacks a layer blob into `targetDir` (created, should be empty) in overlayfs-lowerdir form:
 * ownership, modes, xattrs, links and devices kept by GNU tar (as root), whiteouts converted by
 * `rewriteLayerTar`. Verifies the uncompressed digest against `expectedDiffId` when given.
 */
export async function unpackLayer(
  blobPath: string,
  targetDir: string,
  options: { expectedDiffId?: string | undefined; signal?: AbortSignal | undefined } = {},
): Promise<UnpackResult> {
  return unpackLayerStream(
    createReadStream(blobPath, { highWaterMark: 1 << 20 }),
    targetDir,
    blobPath,
    options,
  );
}

/** As unpackLayer, from a stream of the blob (e.g. while it downloads); `what` names it in errors. */
export async function unpackLayerStream(
  blob: Readable,
  targetDir: string,
  what: string,
  options: { expectedDiffId?: string | undefined; signal?: AbortSignal | undefined } = {},
): Promise<UnpackResult> {
  const blobPath = what;
  await mkdir(targetDir, { recursive: true });
  const source = decompress(blob);
  const hash = createHash("sha256");
  let uncompressedBytes = 0;
  const reader = new ByteReader(
    hashing(source, (chunk) => {
      hash.update(chunk);
      uncompressedBytes += chunk.length;
    }),
  );
  const stats: RewriteStats = { entries: 0, whiteouts: 0, opaqueDirs: 0, droppedOverlayXattrs: 0 };
  const tar = spawn(
    "tar",
    [
      "--extract",
      "--file=-",
      `--directory=${targetDir}`,
      "--numeric-owner",
      "--same-owner",
      "--same-permissions",
      "--xattrs",
      "--xattrs-include=*",
      "--warning=no-timestamp",
      "--warning=no-unknown-keyword",
    ],
    {
      stdio: ["pipe", "ignore", "pipe"],
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    },
  );
  let stderr = "";
  tar.stderr.setEncoding("utf8");
  tar.stderr.on("data", (text: string) => {
    if (stderr.length < 4096) stderr += text;
  });
  const exited = new Promise<number>((resolve, reject) => {
    tar.on("error", reject);
    tar.on("close", (code) => resolve(code ?? -1));
  });
  // Handled below, after the feed: an abort (the pull's signal) rejects it while the feed is still
  // pending, and an unhandled rejection would take the whole daemon down.
  exited.catch(() => undefined);
  async function* all(): AsyncGenerator<Buffer> {
    yield* rewriteLayerTar(reader, stats);
    // Bytes after the end-of-archive marker (record padding) are part of the diff id.
    await reader.drain();
  }
  let feedError: unknown;
  try {
    await pipeline(Readable.from(all()), tar.stdin);
  } catch (err) {
    feedError = err;
    tar.stdin.destroy();
  }
  const code = await exited.catch((err: unknown) => {
    throw new ShoalError(
      ImageErrorCode.InvalidLayer,
      `layer "${blobPath}" could not be unpacked: tar did not run`,
      {
        cause: err,
      },
    );
  });
  if (feedError !== undefined) {
    source.destroy();
    blob.destroy();
    if (ShoalError.is(feedError)) throw feedError;
    throw new ShoalError(
      ImageErrorCode.InvalidLayer,
      `layer "${blobPath}" could not be unpacked: ${stderr.trim() || String(feedError)}`,
      { cause: feedError },
    );
  }
  if (code !== 0) {
    throw new ShoalError(
      ImageErrorCode.InvalidLayer,
      `layer "${blobPath}" could not be unpacked: tar exited with ${code}: ${stderr.trim()}`,
    );
  }
  const diffId = `sha256:${hash.digest("hex")}`;
  if (options.expectedDiffId !== undefined && options.expectedDiffId !== diffId) {
    throw digestMismatch(`uncompressed layer "${blobPath}"`, options.expectedDiffId, diffId);
  }
  return { diffId, uncompressedBytes, stats };
}
