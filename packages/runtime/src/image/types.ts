// The image side's public contract. The container side codes against these types only:
// `get(ref)` for the config and the unpacked layer dirs, `acquire`/`release` to keep them alive.

/** os/architecture[/variant] as in the OCI image index. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string | undefined;
}

/** The image's HEALTHCHECK, durations converted from the config's nanoseconds to milliseconds. */
export interface ImageHealthcheck {
  /** ["NONE"] | ["CMD", arg...] | ["CMD-SHELL", command] as Docker stores it. */
  test: string[];
  intervalMs?: number | undefined;
  timeoutMs?: number | undefined;
  startPeriodMs?: number | undefined;
  retries?: number | undefined;
}

/** The runtime-relevant part of the OCI image config (`config` object of the config blob). */
export interface ImageConfig {
  entrypoint?: string[] | undefined;
  cmd?: string[] | undefined;
  /** "KEY=value" entries in image order. */
  env: string[];
  workingDir?: string | undefined;
  /** "name", "uid", "name:group" or "uid:gid"; resolved by the container side through the rootfs. */
  user?: string | undefined;
  /** "SIGTERM", "15", … exactly as written in the image. */
  stopSignal?: string | undefined;
  healthcheck?: ImageHealthcheck | undefined;
  /** "80/tcp", "53/udp", … */
  exposedPorts: string[];
  volumes: string[];
  labels: Record<string, string>;
}

/** One layer of an image, lowest first in `ImageRecord.layers`. */
export interface ImageLayer {
  /** Digest of the blob as stored and pushed (compressed or not). */
  digest: string;
  mediaType: string;
  sizeBytes: number;
  /** Digest of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: string;
  /** The unpacked layer: whiteouts already converted to overlayfs form (0/0 char devices,
   * `trusted.overlay.opaque=y`), so it can be used as an overlayfs lowerdir as is. */
  dir: string;
}

export interface ImageRecord {
  /** Digest of the config blob: the image id, as Docker reports it. */
  id: string;
  /** Digest of the (platform-specific) manifest. */
  manifestDigest: string;
  manifestMediaType: string;
  /** Normalized references naming this image ("127.0.0.1:5000/busybox:latest", "docker.io/library/x:1"). */
  names: string[];
  platform: Platform;
  config: ImageConfig;
  /** Lowest first. */
  layers: ImageLayer[];
  /** `layers[].dir`, lowest first. overlayfs wants the reverse (topmost first) in `lowerdir=`. */
  layerDirs: string[];
  /** Sum of the layer blob sizes. */
  sizeBytes: number;
  /** When this store first recorded the image (ms since epoch). */
  createdAtMs: number;
}

/** Progress of a pull, one event per state change or chunk; meant for progress bars and logs. */
export type PullProgress =
  | { kind: "resolved"; ref: string; manifestDigest: string; layerCount: number; totalBytes: number }
  | { kind: "layer-exists"; digest: string; sizeBytes: number }
  | { kind: "layer-downloading"; digest: string; doneBytes: number; totalBytes: number }
  | { kind: "layer-downloaded"; digest: string; sizeBytes: number }
  | { kind: "layer-unpacked"; digest: string; diffId: string }
  | { kind: "done"; ref: string; id: string };

export type PushProgress =
  | { kind: "blob-exists"; digest: string; sizeBytes: number }
  | { kind: "blob-uploaded"; digest: string; sizeBytes: number }
  | { kind: "manifest-pushed"; ref: string; digest: string };

/** Credentials for one registry. Bearer tokens are obtained from the challenge's realm with them. */
export type RegistryCredentials =
  | { kind: "anonymous" }
  | { kind: "basic"; username: string; password: string }
  /** A ready-made registry token (skips the realm round trip). */
  | { kind: "token"; token: string };

/** Per-registry settings. HTTPS registries with a private CA: start node with NODE_EXTRA_CA_CERTS. */
export interface RegistryHostConfig {
  /** Plain HTTP instead of HTTPS; only for hosts the node marks insecure (e.g. a loopback registry). */
  insecure?: boolean | undefined;
  credentials?: RegistryCredentials | undefined;
}

export interface PullOptions {
  onProgress?: ((event: PullProgress) => void) | undefined;
  /** Credentials for this pull only (e.g. sent with the task, as Swarm's --with-registry-auth),
   * instead of the store's per-host configuration. */
  credentials?: RegistryCredentials | undefined;
  signal?: AbortSignal | undefined;
  /** Defaults to the node's platform (linux/amd64 here). */
  platform?: Platform | undefined;
}

export interface PushOptions {
  onProgress?: ((event: PushProgress) => void) | undefined;
  /** Credentials for this push only, instead of the store's per-host configuration. */
  credentials?: RegistryCredentials | undefined;
  signal?: AbortSignal | undefined;
}

export interface ImportOptions {
  /** Name to give the imported image; required for a plain rootfs tar, otherwise overrides/adds
   * to the names found in the archive. */
  ref?: string | undefined;
  /** For a plain rootfs tar: the image config to record (cmd, env, …). */
  config?: Partial<ImageConfig> | undefined;
  platform?: Platform | undefined;
}

export interface RemoveOptions {
  /** Remove even when containers still hold the image (their layer dirs then go at release). */
  force?: boolean | undefined;
}

export interface RemoveResult {
  /** Names removed. */
  untagged: string[];
  /** Image ids whose records were deleted. */
  deletedImages: string[];
  /** Layer dirs and blobs freed. */
  freedLayers: number;
  freedBytes: number;
}

/**
 * The node's image store. One instance per data dir; `open()` before use.
 * Concurrent `pull`s of the same reference share one download.
 */
export interface ImageStore {
  open(): Promise<void>;
  /** Pull by tag or digest from the reference's registry, unpack, record; returns the image. */
  pull(ref: string, options?: PullOptions): Promise<ImageRecord>;
  /** Push an image in this store to `targetRef` (default: `ref` itself). */
  push(ref: string, targetRef?: string, options?: PushOptions): Promise<{ digest: string }>;
  /** Import a `docker save` tar, an OCI layout (tar or directory) or a plain rootfs tar. */
  importImage(tarOrLayout: string, options?: ImportOptions): Promise<ImageRecord[]>;
  /** By name ("busybox", "host:5000/x:tag", "x@sha256:…") or id ("sha256:…" or a unique id prefix). */
  get(ref: string): ImageRecord | undefined;
  list(): ImageRecord[];
  tag(ref: string, newRef: string): Promise<ImageRecord>;
  /** Keep the image's layers alive for `holderId` (a container id); idempotent per holder and persisted,
   * so a restarted runtime re-adopting its containers calls it again without double counting. */
  acquire(ref: string, holderId: string): Promise<ImageRecord>;
  /** Drop every hold of `holderId`; layers of removed images are freed once unheld. Idempotent. */
  release(holderId: string): Promise<void>;
  /** Untag `ref`; delete the image when no name is left and nobody holds it; free unused layers. */
  remove(ref: string, options?: RemoveOptions): Promise<RemoveResult>;
  /** Delete images without names (or every unheld image with `all`) and free unused layers/blobs. */
  prune(options?: { all?: boolean | undefined }): Promise<RemoveResult>;
}
