import { randomBytes } from "node:crypto";
import { rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { ignoring } from "../ignore.js";
import { RETRY, retryOnceOnMismatch, type Singleflight, withRetries } from "./concurrency.js";
import type { ContentStore } from "./content-store.js";
import { digestHex } from "./digest.js";
import { downloadAndUnpack, fetchBlob } from "./image-pull.js";
import type { Descriptor } from "./manifest.js";
import type { ImageReference } from "./reference.js";
import type { RegistryClient } from "./registry-client.js";
import type { PullProgress } from "./types.js";
import { unpackLayer } from "./unpack.js";

/**
 * Unpacked layers under `layersDir`, one directory per diff id, each unpacked once: concurrent
 * requests for a layer share one unpack (and one download), and a directory appears only by
 * rename once complete and verified.
 */
export class LayerCache {
  constructor(
    private readonly layersDir: string,
    private readonly content: ContentStore,
    private readonly unpacks: Singleflight<string>,
    private readonly downloads: Singleflight<void>,
  ) {}

  dir(diffId: string): string {
    return join(this.layersDir, digestHex(diffId));
  }

  private async exists(path: string): Promise<boolean> {
    return (await ignoring(stat(path), ["ENOENT"], undefined)) !== undefined;
  }

  /** Unpacks a layer once (shared among concurrent callers); the directory appears by rename. */
  async ensureLayer(digest: string, diffId: string): Promise<string> {
    const dir = this.dir(diffId);
    if (await this.exists(dir)) return dir;
    return this.unpacks.run(diffId, async () => {
      if (await this.exists(dir)) return dir;
      const temp = join(this.layersDir, `.tmp-${randomBytes(6).toString("hex")}`);
      try {
        await unpackLayer(this.content.path(digest), temp, { expectedDiffId: diffId });
        await rename(temp, dir);
      } catch (err) {
        await rm(temp, { recursive: true, force: true });
        throw err;
      }
      return dir;
    });
  }

  /**
   * A pulled layer: download and unpack at once (the stream is teed), so a pull costs about the
   * slower of the two instead of their sum. Both the blob digest and the diff id are verified
   * before the directory is renamed into place.
   */
  async fetchLayer(
    client: RegistryClient,
    ref: ImageReference,
    desc: Descriptor,
    diffId: string,
    onProgress: (event: PullProgress) => void,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const dir = this.dir(diffId);
    const haveBlob = await this.content.has(desc.digest);
    if (haveBlob || (await this.exists(dir))) {
      // Blobs are kept even when the layer dir exists: push and byte-identity need them.
      if (!haveBlob) await this.downloadOnly(client, ref, desc, onProgress, signal);
      else onProgress({ kind: "layer-exists", digest: desc.digest, sizeBytes: desc.size });
      await this.ensureLayer(desc.digest, diffId);
      return;
    }
    await this.unpacks.run(diffId, () =>
      this.downloads
        .run(desc.digest, async () => {
          if (await this.exists(dir)) return;
          await retryOnceOnMismatch(() =>
            withRetries(
              async () => {
                const temp = join(this.layersDir, `.tmp-${randomBytes(6).toString("hex")}`);
                try {
                  await downloadAndUnpack(client, this.content, ref, desc, diffId, temp, onProgress, signal);
                  await rename(temp, dir);
                } catch (err) {
                  await rm(temp, { recursive: true, force: true });
                  throw err;
                }
              },
              { ...RETRY, signal },
            ),
          );
          onProgress({ kind: "layer-downloaded", digest: desc.digest, sizeBytes: desc.size });
        })
        .then(() => dir),
    );
  }

  private async downloadOnly(
    client: RegistryClient,
    ref: ImageReference,
    desc: Descriptor,
    onProgress: (event: PullProgress) => void,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    await fetchBlob(
      {
        client,
        content: this.content,
        downloads: this.downloads,
        pin: () => () => undefined,
        onProgress,
        signal,
        parallelDownloads: 1,
        fetchLayer: async () => undefined,
      },
      ref,
      desc,
    );
  }
}
