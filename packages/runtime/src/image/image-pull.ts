import { PassThrough } from "node:stream";
import { ShoalError } from "@shoal/base";
import { hasCode } from "../ignore.js";
import { mapLimit, RETRY, retryOnceOnMismatch, type Singleflight, withRetries } from "./concurrency.js";
import type { ContentStore } from "./content-store.js";
import { ImageErrorCode } from "./errors.js";
import { parseImageConfig } from "./image-config.js";
import type { ImportedManifest } from "./image-import.js";
import { type Descriptor, parseManifestDocument, selectPlatform } from "./manifest.js";
import { formatReference, type ImageReference } from "./reference.js";
import type { RegistryClient } from "./registry-client.js";
import type { Platform, PullProgress } from "./types.js";
import { unpackLayerStream } from "./unpack.js";

// Fetches an image's manifest, config and layer blobs into the content store (verified), with
// parallel layer downloads; unpacking and recording are the store's (as after an import).

export interface PullDeps {
  client: RegistryClient;
  content: ContentStore;
  /** Shared per blob digest, so concurrent pulls of images with common layers download once. */
  downloads: Singleflight<void>;
  /** Marks digests as in use so a concurrent prune leaves them alone. */
  pin: (digest: string) => () => void;
  /** Deletes blobs a failed pull wrote, unless something else uses them (the store decides). */
  discard?: (digests: readonly string[]) => Promise<void>;
  onProgress: (event: PullProgress) => void;
  signal?: AbortSignal | undefined;
  parallelDownloads: number;
  /** Gets one layer's blob into the content store and (usually) its unpacked directory. */
  fetchLayer: (ref: ImageReference, desc: Descriptor, diffId: string) => Promise<void>;
}

export async function fetchBlob(deps: PullDeps, ref: ImageReference, desc: Descriptor): Promise<void> {
  if (await deps.content.has(desc.digest)) {
    deps.onProgress({ kind: "layer-exists", digest: desc.digest, sizeBytes: desc.size });
    return;
  }
  await deps.downloads.run(desc.digest, () =>
    retryOnceOnMismatch(() =>
      withRetries(
        async () => {
          const { stream } = await deps.client.getBlob(ref, desc.digest, deps.signal);
          let lastReport = 0;
          const written = await deps.content.write(stream, desc.digest, {
            signal: deps.signal,
            onBytes: (done) => {
              // At most every 1 MiB: progress bars need no more, and events are not free.
              if (done - lastReport >= 1 << 20 || done === desc.size) {
                lastReport = done;
                deps.onProgress({
                  kind: "layer-downloading",
                  digest: desc.digest,
                  doneBytes: done,
                  totalBytes: desc.size,
                });
              }
            },
          });
          if (written.sizeBytes !== desc.size) {
            throw new ShoalError(
              ImageErrorCode.DigestMismatch,
              `blob "${desc.digest}" is ${written.sizeBytes} bytes, the manifest says ${desc.size}`,
            );
          }
        },
        { ...RETRY, signal: deps.signal },
      ),
    ),
  );
  deps.onProgress({ kind: "layer-downloaded", digest: desc.digest, sizeBytes: desc.size });
}

/** Pulls everything `ref` needs into the content store; returns the manifest to register. */
export async function fetchImage(
  deps: PullDeps,
  ref: ImageReference,
  platform: Platform,
): Promise<ImportedManifest & { release: () => void }> {
  const pins: (() => void)[] = [];
  const release = () => {
    for (const unpin of pins.splice(0)) unpin();
  };
  // Manifests and config this pull stored itself: removed again if it fails.
  const wrote: string[] = [];
  const store = async (bytes: Uint8Array, digest: string) => {
    if (!(await deps.content.has(digest))) wrote.push(digest);
    await deps.content.writeBuffer(bytes, digest);
  };
  try {
    const top = await deps.client.getManifest(ref, deps.signal);
    pins.push(deps.pin(top.digest));
    await store(top.bytes, top.digest);
    let doc = parseManifestDocument(top.bytes, top.mediaType);
    let manifestDigest = top.digest;
    let indexDigest: string | undefined;
    if (doc.kind === "index") {
      const chosen = selectPlatform(doc, platform);
      indexDigest = top.digest;
      const fetched = await deps.client.getManifest(
        { domain: ref.domain, path: ref.path, digest: chosen.digest },
        deps.signal,
      );
      pins.push(deps.pin(fetched.digest));
      await store(fetched.bytes, fetched.digest);
      doc = parseManifestDocument(fetched.bytes, fetched.mediaType || chosen.mediaType);
      manifestDigest = fetched.digest;
      if (doc.kind !== "manifest") {
        throw new ShoalError(
          ImageErrorCode.InvalidManifest,
          `index entry "${chosen.digest}" of "${formatReference(ref)}" is not an image manifest`,
        );
      }
    }
    const manifest = doc;
    deps.onProgress({
      kind: "resolved",
      ref: formatReference(ref),
      manifestDigest,
      layerCount: manifest.layers.length,
      totalBytes: manifest.layers.reduce((sum, l) => sum + l.size, 0),
    });
    for (const desc of [manifest.config, ...manifest.layers]) pins.push(deps.pin(desc.digest));
    if (!(await deps.content.has(manifest.config.digest))) wrote.push(manifest.config.digest);
    await fetchBlob({ ...deps, onProgress: () => undefined }, ref, manifest.config);
    const { diffIds } = parseImageConfig(await deps.content.read(manifest.config.digest));
    if (diffIds.length !== manifest.layers.length) {
      throw new ShoalError(
        ImageErrorCode.InvalidManifest,
        `image "${formatReference(ref)}" lists ${manifest.layers.length} layers but its config has ${diffIds.length} diff ids`,
      );
    }
    for (const diffId of diffIds) pins.push(deps.pin(diffId));
    await mapLimit(manifest.layers, deps.parallelDownloads, (layer, i) =>
      deps.fetchLayer(ref, layer, diffIds[i] as string),
    );
    const name =
      ref.tag !== undefined ? formatReference({ ...ref, digest: undefined }) : formatReference(ref);
    return { manifestDigest, manifestMediaType: manifest.mediaType, indexDigest, names: [name], release };
  } catch (err) {
    release();
    if (wrote.length > 0) await deps.discard?.(wrote);
    throw err;
  }
}

/**
 * Downloads a layer blob into the content store and unpacks it into `tempDir` at once (the stream
 * is teed), so a pull costs about the slower of the two rather than their sum. Resolves only when
 * both the blob digest and the diff id matched; the caller renames `tempDir` into place.
 */
export async function downloadAndUnpack(
  client: RegistryClient,
  content: ContentStore,
  ref: ImageReference,
  desc: Descriptor,
  diffId: string,
  tempDir: string,
  onProgress: (event: PullProgress) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  // The download is stopped by aborting its request, never by destroying the body's stream: a
  // fetch body destroyed while its socket closes throws "terminated" outside any handler (Node's
  // Readable.fromWeb, nodejs/node#49233), which would take the whole agent down.
  const download = new AbortController();
  const requestSignal = signal === undefined ? download.signal : AbortSignal.any([signal, download.signal]);
  const { stream } = await client.getBlob(ref, desc.digest, requestSignal);
  const toStore = new PassThrough({ highWaterMark: 1 << 20 });
  const toUnpack = new PassThrough({ highWaterMark: 1 << 20 });
  let firstError: unknown;
  // Either side failing must stop the other, or it would wait forever for bytes.
  const fail = (err: unknown) => {
    firstError ??= err;
    const e = err instanceof Error ? err : new Error(String(err));
    download.abort(e);
    toStore.destroy(e);
    toUnpack.destroy(e);
  };
  stream.on("error", fail);
  stream.pipe(toStore);
  stream.pipe(toUnpack);
  let lastReport = 0;
  const stored = content
    .write(toStore, desc.digest, {
      signal,
      onBytes: (done) => {
        if (done - lastReport >= 1 << 20 || done === desc.size) {
          lastReport = done;
          onProgress({
            kind: "layer-downloading",
            digest: desc.digest,
            doneBytes: done,
            totalBytes: desc.size,
          });
        }
      },
    })
    .catch((err: unknown) => {
      fail(err);
      throw err;
    });
  // A corrupt blob usually breaks the unpacker (bad gzip) before the store sees its digest: the
  // store keeps reading to the end then, and its digest mismatch is the error that explains.
  let unpackError: unknown;
  const unpacked = unpackLayerStream(toUnpack, tempDir, desc.digest, {
    expectedDiffId: diffId,
    signal,
  }).catch((err: unknown) => {
    unpackError = err;
    stream.unpipe(toUnpack);
    toUnpack.resume();
    throw err;
  });
  const [written] = await Promise.allSettled([stored, unpacked]).then((results) => {
    const [s, u] = results;
    if (s?.status === "rejected")
      throw hasCode(s.reason, [ImageErrorCode.DigestMismatch]) ? s.reason : firstError;
    if (u?.status === "rejected") throw unpackError;
    return results.map((r) => (r as PromiseFulfilledResult<unknown>).value);
  });
  const sizeBytes = (written as { sizeBytes: number }).sizeBytes;
  if (sizeBytes !== desc.size) {
    throw new ShoalError(
      ImageErrorCode.DigestMismatch,
      `blob "${desc.digest}" is ${sizeBytes} bytes, the manifest says ${desc.size}`,
    );
  }
}
