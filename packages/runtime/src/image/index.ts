export { ContentStore } from "./content-store.js";
export { isDigest, sha256Digest } from "./digest.js";
export { ImageErrorCode } from "./errors.js";
export { parseImageConfig } from "./image-config.js";
export { LocalImageStore, type LocalImageStoreOptions } from "./image-store.js";
export { formatPlatform, nodePlatform, parseManifestDocument, selectPlatform } from "./manifest.js";
export { MediaType } from "./media-types.js";
export { formatReference, type ImageReference, parseReference, tryNormalize } from "./reference.js";
export { RegistryClient, type RegistryClientOptions } from "./registry-client.js";
export type {
  ImageConfig,
  ImageHealthcheck,
  ImageLayer,
  ImageRecord,
  ImageStore,
  ImportOptions,
  Platform,
  PullOptions,
  PullProgress,
  PushOptions,
  PushProgress,
  RegistryCredentials,
  RegistryHostConfig,
  RemoveOptions,
  RemoveResult,
} from "./types.js";
export { type UnpackResult, unpackLayer } from "./unpack.js";
