// Error codes of the image side (store, registry client, import). Stable: scripts and the gRPC
// mapping key on them.
export const ImageErrorCode = {
  /** A reference such as "host:5000/name:tag@sha256:…" could not be parsed. */
  InvalidReference: "IMAGE_INVALID_REFERENCE",
  /** The store has no image for a reference or id. */
  NotFound: "IMAGE_NOT_FOUND",
  /** The registry has no manifest for the reference (404 / MANIFEST_UNKNOWN / NAME_UNKNOWN). */
  NotFoundInRegistry: "IMAGE_NOT_FOUND_IN_REGISTRY",
  /** The registry refused our credentials or the token realm refused to issue a token. */
  Unauthorized: "IMAGE_UNAUTHORIZED",
  /** Content did not hash to the digest it was addressed by. */
  DigestMismatch: "IMAGE_DIGEST_MISMATCH",
  /** The registry answered with something the distribution API does not allow. */
  RegistryProtocol: "IMAGE_REGISTRY_PROTOCOL",
  /** The registry could not be reached (connection refused, TLS, timeout). */
  RegistryUnreachable: "IMAGE_REGISTRY_UNREACHABLE",
  /** Manifest/config/index JSON is malformed or uses an unsupported media type. */
  InvalidManifest: "IMAGE_INVALID_MANIFEST",
  /** No manifest in an index matches the node's platform. */
  NoMatchingPlatform: "IMAGE_NO_MATCHING_PLATFORM",
  /** A layer tar is malformed or tries to escape its directory. */
  InvalidLayer: "IMAGE_INVALID_LAYER",
  /** An archive given to import is neither a docker save tar, an OCI layout nor a rootfs tar. */
  InvalidArchive: "IMAGE_INVALID_ARCHIVE",
  /** The image is held by containers and `force` was not given. */
  InUse: "IMAGE_IN_USE",
  /** A reference matches more than one image id prefix. */
  AmbiguousReference: "IMAGE_AMBIGUOUS_REFERENCE",
} as const;
export type ImageErrorCode = (typeof ImageErrorCode)[keyof typeof ImageErrorCode];
