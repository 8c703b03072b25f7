import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, realpath, rm, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { ShoalError } from "@shoal/base";
import { ignoring } from "../ignore.js";
import type { ContentStore } from "./content-store.js";
import { digestHex } from "./digest.js";
import { ImageErrorCode } from "./errors.js";
import { synthesizeConfig } from "./image-config.js";
import { ByteReader } from "./layer-rewrite.js";
import { type ParsedIndex, parseManifestDocument, selectPlatform } from "./manifest.js";
import { MediaType } from "./media-types.js";
import { formatReference, parseReference, tryNormalize } from "./reference.js";
import { BLOCK, isZeroBlock, paddingFor, parseHeader, parsePax, TarType } from "./tar-header.js";
import type { ImportOptions, Platform } from "./types.js";
import { detectCompression, openUncompressed } from "./unpack.js";

// `shoal image import`: docker save tars, OCI layouts (dir or tar) and plain rootfs tars. Every
// blob is copied into the content store through digest verification; the store then unpacks and
// records the images exactly as after a pull.

const run = promisify(execFile);

/** A manifest now in the content store, ready to be registered under `names`. */
export interface ImportedManifest {
  manifestDigest: string;
  manifestMediaType: string;
  indexDigest?: string | undefined;
  names: string[];
}

function invalidArchive(path: string, why: string): ShoalError {
  return new ShoalError(ImageErrorCode.InvalidArchive, `archive "${path}" cannot be imported: ${why}`, {
    hint: "give a docker save tar, an OCI layout (tar or directory) or a root filesystem tar",
  });
}

/** Top-level entry names of a (possibly compressed) tar, reading headers only. */
export async function topLevelTarNames(path: string): Promise<Set<string>> {
  const reader = new ByteReader(openUncompressed(path));
  const names = new Set<string>();
  let paxPath: string | undefined;
  let longName: string | undefined;
  try {
    for (;;) {
      const block = await reader.read(BLOCK);
      if (block === undefined || isZeroBlock(block)) break;
      const header = parseHeader(block);
      const size = header.size + paddingFor(header.size);
      if (header.type === TarType.PaxHeader || header.type === TarType.GnuLongName) {
        const data = (await reader.read(size))?.subarray(0, header.size);
        if (data === undefined) break;
        if (header.type === TarType.PaxHeader) paxPath = parsePax(data).get("path") ?? paxPath;
        else longName = data.toString("utf8").replace(/\0+$/, "");
        continue;
      }
      const name = (paxPath ?? longName ?? header.name).replace(/^(\.\/)+/, "").replace(/^\/+/, "");
      paxPath = undefined;
      longName = undefined;
      if (name !== "" && !name.includes("/")) names.add(name);
      const hasData =
        header.type === TarType.File || header.type === TarType.OldFile || header.type === TarType.Contiguous;
      for await (const _ of reader.stream(hasData ? size : 0));
    }
  } finally {
    // Only to let go of the decompressor: trailing bytes after the archive's end may be broken.
    await ignoring(
      reader.drain(),
      ["Z_BUF_ERROR", "Z_DATA_ERROR", "ERR_STREAM_PREMATURE_CLOSE", ImageErrorCode.InvalidLayer],
      undefined,
    );
  }
  return names;
}

/**
 * `path` resolved, refusing anything that leaves `root` through a symlink: an archive could
 * otherwise make us read (and store, or show in an error) any file of the host.
 */
async function insideRoot(root: string, path: string): Promise<string> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (err) {
    throw new ShoalError(ImageErrorCode.InvalidArchive, `archive file "${relative(root, path)}" is missing`, {
      cause: err,
    });
  }
  const realRoot = await realpath(root);
  if (!real.startsWith(`${realRoot}/`)) {
    throw new ShoalError(
      ImageErrorCode.InvalidArchive,
      `archive file "${relative(root, path)}" points outside the archive`,
    );
  }
  return real;
}

async function readInside(root: string, path: string): Promise<Buffer> {
  return readFile(await insideRoot(root, path));
}

async function copyBlob(
  content: ContentStore,
  file: string,
  expected?: string,
): Promise<{ digest: string; sizeBytes: number }> {
  try {
    return await content.write(createReadStream(file), expected);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new ShoalError(ImageErrorCode.InvalidArchive, `archive blob "${expected ?? file}" is missing`, {
        cause: err,
      });
    }
    throw err;
  }
}

function namesFrom(candidates: (string | undefined)[]): string[] {
  const out: string[] = [];
  for (const c of candidates) {
    if (c === undefined) continue;
    const name = tryNormalize(c);
    if (name !== undefined && !out.includes(name)) out.push(name);
  }
  return out;
}

async function importOciLayout(
  content: ContentStore,
  dir: string,
  options: ImportOptions,
  platform: Platform,
): Promise<ImportedManifest[]> {
  const blobPath = (digest: string) => join(dir, "blobs", "sha256", digestHex(digest));
  const indexBytes = await readInside(dir, join(dir, "index.json"));
  const index = parseManifestDocument(indexBytes, MediaType.OciIndex);
  if (index.kind !== "index") throw invalidArchive(dir, "index.json is not an image index");
  const out: ImportedManifest[] = [];
  // Entries for other platforms are skipped unless the layout holds just one image.
  const single = index.manifests.length === 1;
  for (const entry of index.manifests) {
    let manifestDesc = entry;
    let indexDigest: string | undefined;
    if (entry.mediaType === MediaType.OciIndex || entry.mediaType === MediaType.DockerManifestList) {
      const nestedBytes = await readInside(dir, blobPath(entry.digest));
      await content.writeBuffer(nestedBytes, entry.digest);
      const nested = parseManifestDocument(nestedBytes, entry.mediaType) as ParsedIndex;
      manifestDesc = selectPlatform(nested, platform);
      indexDigest = entry.digest;
    } else if (
      !single &&
      entry.platform !== undefined &&
      (entry.platform.os !== platform.os || entry.platform.architecture !== platform.architecture)
    ) {
      continue;
    }
    const manifestBytes = await readInside(dir, blobPath(manifestDesc.digest));
    await content.writeBuffer(manifestBytes, manifestDesc.digest);
    const manifest = parseManifestDocument(manifestBytes, manifestDesc.mediaType);
    if (manifest.kind !== "manifest")
      throw invalidArchive(dir, `"${manifestDesc.digest}" is not an image manifest`);
    for (const blob of [manifest.config, ...manifest.layers]) {
      if (!(await content.has(blob.digest)))
        await copyBlob(content, await insideRoot(dir, blobPath(blob.digest)), blob.digest);
    }
    const annotations = entry.annotations ?? {};
    const refName = annotations["org.opencontainers.image.ref.name"];
    // ref.name is either a full reference or just a tag (then it needs the repository of options.ref).
    let fromRefName: string | undefined;
    if (refName !== undefined) {
      if (/[/:@]/.test(refName)) fromRefName = refName;
      else if (options.ref !== undefined)
        fromRefName = `${parseReference(options.ref).domain}/${parseReference(options.ref).path}:${refName}`;
    }
    out.push({
      manifestDigest: manifestDesc.digest,
      manifestMediaType: manifest.mediaType,
      indexDigest,
      names: namesFrom([annotations["io.containerd.image.name"], fromRefName, options.ref]),
    });
  }
  if (out.length === 0) throw invalidArchive(dir, "the OCI layout has no image for this platform");
  return out;
}

interface DockerSaveEntry {
  Config?: string;
  RepoTags?: string[] | null;
  Layers?: string[];
}

async function importDockerSave(
  content: ContentStore,
  dir: string,
  options: ImportOptions,
): Promise<ImportedManifest[]> {
  let entries: DockerSaveEntry[];
  try {
    entries = JSON.parse(
      (await readInside(dir, join(dir, "manifest.json"))).toString("utf8"),
    ) as DockerSaveEntry[];
  } catch (err) {
    throw invalidArchive(dir, `manifest.json is unreadable (${String(err)})`);
  }
  if (!Array.isArray(entries) || entries.length === 0)
    throw invalidArchive(dir, "manifest.json lists no images");
  const out: ImportedManifest[] = [];
  const inside = (p: string) => {
    if (p.split("/").includes("..") || p.startsWith("/"))
      throw invalidArchive(dir, `path "${p}" leaves the archive`);
    return join(dir, p);
  };
  for (const entry of entries) {
    if (typeof entry.Config !== "string" || !Array.isArray(entry.Layers))
      throw invalidArchive(dir, "a manifest.json entry lacks Config or Layers");
    const config = await copyBlob(content, await insideRoot(dir, inside(entry.Config)));
    const layers = [];
    for (const layerPath of entry.Layers) {
      const blob = await copyBlob(content, await insideRoot(dir, inside(layerPath)));
      const compression = await detectCompression(content.path(blob.digest));
      layers.push({
        mediaType:
          compression === "gzip"
            ? MediaType.OciLayerGzip
            : compression === "zstd"
              ? MediaType.OciLayerZstd
              : MediaType.OciLayer,
        digest: blob.digest,
        size: blob.sizeBytes,
      });
    }
    // docker save carries no distribution manifest: make the OCI one a registry would get on push.
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: { mediaType: MediaType.OciConfig, digest: config.digest, size: config.sizeBytes },
        layers,
      }),
    );
    const stored = await content.writeBuffer(manifest);
    out.push({
      manifestDigest: stored.digest,
      manifestMediaType: MediaType.OciManifest,
      names: namesFrom([...(entry.RepoTags ?? []), options.ref]),
    });
  }
  return out;
}

async function uncompressedDigest(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of openUncompressed(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

async function importRootfs(
  content: ContentStore,
  path: string,
  options: ImportOptions,
  platform: Platform,
  nowMs: number,
): Promise<ImportedManifest[]> {
  const blob = await copyBlob(content, path);
  const compression = await detectCompression(content.path(blob.digest));
  const diffId = compression === "none" ? blob.digest : await uncompressedDigest(content.path(blob.digest));
  const config = await content.writeBuffer(
    synthesizeConfig(diffId, platform, options.config ?? {}, new Date(nowMs).toISOString()),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: config.digest, size: config.sizeBytes },
      layers: [
        {
          mediaType:
            compression === "gzip"
              ? MediaType.OciLayerGzip
              : compression === "zstd"
                ? MediaType.OciLayerZstd
                : MediaType.OciLayer,
          digest: blob.digest,
          size: blob.sizeBytes,
        },
      ],
    }),
  );
  const stored = await content.writeBuffer(manifest);
  return [
    {
      manifestDigest: stored.digest,
      manifestMediaType: MediaType.OciManifest,
      names: namesFrom([options.ref]),
    },
  ];
}

async function isFile(path: string): Promise<boolean> {
  return (await ignoring(stat(path), ["ENOENT", "ENOTDIR"], undefined))?.isFile() === true;
}

/** Detects the archive kind and copies its blobs into `content`; returns the manifests to register. */
export async function importArchive(
  content: ContentStore,
  source: string,
  scratchDir: string,
  options: ImportOptions,
  platform: Platform,
  nowMs: number,
): Promise<ImportedManifest[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(source);
  } catch (err) {
    throw new ShoalError(ImageErrorCode.InvalidArchive, `archive "${source}" does not exist`, { cause: err });
  }
  if (options.ref !== undefined) formatReference(parseReference(options.ref));
  const fromDir = async (dir: string) => {
    if (await isFile(join(dir, "index.json"))) return importOciLayout(content, dir, options, platform);
    if (await isFile(join(dir, "manifest.json"))) return importDockerSave(content, dir, options);
    throw invalidArchive(
      source,
      "the directory has neither index.json (OCI layout) nor manifest.json (docker save)",
    );
  };
  if (info.isDirectory()) return fromDir(source);
  const names = await topLevelTarNames(source).catch((err: unknown) => {
    throw invalidArchive(
      source,
      `it is not a readable tar (${ShoalError.is(err) ? err.message : String(err)})`,
    );
  });
  if (names.has("index.json") || names.has("manifest.json")) {
    const dir = await mkdtemp(join(scratchDir, "import-"));
    try {
      // Image archives hold only plain files; GNU tar detects the compression itself.
      await run("tar", [
        "--extract",
        `--file=${source}`,
        `--directory=${dir}`,
        "--no-same-owner",
        "--no-same-permissions",
      ]);
      return await fromDir(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return importRootfs(content, source, options, platform, nowMs);
}
