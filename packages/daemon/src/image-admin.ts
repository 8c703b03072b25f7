// `shoal image …` on the admin socket: the NodeAdmin image calls, served from the node's image
// store (the one its task controllers pull into). Errors are the runtime's IMAGE_* codes
// (IMAGE_NOT_FOUND, IMAGE_NOT_FOUND_IN_REGISTRY, IMAGE_REGISTRY_UNREACHABLE, …), unchanged.
import { isAbsolute } from "node:path";
import { type Logger, ShoalError } from "@shoal/base";
import { unaryHandler } from "@shoal/manager";
import type {
  ImageSummary,
  ImportImageRequest,
  ImportImageResponse,
  ListImagesResponse,
  PullImageRequest,
  PullImageResponse,
  PushImageRequest,
  PushImageResponse,
  RemoveImageRequest,
  RemoveImageResponse,
  TagImageRequest,
  TagImageResponse,
} from "@shoal/proto";
import type { ImageRecord, LocalImageStore } from "@shoal/runtime";
import { DaemonErrorCode } from "./errors.js";

/** The wire summary of a stored image (pure). */
export function toImageSummary(r: ImageRecord): ImageSummary {
  const p = r.platform;
  return {
    id: r.id,
    names: [...r.names].sort(),
    manifestDigest: r.manifestDigest,
    platform: [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join("/"),
    sizeBytes: r.sizeBytes,
    createdAtMs: r.createdAtMs,
  };
}

function required(value: string, field: string): string {
  if (value.trim() === "") {
    throw new ShoalError(DaemonErrorCode.InvalidArgument, `${field} is empty`, {
      hint: "name an image, e.g. registry:5000/app:1",
    });
  }
  return value.trim();
}

/** The NodeAdmin image handlers over `store()` (opened on first use). */
export function imageAdminHandlers(store: () => Promise<LocalImageStore>, logger: Logger) {
  return {
    listImages: unaryHandler(
      logger,
      async (): Promise<ListImagesResponse> => ({
        images: (await store())
          .list()
          .map(toImageSummary)
          .sort((a, b) => b.createdAtMs - a.createdAtMs || a.id.localeCompare(b.id)),
      }),
    ),
    pullImage: unaryHandler(logger, async (req: PullImageRequest, ctx): Promise<PullImageResponse> => {
      const record = await (await store()).pull(required(req.reference, "reference"), { signal: ctx.signal });
      return { image: toImageSummary(record) };
    }),
    importImage: unaryHandler(logger, async (req: ImportImageRequest): Promise<ImportImageResponse> => {
      const path = required(req.path, "path");
      if (!isAbsolute(path)) {
        throw new ShoalError(DaemonErrorCode.InvalidArgument, `import path "${path}" is not absolute`, {
          hint: "give the daemon an absolute path on this node",
        });
      }
      const records = await (await store()).importImage(
        path,
        req.reference === "" ? {} : { ref: req.reference },
      );
      return { images: records.map(toImageSummary) };
    }),
    tagImage: unaryHandler(logger, async (req: TagImageRequest): Promise<TagImageResponse> => {
      const record = await (await store()).tag(
        required(req.source, "source"),
        required(req.target, "target"),
      );
      return { image: toImageSummary(record) };
    }),
    pushImage: unaryHandler(logger, async (req: PushImageRequest, ctx): Promise<PushImageResponse> => {
      const reference = required(req.reference, "reference");
      const { digest } = await (await store()).push(reference, undefined, { signal: ctx.signal });
      return { reference, digest };
    }),
    removeImage: unaryHandler(logger, async (req: RemoveImageRequest): Promise<RemoveImageResponse> => {
      const s = await store();
      const out: RemoveImageResponse = { untagged: [], deleted: [] };
      for (const ref of req.references) {
        const r = await s.remove(required(ref, "reference"), { force: req.force });
        out.untagged.push(...r.untagged);
        out.deleted.push(...r.deletedImages);
      }
      return out;
    }),
  };
}
