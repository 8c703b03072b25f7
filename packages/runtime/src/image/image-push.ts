import { mapLimit } from "./concurrency.js";
import type { ContentStore } from "./content-store.js";
import type { ImageReference } from "./reference.js";
import type { RegistryClient } from "./registry-client.js";
import type { StoredImage } from "./store-index.js";
import type { PushProgress } from "./types.js";

/** Uploads the image's blobs the registry lacks, then its manifest (byte for byte) under `target`. */
export async function pushImage(
  client: RegistryClient,
  content: ContentStore,
  image: StoredImage,
  configSizeBytes: number,
  target: ImageReference,
  options: {
    onProgress?: ((event: PushProgress) => void) | undefined;
    signal?: AbortSignal | undefined;
    parallelUploads: number;
  },
): Promise<{ digest: string }> {
  const blobs = [
    ...image.layers.map((l) => ({ digest: l.digest, sizeBytes: l.sizeBytes })),
    { digest: image.id, sizeBytes: configSizeBytes },
  ];
  await mapLimit(blobs, options.parallelUploads, async (blob) => {
    if (await client.hasBlob(target, blob.digest, options.signal)) {
      options.onProgress?.({ kind: "blob-exists", ...blob });
      return;
    }
    await client.uploadBlob(target, blob.digest, content.path(blob.digest), options.signal);
    options.onProgress?.({ kind: "blob-uploaded", ...blob });
  });
  const manifest = await content.read(image.manifestDigest);
  const digest = await client.putManifest(target, image.manifestMediaType, manifest, options.signal);
  options.onProgress?.({
    kind: "manifest-pushed",
    ref: `${target.domain}/${target.path}:${target.tag ?? digest}`,
    digest,
  });
  return { digest };
}
