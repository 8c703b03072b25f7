import { arch } from "node:process";
import { ShoalError } from "@shoal/base";
import { isDigest } from "./digest.js";
import { ImageErrorCode } from "./errors.js";
import { INDEX_MEDIA_TYPES, LAYER_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, MediaType } from "./media-types.js";
import type { Platform } from "./types.js";

// Parsing and validation of index/manifest documents (OCI and Docker schema 2). Everything taken
// from a registry or an archive passes through here before it is trusted.

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform | undefined;
  annotations?: Record<string, string> | undefined;
}

export interface ParsedIndex {
  kind: "index";
  mediaType: string;
  manifests: Descriptor[];
}

export interface ParsedManifest {
  kind: "manifest";
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

function invalid(what: string, hint?: string): ShoalError {
  return new ShoalError(ImageErrorCode.InvalidManifest, what, hint === undefined ? {} : { hint });
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalid(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function parseDescriptor(value: unknown, what: string): Descriptor {
  const obj = asObject(value, what);
  const { mediaType, digest, size } = obj;
  if (typeof mediaType !== "string") throw invalid(`${what} has no mediaType`);
  if (typeof digest !== "string" || !isDigest(digest))
    throw invalid(`${what} digest "${String(digest)}" is not sha256`);
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${what} size "${String(size)}" is not a non-negative integer`);
  }
  const out: Descriptor = { mediaType, digest, size };
  if (obj.platform !== undefined) {
    const p = asObject(obj.platform, `${what} platform`);
    if (typeof p.os === "string" && typeof p.architecture === "string") {
      out.platform = {
        os: p.os,
        architecture: p.architecture,
        ...(typeof p.variant === "string" ? { variant: p.variant } : {}),
      };
    }
  }
  if (obj.annotations !== undefined)
    out.annotations = asObject(obj.annotations, `${what} annotations`) as Record<string, string>;
  return out;
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  try {
    return asObject(JSON.parse(Buffer.from(bytes).toString("utf8")), what);
  } catch (err) {
    if (ShoalError.is(err)) throw err;
    throw invalid(`${what} is not valid JSON`);
  }
}

/** Parses an index or manifest; `mediaTypeHint` is the Content-Type the registry sent. */
export function parseManifestDocument(
  bytes: Uint8Array,
  mediaTypeHint?: string,
): ParsedIndex | ParsedManifest {
  const doc = parseJson(bytes, "manifest");
  if (doc.schemaVersion === 1) {
    throw invalid(
      "manifest is Docker schema 1, which is deprecated and unsupported",
      "push the image again with a current client",
    );
  }
  let mediaType =
    typeof doc.mediaType === "string" ? doc.mediaType : (mediaTypeHint?.split(";")[0]?.trim() ?? "");
  if (mediaType === "" || mediaType === "application/json" || mediaType === "application/octet-stream") {
    mediaType = Array.isArray(doc.manifests) ? MediaType.OciIndex : MediaType.OciManifest;
  }
  if (INDEX_MEDIA_TYPES.includes(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalid("image index has no manifests list");
    return {
      kind: "index",
      mediaType,
      manifests: doc.manifests.map((m, i) => parseDescriptor(m, `image index entry ${i}`)),
    };
  }
  if (!MANIFEST_MEDIA_TYPES.includes(mediaType))
    throw invalid(`manifest media type "${mediaType}" is not supported`);
  if (!Array.isArray(doc.layers)) throw invalid("image manifest has no layers list");
  const config = parseDescriptor(doc.config, "manifest config");
  const layers = doc.layers.map((l, i) => parseDescriptor(l, `manifest layer ${i}`));
  for (const [i, layer] of layers.entries()) {
    if (!LAYER_MEDIA_TYPES.includes(layer.mediaType)) {
      throw invalid(`manifest layer ${i} media type "${layer.mediaType}" is not supported`);
    }
  }
  return { kind: "manifest", mediaType, config, layers };
}

const ARCHITECTURES: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
};

/** The platform this node runs images for. */
export function nodePlatform(): Platform {
  const architecture = ARCHITECTURES[arch] ?? arch;
  return architecture === "arm64"
    ? { os: "linux", architecture, variant: "v8" }
    : { os: "linux", architecture };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant === undefined ? "" : `/${p.variant}`}`;
}

/** Picks the manifest for `platform`; an exact variant match wins over an entry without variant. */
export function selectPlatform(index: ParsedIndex, platform: Platform): Descriptor {
  const candidates = index.manifests.filter(
    (m) =>
      MANIFEST_MEDIA_TYPES.includes(m.mediaType) &&
      m.platform !== undefined &&
      m.platform.os === platform.os &&
      m.platform.architecture === platform.architecture,
  );
  const exact = candidates.find((m) => m.platform?.variant === platform.variant);
  const loose = candidates.find((m) => m.platform?.variant === undefined || platform.variant === undefined);
  // An index without platform fields (an OCI layout with one image) means "whatever it is".
  const single =
    index.manifests.length === 1 && index.manifests[0]?.platform === undefined
      ? index.manifests[0]
      : undefined;
  const chosen = exact ?? loose ?? candidates[0] ?? single;
  if (chosen === undefined) {
    const available = index.manifests.flatMap((m) =>
      m.platform === undefined ? [] : [formatPlatform(m.platform)],
    );
    throw new ShoalError(
      ImageErrorCode.NoMatchingPlatform,
      `image has no manifest for platform "${formatPlatform(platform)}" (available: ${available.join(", ") || "none"})`,
    );
  }
  return chosen;
}
