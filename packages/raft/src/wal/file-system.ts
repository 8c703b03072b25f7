import { writeSync } from "node:fs";
import * as fsp from "node:fs/promises";

/**
 * The handful of file calls the WAL and the snapshot files make, behind an interface so that the
 * simulator can run the production storage on a file layer that tears, delays and loses writes
 * the way a disk does on a power loss. The default, `nodeFileSystem`, is node:fs with nothing in
 * between (the fast path stays one synchronous page-cache copy plus one fdatasync per batch).
 */
export interface WalFile {
  /** Writes `length` bytes of `data` from `offset` at file `position`. */
  write(data: Uint8Array, offset: number, length: number, position: number): Promise<void>;
  /** The same, synchronously (a copy into the page cache); returns the bytes written. */
  writeSync(data: Uint8Array, offset: number, length: number, position: number): number;
  datasync(): Promise<void>;
  /** fsync; on a directory opened with "r", makes its entries (creates, renames, unlinks) durable. */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface WalFileSystem {
  /** "r": read (also directories, to fsync them); "r+": read and write; "w": create or truncate. */
  open(path: string, flags: "r" | "r+" | "w"): Promise<WalFile>;
  /** Rejects with an error whose `code` is "ENOENT" when the file does not exist. */
  readFile(path: string): Promise<Buffer>;
  readdir(dir: string): Promise<string[]>;
  /** Creates `path` and missing parents; returns the first directory it created (none: undefined). */
  mkdir(path: string): Promise<string | undefined>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; no error when it does not exist. */
  rm(path: string): Promise<void>;
  truncate(path: string, length: number): Promise<void>;
}

class NodeFile implements WalFile {
  constructor(private readonly fh: fsp.FileHandle) {}
  async write(data: Uint8Array, offset: number, length: number, position: number): Promise<void> {
    await this.fh.write(data, offset, length, position);
  }
  writeSync(data: Uint8Array, offset: number, length: number, position: number): number {
    return writeSync(this.fh.fd, data, offset, length, position);
  }
  datasync(): Promise<void> {
    return this.fh.datasync();
  }
  sync(): Promise<void> {
    return this.fh.sync();
  }
  truncate(length: number): Promise<void> {
    return this.fh.truncate(length);
  }
  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }
  close(): Promise<void> {
    return this.fh.close();
  }
}

export const nodeFileSystem: WalFileSystem = {
  open: async (path, flags) => new NodeFile(await fsp.open(path, flags)),
  readFile: (path) => fsp.readFile(path),
  readdir: (dir) => fsp.readdir(dir),
  mkdir: (path) => fsp.mkdir(path, { recursive: true }),
  rename: (from, to) => fsp.rename(from, to),
  rm: (path) => fsp.rm(path, { force: true }),
  truncate: (path, length) => fsp.truncate(path, length),
};
