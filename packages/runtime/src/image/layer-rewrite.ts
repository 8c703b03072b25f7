import { ShoalError } from "@shoal/base";
import { ImageErrorCode } from "./errors.js";
import {
  BLOCK,
  encodeEntry,
  isZeroBlock,
  paddingFor,
  parseHeader,
  parsePax,
  type TarHeader,
  TarType,
} from "./tar-header.js";

// Rewrites a layer tar (OCI/Docker whiteout form) into the form overlayfs reads in a lowerdir, as
// containerd does for overlay snapshots, so GNU tar can extract it directly:
//  - `dir/.wh.name`     → character device 0/0 `dir/name` (overlayfs: "name is deleted below")
//  - `dir/.wh..wh..opq` → `dir` re-emitted with xattr trusted.overlay.opaque=y ("hide everything below")
//  - other `.wh..wh.*`  → dropped (AUFS bookkeeping, meaningless here)
// It also refuses entries that would leave the layer dir: ".." components, or paths through a
// symlink created earlier in the same layer (GNU tar would follow it, possibly to the host's /etc).

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE_MARKER = ".wh..wh..opq";
const XATTR_PAX_PREFIX = "SCHILY.xattr.";
const OVERLAY_XATTR_PAX_PREFIX = `${XATTR_PAX_PREFIX}trusted.overlay.`;

export interface RewriteStats {
  entries: number;
  whiteouts: number;
  opaqueDirs: number;
  /** Entries whose trusted.overlay.* xattrs were dropped. */
  droppedOverlayXattrs: number;
}

/** Reads exact byte counts from an async iterable of chunks without copying more than needed. */
export class ByteReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private readonly iterator: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.iterator.next();
    if (next.done === true) {
      this.ended = true;
      return false;
    }
    if (next.value.length > 0) {
      this.chunks.push(next.value);
      this.buffered += next.value.length;
    }
    return true;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const chunk = this.chunks[0] as Buffer;
      if (chunk.length <= need) {
        parts.push(chunk);
        this.chunks.shift();
        need -= chunk.length;
      } else {
        parts.push(chunk.subarray(0, need));
        this.chunks[0] = chunk.subarray(need);
        need = 0;
      }
    }
    this.buffered -= n;
    return Buffer.concat(parts, n);
  }

  /** Exactly n bytes, or undefined at a clean end of input; throws on a truncated read. */
  async read(n: number): Promise<Buffer | undefined> {
    while (this.buffered < n) {
      if (!(await this.fill())) {
        if (this.buffered === 0) return undefined;
        throw truncated();
      }
    }
    return this.take(n);
  }

  /** Yields the next n bytes as they arrive (no buffering of large file bodies). */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill())) throw truncated();
      const first = this.chunks[0];
      if (first === undefined) continue;
      const size = Math.min(left, first.length);
      left -= size;
      yield this.take(size);
    }
  }

  /** Consumes the rest of the input (tar's record padding still counts for the diff id). */
  async drain(): Promise<void> {
    this.chunks.length = 0;
    this.buffered = 0;
    while (await this.fill()) {
      this.chunks.length = 0;
      this.buffered = 0;
    }
  }
}

function truncated(): ShoalError {
  return new ShoalError(
    ImageErrorCode.InvalidLayer,
    "layer tar ends in the middle of an entry: the layer is truncated",
  );
}

/** "./a//b/" → "a/b"; throws on ".." so nothing lands outside the layer dir. */
export function cleanEntryPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      throw new ShoalError(
        ImageErrorCode.InvalidLayer,
        `layer entry "${path}" escapes the layer directory with ".."`,
      );
    }
    parts.push(part);
  }
  return parts.join("/");
}

function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function refuseThroughSymlink(path: string, rawPath: string, symlinks: Set<string>): void {
  if (symlinks.size === 0) return;
  const parts = path.split("/");
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join("/");
    if (symlinks.has(prefix)) {
      throw new ShoalError(
        ImageErrorCode.InvalidLayer,
        `layer entry "${rawPath}" goes through symlink "${prefix}" of the same layer`,
      );
    }
  }
}

interface DirSeen {
  header: TarHeader;
  xattrs: Map<string, string>;
}

function entryHasData(type: string): boolean {
  // Links, directories and devices carry no data even if a writer put a size in the header.
  return (
    type === TarType.File || type === TarType.OldFile || type === TarType.Contiguous || !/[0-7]/.test(type)
  );
}

/** Streams `source` (an uncompressed layer tar) out in overlayfs form; see the file comment. */
export async function* rewriteLayerTar(reader: ByteReader, stats: RewriteStats): AsyncGenerator<Buffer> {
  const dirs = new Map<string, DirSeen>();
  const symlinks = new Set<string>();
  let pax = new Map<string, string>();
  let meta: Buffer[] = [];
  let longName: string | undefined;
  let longLink: string | undefined;

  for (;;) {
    const block = await reader.read(BLOCK);
    if (block === undefined || isZeroBlock(block)) break;
    const header = parseHeader(block);
    if (
      header.type === TarType.PaxHeader ||
      header.type === TarType.GnuLongName ||
      header.type === TarType.GnuLongLink
    ) {
      const body = await reader.read(header.size + paddingFor(header.size));
      if (body === undefined) throw truncated();
      const data = body.subarray(0, header.size);
      if (header.type === TarType.PaxHeader) for (const [k, v] of parsePax(data)) pax.set(k, v);
      else if (header.type === TarType.GnuLongName) longName = data.toString("utf8").replace(/\0+$/, "");
      else longLink = data.toString("utf8").replace(/\0+$/, "");
      meta.push(block, body);
      continue;
    }
    if (header.type === TarType.PaxGlobal) {
      const body = await reader.read(header.size + paddingFor(header.size));
      if (body === undefined) throw truncated();
      yield Buffer.concat([block, body]);
      continue;
    }

    const rawPath = pax.get("path") ?? longName ?? header.name;
    const sizeText = pax.get("size");
    const size = sizeText === undefined ? header.size : Number.parseInt(sizeText, 10);
    const dataBytes = entryHasData(header.type) ? size + paddingFor(size) : 0;
    const path = cleanEntryPath(rawPath);
    refuseThroughSymlink(path, rawPath, symlinks);
    stats.entries++;
    const name = basename(path);
    const parent = dirname(path);

    if (name.startsWith(WHITEOUT_PREFIX)) {
      for await (const _ of reader.stream(dataBytes));
      if (name === OPAQUE_MARKER) {
        const seen = dirs.get(parent);
        const xattrs = new Map(seen?.xattrs ?? []);
        xattrs.set(`${XATTR_PAX_PREFIX}trusted.overlay.opaque`, "y");
        const base: TarHeader = seen?.header ?? {
          name: "",
          mode: 0o755,
          uid: 0,
          gid: 0,
          size: 0,
          mtime: header.mtime,
          type: TarType.Directory,
          linkname: "",
          devmajor: 0,
          devminor: 0,
        };
        yield encodeEntry({ ...base, name: parent === "" ? "./" : `${parent}/`, size: 0 }, xattrs);
        stats.opaqueDirs++;
      } else if (!name.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) {
        const target = `${parent === "" ? "" : `${parent}/`}${name.slice(WHITEOUT_PREFIX.length)}`;
        yield encodeEntry({
          name: target,
          mode: 0,
          uid: header.uid,
          gid: header.gid,
          size: 0,
          mtime: header.mtime,
          type: TarType.CharDevice,
          linkname: "",
          devmajor: 0,
          devminor: 0,
        });
        stats.whiteouts++;
      }
    } else {
      if (header.type === TarType.Directory) {
        const xattrs = new Map([...pax].filter(([k]) => k.startsWith(XATTR_PAX_PREFIX)));
        dirs.set(path, { header, xattrs });
      }
      if (header.type === TarType.Symlink) symlinks.add(path);
      else symlinks.delete(path);
      if (header.type === TarType.HardLink) {
        // link(2) resolves the target's parents: a hardlink "through" a symlink could pin a host file.
        const rawTarget = pax.get("linkpath") ?? longLink ?? header.linkname;
        refuseThroughSymlink(cleanEntryPath(rawTarget), rawTarget, symlinks);
      }
      if ([...pax.keys()].some((k) => k.startsWith(OVERLAY_XATTR_PAX_PREFIX))) {
        // overlayfs metadata is ours to write: a layer carrying trusted.overlay.* (opaque,
        // redirect, metacopy) would change what the merged tree shows. Drop it, as containerd does.
        stats.droppedOverlayXattrs++;
        const kept = new Map([...pax].filter(([k]) => !k.startsWith(OVERLAY_XATTR_PAX_PREFIX)));
        const linkname = pax.get("linkpath") ?? longLink ?? header.linkname;
        yield encodeEntry(
          { ...header, name: rawPath, linkname, size: entryHasData(header.type) ? size : 0 },
          kept,
        );
      } else {
        for (const part of meta) yield part;
        yield block;
      }
      yield* reader.stream(dataBytes);
    }
    pax = new Map();
    meta = [];
    longName = undefined;
    longLink = undefined;
  }
  yield Buffer.alloc(BLOCK * 2);
}
