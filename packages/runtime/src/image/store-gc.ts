import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ContentStore } from "./content-store.js";
import type { StoredImage } from "./store-index.js";

export interface GcInput {
  images: Iterable<StoredImage>;
  content: ContentStore;
  layersDir: string;
  /** Digests and diff ids that operations in progress still need. */
  isPinned: (key: string) => boolean;
}

export interface GcResult {
  freedLayers: number;
  freedBytes: number;
}

/**
 * Deletes every layer dir and blob that no recorded image references and nothing pinned; also
 * temp dirs of unpacks (the caller runs this exclusively, so no unpack is in progress).
 */
export async function collectGarbage(input: GcInput): Promise<GcResult> {
  const liveBlobs = new Set<string>();
  const liveDiffIds = new Set<string>();
  for (const image of input.images) {
    liveBlobs.add(image.id);
    liveBlobs.add(image.manifestDigest);
    if (image.indexDigest !== undefined) liveBlobs.add(image.indexDigest);
    for (const layer of image.layers) {
      liveBlobs.add(layer.digest);
      liveDiffIds.add(layer.diffId);
    }
  }
  let freedLayers = 0;
  let freedBytes = 0;
  for (const name of await readdir(input.layersDir)) {
    const diffId = `sha256:${name}`;
    if (liveDiffIds.has(diffId) || input.isPinned(diffId)) continue;
    await rm(join(input.layersDir, name), { recursive: true, force: true });
    if (!name.startsWith(".tmp-")) freedLayers++;
  }
  for (const digest of await input.content.list()) {
    if (liveBlobs.has(digest) || input.isPinned(digest)) continue;
    freedBytes += await input.content.delete(digest);
  }
  return { freedLayers, freedBytes };
}
