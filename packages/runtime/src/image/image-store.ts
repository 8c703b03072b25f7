import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Clock, type Logger, ShoalError, silentLogger, systemClock } from "@shoal/base";
import { mapLimit, SharedExclusiveLock, Singleflight } from "./concurrency.js";
import { ContentStore } from "./content-store.js";
import { sha256Digest } from "./digest.js";
import { ImageErrorCode } from "./errors.js";
import { type ParsedImageConfig, parseImageConfig } from "./image-config.js";
import { type ImportedManifest, importArchive } from "./image-import.js";
import { fetchImage } from "./image-pull.js";
import { pushImage } from "./image-push.js";
import { LayerCache } from "./layer-cache.js";
import { formatPlatform, nodePlatform, parseManifestDocument } from "./manifest.js";
import { formatReference, parseReference, tryNormalize } from "./reference.js";
import { RegistryClient } from "./registry-client.js";
import { collectGarbage, type GcResult } from "./store-gc.js";
import { type StoredImage, StoreIndex } from "./store-index.js";
import type {
  ImageRecord,
  ImageStore,
  ImportOptions,
  Platform,
  PullOptions,
  PullProgress,
  PushOptions,
  RegistryCredentials,
  RegistryHostConfig,
  RemoveOptions,
  RemoveResult,
} from "./types.js";

// The node's image store. Layout under `root`:
//   blobs/sha256/<hex>   content store (manifests, configs, layer blobs as pulled)
//   layers/<diffId hex>  unpacked layers, overlayfs-ready; created by rename when complete
//   images.json          names, manifests and holders (StoreIndex)
//   ingest/, tmp/        scratch, wiped at open (a crash mid-pull leaves nothing behind)
// Layers are keyed by diff id, so images sharing a layer share its directory.

export interface LocalImageStoreOptions {
  root: string;
  /** Per registry host ("127.0.0.1:5000", "docker.io"): insecure flag and credentials. */
  registries?: Record<string, RegistryHostConfig> | undefined;
  platform?: Platform | undefined;
  logger?: Logger | undefined;
  clock?: Clock | undefined;
  parallelDownloads?: number | undefined;
}

export class LocalImageStore implements ImageStore {
  readonly root: string;
  readonly client: RegistryClient;
  private readonly content: ContentStore;
  private readonly index: StoreIndex;
  private readonly layersDir: string;
  private readonly scratchDir: string;
  private readonly platform: Platform;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly parallelDownloads: number;
  private readonly configs = new Map<string, ParsedImageConfig & { sizeBytes: number }>();
  private readonly pulls = new Singleflight<ImageRecord>();
  private readonly downloads = new Singleflight<void>();
  private readonly unpacks = new Singleflight<string>();
  /** Digests/diff ids used by operations in progress; GC must not free them. */
  private readonly pinned = new Map<string, number>();
  /** Pulls/imports shared, garbage collection exclusive. */
  private readonly lock = new SharedExclusiveLock();
  private readonly layers: LayerCache;
  private readonly registries: Record<string, RegistryHostConfig>;
  private readonly rootLogger: Logger | undefined;
  private opened = false;

  constructor(options: LocalImageStoreOptions) {
    this.root = options.root;
    this.content = new ContentStore(options.root);
    this.index = new StoreIndex(join(options.root, "images.json"));
    this.layersDir = join(options.root, "layers");
    this.scratchDir = join(options.root, "tmp");
    this.platform = options.platform ?? nodePlatform();
    this.logger = (options.logger ?? silentLogger()).child({ module: "runtime/image-store" });
    this.clock = options.clock ?? systemClock;
    this.parallelDownloads = options.parallelDownloads ?? 3;
    this.registries = options.registries ?? {};
    this.rootLogger = options.logger;
    this.client = new RegistryClient({
      hosts: options.registries,
      logger: options.logger,
      nowMs: () => this.clock.now(),
    });
    this.layers = new LayerCache(this.layersDir, this.content, this.unpacks, this.downloads);
  }

  async open(): Promise<void> {
    if (this.opened) return;
    await this.content.open();
    await mkdir(this.layersDir, { recursive: true });
    await rm(this.scratchDir, { recursive: true, force: true });
    await mkdir(this.scratchDir, { recursive: true });
    await this.index.load();
    for (const image of this.index.images.values()) await this.loadConfig(image.id);
    this.opened = true;
    // Layers/blobs of an import or pull that crashed before being recorded.
    await this.collectGarbage();
  }

  private assertOpen(): void {
    if (!this.opened) throw new Error("image store used before open()");
  }

  private async loadConfig(id: string): Promise<ParsedImageConfig & { sizeBytes: number }> {
    const cached = this.configs.get(id);
    if (cached !== undefined) return cached;
    const bytes = await this.content.read(id);
    const parsed = { ...parseImageConfig(bytes), sizeBytes: bytes.length };
    this.configs.set(id, parsed);
    return parsed;
  }

  private pin(key: string): () => void {
    this.pinned.set(key, (this.pinned.get(key) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.pinned.get(key) ?? 1) - 1;
      if (left <= 0) this.pinned.delete(key);
      else this.pinned.set(key, left);
    };
  }

  /** The shared client, or one with per-operation credentials for `domain` (own token cache). */
  private clientFor(domain: string, credentials: RegistryCredentials | undefined): RegistryClient {
    if (credentials === undefined) return this.client;
    return new RegistryClient({
      hosts: { ...this.registries, [domain]: { ...this.registries[domain], credentials } },
      logger: this.rootLogger,
      nowMs: () => this.clock.now(),
    });
  }

  layerDir(diffId: string): string {
    return this.layers.dir(diffId);
  }

  /** Unpacks and records an image whose blobs are all in the content store. */
  private async register(
    imported: ImportedManifest,
    onProgress: (event: PullProgress) => void,
  ): Promise<ImageRecord> {
    const manifest = parseManifestDocument(
      await this.content.read(imported.manifestDigest),
      imported.manifestMediaType,
    );
    if (manifest.kind !== "manifest") {
      throw new ShoalError(
        ImageErrorCode.InvalidManifest,
        `"${imported.manifestDigest}" is not an image manifest`,
      );
    }
    const id = manifest.config.digest;
    const config = await this.loadConfig(id);
    if (config.diffIds.length !== manifest.layers.length) {
      throw new ShoalError(
        ImageErrorCode.InvalidManifest,
        `image "${id}" lists ${manifest.layers.length} layers but its config has ${config.diffIds.length} diff ids`,
      );
    }
    if (
      config.platform.os !== this.platform.os ||
      config.platform.architecture !== this.platform.architecture
    ) {
      this.logger.warn(
        { id, platform: formatPlatform(config.platform) },
        "image platform differs from the node's",
      );
    }
    const unpins = config.diffIds.map((d) => this.pin(d));
    try {
      await mapLimit(manifest.layers, this.parallelDownloads, async (layer, i) => {
        const diffId = config.diffIds[i] as string;
        await this.layers.ensureLayer(layer.digest, diffId);
        onProgress({ kind: "layer-unpacked", digest: layer.digest, diffId });
      });
      const existing = this.index.images.get(id);
      const image: StoredImage = existing ?? {
        id,
        manifestDigest: imported.manifestDigest,
        manifestMediaType: manifest.mediaType,
        ...(imported.indexDigest === undefined ? {} : { indexDigest: imported.indexDigest }),
        names: [],
        platform: config.platform,
        layers: manifest.layers.map((l, i) => ({
          digest: l.digest,
          mediaType: l.mediaType,
          sizeBytes: l.size,
          diffId: config.diffIds[i] as string,
        })),
        createdAtMs: this.clock.now(),
      };
      this.index.images.set(id, image);
      for (const name of imported.names) this.index.assignName(id, name);
      await this.index.save();
      this.logger.info({ id, names: image.names }, "image recorded");
      return this.toRecord(image);
    } finally {
      for (const unpin of unpins) unpin();
    }
  }

  private toRecord(image: StoredImage): ImageRecord {
    const parsed = this.configs.get(image.id);
    if (parsed === undefined) throw new Error(`image "${image.id}" has no loaded config`);
    const layers = image.layers.map((l) => ({ ...l, dir: this.layerDir(l.diffId) }));
    return {
      id: image.id,
      manifestDigest: image.manifestDigest,
      manifestMediaType: image.manifestMediaType,
      names: [...image.names],
      platform: image.platform,
      config: structuredClone(parsed.config),
      layers,
      layerDirs: layers.map((l) => l.dir),
      sizeBytes: image.layers.reduce((sum, l) => sum + l.sizeBytes, 0),
      createdAtMs: image.createdAtMs,
    };
  }

  async pull(ref: string, options: PullOptions = {}): Promise<ImageRecord> {
    this.assertOpen();
    const parsed = parseReference(ref);
    const name = formatReference(parsed);
    const platform = options.platform ?? this.platform;
    const onProgress = options.onProgress ?? (() => undefined);
    const client = this.clientFor(parsed.domain, options.credentials);
    // Concurrent pulls of one reference (with the same credentials) share the whole operation;
    // progress goes to the first caller; one caller giving up (its signal) leaves the others' pull running.
    const key = `${name} ${formatPlatform(platform)} ${credentialsKey(options.credentials)}`;
    return this.pulls.run(
      key,
      (shared) =>
        this.lock.withShared(async () => {
          const startedMs = this.clock.now();
          this.logger.info({ ref: name, platform: formatPlatform(platform) }, "pulling image");
          const fetched = await fetchImage(
            {
              client,
              content: this.content,
              downloads: this.downloads,
              pin: (d) => this.pin(d),
              discard: (digests) => this.discardBlobs(digests),
              onProgress,
              signal: shared,
              parallelDownloads: this.parallelDownloads,
              fetchLayer: (r, desc, diffId) =>
                this.layers.fetchLayer(client, r, desc, diffId, onProgress, shared),
            },
            parsed,
            platform,
          );
          try {
            const record = await this.register(fetched, onProgress);
            onProgress({ kind: "done", ref: name, id: record.id });
            this.logger.info(
              { ref: name, id: record.id, durationMs: this.clock.now() - startedMs },
              "image pulled",
            );
            return record;
          } finally {
            fetched.release();
          }
        }),
      options.signal,
    );
  }

  async push(ref: string, targetRef?: string, options: PushOptions = {}): Promise<{ digest: string }> {
    this.assertOpen();
    const image = this.require(ref);
    const target = parseReference(
      targetRef ?? image.names.find((n) => n === formatReference(parseReference(ref))) ?? ref,
    );
    const config = await this.loadConfig(image.id);
    return this.lock.withShared(() =>
      pushImage(
        this.clientFor(target.domain, options.credentials),
        this.content,
        image,
        config.sizeBytes,
        target,
        {
          onProgress: options.onProgress,
          signal: options.signal,
          parallelUploads: this.parallelDownloads,
        },
      ),
    );
  }

  async importImage(tarOrLayout: string, options: ImportOptions = {}): Promise<ImageRecord[]> {
    this.assertOpen();
    const platform = options.platform ?? this.platform;
    return this.lock.withShared(async () => {
      const imported = await importArchive(
        this.content,
        tarOrLayout,
        this.scratchDir,
        options,
        platform,
        this.clock.now(),
      );
      const records: ImageRecord[] = [];
      for (const manifest of imported) records.push(await this.register(manifest, () => undefined));
      return records;
    });
  }

  private require(ref: string): StoredImage {
    const image = this.index.resolve(ref);
    if (image === undefined) {
      // Garbage is the spec's fault, not a missing image: say so (IMAGE_INVALID_REFERENCE).
      if (!/^(?:sha256:)?[a-f0-9]{6,64}$/.test(ref)) parseReference(ref);
      throw new ShoalError(ImageErrorCode.NotFound, `image "${ref}" not found`, {
        hint: "pull or import it first (shoal image pull)",
      });
    }
    return image;
  }

  get(ref: string): ImageRecord | undefined {
    this.assertOpen();
    const image = this.index.resolve(ref);
    return image === undefined ? undefined : this.toRecord(image);
  }

  list(): ImageRecord[] {
    this.assertOpen();
    return [...this.index.images.values()].map((i) => this.toRecord(i));
  }

  async tag(ref: string, newRef: string): Promise<ImageRecord> {
    this.assertOpen();
    const image = this.require(ref);
    this.index.assignName(image.id, formatReference(parseReference(newRef)));
    await this.index.save();
    return this.toRecord(image);
  }

  async acquire(ref: string, holderId: string): Promise<ImageRecord> {
    this.assertOpen();
    const image = this.require(ref);
    if (this.index.holds.get(holderId) !== image.id) {
      this.index.holds.set(holderId, image.id);
      await this.index.save();
    }
    return this.toRecord(image);
  }

  /**
   * Every holder with a hold, as persisted in `images.json` (so also the holds of an earlier
   * process). The node's container runtime reconciles them with its containers on `open`: a holder
   * that is no container of it is released. Holders are container ids of the node's one runtime.
   */
  holderIds(): string[] {
    this.assertOpen();
    return [...this.index.holds.keys()];
  }

  async release(holderId: string): Promise<void> {
    this.assertOpen();
    const id = this.index.holds.get(holderId);
    if (id === undefined) return;
    this.index.holds.delete(holderId);
    const image = this.index.images.get(id);
    // An image removed with force while in use goes when its last holder lets go.
    if (image !== undefined && image.names.length === 0 && this.index.holdersOf(id).length === 0) {
      this.index.images.delete(id);
      await this.index.save();
      // Container teardown must not wait for somebody's long pull: collect then, in the background.
      if (this.lock.isIdle) await this.collectGarbage();
      else
        this.collectGarbage().catch((err: unknown) =>
          this.logger.error({ err }, "image garbage collection failed"),
        );
      return;
    }
    await this.index.save();
  }

  async remove(ref: string, options: RemoveOptions = {}): Promise<RemoveResult> {
    this.assertOpen();
    const image = this.require(ref);
    // By name: untag that name only (as `docker rmi name`); by id: every name.
    const name = tryNormalize(ref);
    const untagged = name !== undefined && image.names.includes(name) ? [name] : [...image.names];
    const left = image.names.filter((n) => !untagged.includes(n));
    const holders = this.index.holdersOf(image.id);
    if (left.length === 0 && holders.length > 0 && options.force !== true) {
      throw new ShoalError(
        ImageErrorCode.InUse,
        `image "${ref}" is in use by ${holders.length} container(s) (${holders.slice(0, 3).join(", ")})`,
        { hint: "remove the containers first, or force the removal" },
      );
    }
    image.names = left;
    const deletedImages: string[] = [];
    if (left.length === 0 && holders.length === 0) {
      this.index.images.delete(image.id);
      deletedImages.push(image.id);
    }
    await this.index.save();
    const freed = await this.collectGarbage();
    return { untagged, deletedImages, ...freed };
  }

  async prune(options: { all?: boolean | undefined } = {}): Promise<RemoveResult> {
    this.assertOpen();
    const deletedImages: string[] = [];
    for (const image of [...this.index.images.values()]) {
      if (this.index.holdersOf(image.id).length > 0) continue;
      if (image.names.length === 0 || options.all === true) {
        this.index.images.delete(image.id);
        deletedImages.push(image.id);
      }
    }
    if (deletedImages.length > 0) await this.index.save();
    const freed = await this.collectGarbage();
    return { untagged: [], deletedImages, ...freed };
  }

  /**
   * Deletes blobs a failed pull wrote (its manifests and config) unless an image uses them or an
   * operation in progress pinned them. Runs under the pull's shared lock: pins protect the rest.
   */
  private async discardBlobs(digests: readonly string[]): Promise<void> {
    const used = new Set<string>();
    for (const image of this.index.images.values()) {
      used.add(image.id);
      used.add(image.manifestDigest);
      if (image.indexDigest !== undefined) used.add(image.indexDigest);
    }
    for (const d of digests) if (!used.has(d) && !this.pinned.has(d)) await this.content.delete(d);
  }

  /** Frees unused layer dirs and blobs; waits for pulls and imports in progress to finish. */
  private collectGarbage(): Promise<GcResult> {
    return this.lock.withExclusive(async () => {
      const result = await collectGarbage({
        images: this.index.images.values(),
        content: this.content,
        layersDir: this.layersDir,
        isPinned: (key) => this.pinned.has(key),
      });
      for (const id of [...this.configs.keys()]) if (!this.index.images.has(id)) this.configs.delete(id);
      if (result.freedLayers > 0 || result.freedBytes > 0)
        this.logger.info(result, "unused image data freed");
      return result;
    });
  }
}

/** Identity of credentials for sharing pulls: never the secret itself. */
function credentialsKey(credentials: RegistryCredentials | undefined): string {
  if (credentials === undefined) return "host-config";
  if (credentials.kind === "basic")
    return `basic:${credentials.username}:${sha256Digest(credentials.password).slice(7, 19)}`;
  if (credentials.kind === "token") return `token:${sha256Digest(credentials.token).slice(7, 19)}`;
  return "anonymous";
}
