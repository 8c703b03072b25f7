import type { ImageSummary } from "@shoal/proto";

/** One line of `shoal image ls`: an image under one of its names (docker prints one per tag). */
export interface ImageRow {
  repository: string;
  tag: string;
  /** The first 12 hex digits of the id, as docker shows it. */
  shortId: string;
  image: ImageSummary;
}

/** "host:5000/a/b:1" → ["host:5000/a/b", "1"]; a digest reference has no tag ("<none>"). */
export function splitReference(ref: string): { repository: string; tag: string } {
  const at = ref.indexOf("@");
  if (at >= 0) return { repository: ref.slice(0, at), tag: "<none>" };
  const colon = ref.lastIndexOf(":");
  if (colon > ref.lastIndexOf("/")) return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repository: ref, tag: "latest" };
}

export function shortImageId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

/** Every name of every image, sorted by repository and tag; an image with none is `<none> <none>`. */
export function imageRows(images: readonly ImageSummary[]): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const image of images) {
    const shortId = shortImageId(image.id);
    if (image.names.length === 0) rows.push({ repository: "<none>", tag: "<none>", shortId, image });
    for (const name of image.names) rows.push({ ...splitReference(name), shortId, image });
  }
  return rows.sort((a, b) => a.repository.localeCompare(b.repository) || a.tag.localeCompare(b.tag));
}

/** Sizes as docker prints them: SI units, three significant digits ("4.26MB", "512B"). */
export function formatSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i++;
  }
  const text = i === 0 ? String(value) : value.toPrecision(3).replace(/\.?0+$/, "");
  return `${text}${units[i]}`;
}
