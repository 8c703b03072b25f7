import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { ShoalError } from "@shoal/base";
import { syncDir } from "../durable-write.js";
import { ImageErrorCode } from "./errors.js";
import { parseReference, tryNormalize } from "./reference.js";
import type { Platform } from "./types.js";

// The store's small persistent index: which images exist, their names, and who holds them.
// Written whole, atomically and durably (temp file, fsync, rename, dir fsync) after every change;
// a few KiB.

export interface StoredLayer {
  digest: string;
  mediaType: string;
  sizeBytes: number;
  diffId: string;
}

export interface StoredImage {
  id: string;
  manifestDigest: string;
  manifestMediaType: string;
  /** Index/manifest list the manifest was selected from (kept for GC, not for push). */
  indexDigest?: string | undefined;
  names: string[];
  platform: Platform;
  layers: StoredLayer[];
  createdAtMs: number;
}

interface IndexFile {
  version: 1;
  images: StoredImage[];
  /** holderId → image id */
  holds: Record<string, string>;
}

export class StoreIndex {
  readonly images = new Map<string, StoredImage>();
  readonly holds = new Map<string, string>();
  private saving: Promise<void> = Promise.resolve();
  /** The save that has not started yet, if any. */
  private queued: Promise<void> | undefined;

  constructor(private readonly path: string) {}

  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    const file = JSON.parse(text) as IndexFile;
    if (file.version !== 1)
      throw new Error(`image index "${this.path}" has unknown version "${String(file.version)}"`);
    for (const image of file.images) this.images.set(image.id, image);
    for (const [holder, id] of Object.entries(file.holds)) this.holds.set(holder, id);
  }

  /**
   * Persists the current state; saves are serialized so the last one written is the newest. A
   * save asked for while another waits to start joins it: that one takes its snapshot when it
   * starts, so it carries every change made before either call (five containers created at once
   * hold their image with two writes, not five in a row).
   */
  save(): Promise<void> {
    if (this.queued !== undefined) return this.queued;
    const run = async () => {
      // From here on a change needs a save of its own: this snapshot may predate it.
      this.queued = undefined;
      const snapshot: IndexFile = {
        version: 1,
        images: [...this.images.values()],
        holds: Object.fromEntries(this.holds),
      };
      await mkdir(dirname(this.path), { recursive: true });
      const temp = `${this.path}.${randomBytes(4).toString("hex")}.tmp`;
      const handle = await open(temp, "w");
      try {
        await handle.writeFile(JSON.stringify(snapshot));
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await rename(temp, this.path);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
      // The rename itself must survive a power loss: an acknowledged hold or name is never lost.
      await syncDir(dirname(this.path));
    };
    this.saving = this.saving.then(run, run);
    this.queued = this.saving;
    return this.saving;
  }

  holdersOf(id: string): string[] {
    return [...this.holds].filter(([, held]) => held === id).map(([holder]) => holder);
  }

  /** Gives `name` to image `id` alone (a tag moves, as with `docker tag`). */
  assignName(id: string, name: string): void {
    for (const image of this.images.values()) {
      if (image.id !== id) image.names = image.names.filter((n) => n !== name);
    }
    const target = this.images.get(id);
    if (target !== undefined && !target.names.includes(name)) target.names.push(name);
  }

  /** By normalized name, "repo@digest" (manifest digest), full id, or unique id prefix (≥ 6 hex). */
  resolve(ref: string): StoredImage | undefined {
    const idLike = /^(?:sha256:)?([a-f0-9]{6,64})$/.exec(ref);
    if (idLike !== null) {
      const hex = idLike[1] as string;
      const matches = [...this.images.values()].filter((i) => i.id.slice(7).startsWith(hex));
      if (matches.length > 1) {
        throw new ShoalError(
          ImageErrorCode.AmbiguousReference,
          `image id prefix "${ref}" matches ${matches.length} images`,
          {
            hint: "give more characters of the id",
          },
        );
      }
      if (matches.length === 1) return matches[0];
      if (ref.startsWith("sha256:")) return undefined;
    }
    const name = tryNormalize(ref);
    if (name === undefined) return undefined;
    for (const image of this.images.values()) if (image.names.includes(name)) return image;
    const parsed = parseReference(ref);
    if (parsed.digest !== undefined) {
      const repo = `${parsed.domain}/${parsed.path}`;
      for (const image of this.images.values()) {
        if (
          image.manifestDigest === parsed.digest &&
          image.names.some((n) => n.startsWith(`${repo}:`) || n.startsWith(`${repo}@`))
        ) {
          return image;
        }
      }
    }
    return undefined;
  }
}
