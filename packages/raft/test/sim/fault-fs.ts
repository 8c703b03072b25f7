import { basename, dirname } from "node:path";
import type { Random } from "@shoal/base";
import type { WalFile, WalFileSystem } from "@shoal/raft/wal";

// A file system in memory that behaves like a disk under power loss, for running the production
// WalStorage in the simulator. Each simulated machine has one FaultDisk (it survives crashes); each
// process incarnation mounts a view of it (a WalFileSystem) that dies with the process.
//
// What it models:
// - a write lands in the page cache (visible to reads at once) and is durable only after an
//   fsync/fdatasync of that file completed; on a crash every write since the last sync is kept,
//   torn (a random prefix of it kept) or lost, independently;
// - a directory entry (create, rename, unlink, mkdir) is durable only after an fsync of that
//   directory; on a crash each changed name independently keeps its new or its old target;
// - fsync takes virtual time (the disk latency the simulator chooses), so messages sent while it
//   runs leave before the data is durable;
// - crash points at an fsync: the process dies as the fsync starts (nothing of it durable), or
//   right after it completed (durable, but the caller never learns it).

type Op = { kind: "write"; pos: number; data: Buffer } | { kind: "truncate"; size: number };

class Bytes {
  buf: Buffer;
  size: number;
  constructor(buf = Buffer.alloc(0), size = 0) {
    this.buf = buf;
    this.size = size;
  }
  clone(): Bytes {
    return new Bytes(Buffer.from(this.buf.subarray(0, this.size)), this.size);
  }
  apply(op: Op): void {
    if (op.kind === "truncate") {
      if (op.size > this.size) this.ensure(op.size);
      else this.buf.fill(0, op.size, this.size);
      this.size = op.size;
      return;
    }
    const end = op.pos + op.data.length;
    this.ensure(end);
    op.data.copy(this.buf, op.pos);
    if (end > this.size) this.size = end;
  }
  private ensure(size: number): void {
    if (size <= this.buf.length) return;
    const grown = Buffer.alloc(Math.max(size, this.buf.length * 2, 4096));
    this.buf.copy(grown, 0, 0, this.size);
    this.buf = grown;
  }
}

/** Set `log` to trace every file operation (debugging a seed). */
export const faultFsTrace: { log?: (line: string) => void } = {};

class FileNode {
  readonly kind = "file";
  constructor(readonly fileId: string) {}
  current = new Bytes();
  durable = new Bytes();
  pending: Op[] = [];

  record(op: Op): void {
    faultFsTrace.log?.(
      `file ${this.fileId} ${op.kind === "write" ? `write ${op.pos}+${op.data.length}` : `truncate ${op.size}`}`,
    );
    this.current.apply(op);
    this.pending.push(op);
  }

  /** Makes the first `count` pending operations durable. */
  syncUpTo(count: number): void {
    faultFsTrace.log?.(`file ${this.fileId} synced ${count} of ${this.pending.length}`);
    for (const op of this.pending.splice(0, count)) this.durable.apply(op);
  }

  crash(random: Random): void {
    for (const op of this.pending) {
      const roll = random.next();
      faultFsTrace.log?.(
        `file ${this.fileId} crash: ${op.kind} ${roll < 0.4 ? "kept" : roll < 0.7 ? "torn" : "lost"}`,
      );
      if (roll < 0.4) this.durable.apply(op);
      else if (roll < 0.7 && op.kind === "write" && op.data.length > 1) {
        this.durable.apply({
          kind: "write",
          pos: op.pos,
          data: op.data.subarray(0, random.int(op.data.length)),
        });
      }
    }
    this.pending = [];
    this.current = this.durable.clone();
  }
}

class DirNode {
  readonly kind = "dir";
  current = new Map<string, FileNode | DirNode>();
  durable = new Map<string, FileNode | DirNode>();

  sync(): void {
    this.durable = new Map(this.current);
  }

  crash(random: Random): void {
    const names = new Set([...this.current.keys(), ...this.durable.keys()]);
    const next = new Map<string, FileNode | DirNode>();
    for (const name of [...names].sort()) {
      const now = this.current.get(name);
      const before = this.durable.get(name);
      const keep = now === before ? now : random.chance(0.5) ? now : before;
      if (keep !== undefined) next.set(name, keep);
    }
    this.current = next;
    this.durable = new Map(next);
  }
}

function enoent(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, "${path}"`), { code: "ENOENT" });
}

export type CrashPoint = "syncStart" | "syncDone";

export interface MountHooks {
  /** Resolves after `ms` of virtual time on this process's clock (never, if it crashed). */
  wait(ms: number): Promise<void>;
  /** Latency of the next fsync, in ms. */
  syncLatencyMs(): number;
  /** Called at each fsync; returning true crashes the process there (see CrashPoint). */
  crashAt(point: CrashPoint): boolean;
  /** A promise that never settles: what a dead process's pending calls turn into. */
  dead(): Promise<never>;
  alive(): boolean;
}

/** One machine's disk: survives crashes of the processes that mount it. */
export class FaultDisk {
  private readonly root = new DirNode();
  /** fsyncs completed (for tests of the model). */
  syncs = 0;

  constructor(readonly label = "") {
    this.root.sync();
  }

  /** A file system for one process incarnation. */
  mount(hooks: MountHooks): WalFileSystem {
    return new FaultFs(this, hooks);
  }

  /** Power loss: every unsynced write and directory change is kept, torn or lost. */
  crash(random: Random): void {
    const dirs: DirNode[] = [];
    const files = new Set<FileNode>();
    const visit = (d: DirNode) => {
      dirs.push(d);
      const children = new Set([...d.current.values(), ...d.durable.values()]);
      for (const c of children) {
        if (c.kind === "dir") visit(c);
        else files.add(c);
      }
    };
    visit(this.root);
    for (const f of files) f.crash(random);
    for (const d of dirs) d.crash(random);
  }

  /** @internal */
  lookup(path: string): FileNode | DirNode | undefined {
    if (path === "/") return this.root;
    let node: FileNode | DirNode = this.root;
    for (const part of path.split("/").filter((p) => p.length > 0)) {
      if (node.kind !== "dir") return undefined;
      const next: FileNode | DirNode | undefined = node.current.get(part);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  /** @internal */
  parentOf(path: string): DirNode {
    const parent = this.lookup(dirname(path));
    if (parent === undefined || parent.kind !== "dir") throw enoent(dirname(path));
    return parent;
  }
}

class FaultFile implements WalFile {
  constructor(
    private readonly fs: FaultFs,
    private readonly node: FileNode | DirNode,
    private readonly path: string,
  ) {}

  private file(): FileNode {
    if (this.node.kind !== "file") throw new Error(`EISDIR: "${this.path}" is a directory`);
    return this.node;
  }

  async write(data: Uint8Array, offset: number, length: number, position: number): Promise<void> {
    if (!this.fs.hooks.alive()) return this.fs.hooks.dead();
    this.writeSync(data, offset, length, position);
  }

  writeSync(data: Uint8Array, offset: number, length: number, position: number): number {
    // A dead process writes nothing (its code never runs on, but be sure of it).
    if (!this.fs.hooks.alive()) return length;
    const copy = Buffer.from(data.subarray(offset, offset + length));
    this.file().record({ kind: "write", pos: position, data: copy });
    return length;
  }

  datasync(): Promise<void> {
    return this.sync();
  }

  async sync(): Promise<void> {
    const hooks = this.fs.hooks;
    if (!hooks.alive()) return hooks.dead();
    if (hooks.crashAt("syncStart")) return hooks.dead();
    const node = this.node;
    const count = node.kind === "file" ? node.pending.length : 0;
    await hooks.wait(hooks.syncLatencyMs());
    if (node.kind === "file") node.syncUpTo(count);
    else node.sync();
    this.fs.disk.syncs++;
    if (hooks.crashAt("syncDone")) return hooks.dead();
  }

  async truncate(length: number): Promise<void> {
    if (!this.fs.hooks.alive()) return this.fs.hooks.dead();
    this.file().record({ kind: "truncate", size: length });
  }

  async size(): Promise<number> {
    return this.file().current.size;
  }

  async close(): Promise<void> {}
}

class FaultFs implements WalFileSystem {
  constructor(
    readonly disk: FaultDisk,
    readonly hooks: MountHooks,
  ) {}

  async open(path: string, flags: "r" | "r+" | "w"): Promise<WalFile> {
    if (!this.hooks.alive()) return this.hooks.dead();
    let node = this.disk.lookup(path);
    if (node === undefined) {
      if (flags !== "w") throw enoent(path);
      node = new FileNode(`${this.disk.label}${path}`);
      this.disk.parentOf(path).current.set(basename(path), node);
    } else if (flags === "w" && node.kind === "file") {
      node.record({ kind: "truncate", size: 0 });
    }
    return new FaultFile(this, node, path);
  }

  async readFile(path: string): Promise<Buffer> {
    if (!this.hooks.alive()) return this.hooks.dead();
    const node = this.disk.lookup(path);
    if (node === undefined || node.kind !== "file") throw enoent(path);
    return Buffer.from(node.current.buf.subarray(0, node.current.size));
  }

  async readdir(dir: string): Promise<string[]> {
    if (!this.hooks.alive()) return this.hooks.dead();
    const node = this.disk.lookup(dir);
    if (node === undefined || node.kind !== "dir") throw enoent(dir);
    return [...node.current.keys()].sort();
  }

  async mkdir(path: string): Promise<string | undefined> {
    if (!this.hooks.alive()) return this.hooks.dead();
    const missing: string[] = [];
    for (let p = path; this.disk.lookup(p) === undefined; p = dirname(p)) missing.unshift(p);
    for (const p of missing) this.disk.parentOf(p).current.set(basename(p), new DirNode());
    return missing[0];
  }

  async rename(from: string, to: string): Promise<void> {
    if (!this.hooks.alive()) return this.hooks.dead();
    const src = this.disk.parentOf(from);
    const node = src.current.get(basename(from));
    if (node === undefined) throw enoent(from);
    src.current.delete(basename(from));
    this.disk.parentOf(to).current.set(basename(to), node);
  }

  async rm(path: string): Promise<void> {
    if (!this.hooks.alive()) return this.hooks.dead();
    const parent = this.disk.lookup(dirname(path));
    if (parent !== undefined && parent.kind === "dir") parent.current.delete(basename(path));
  }

  async truncate(path: string, length: number): Promise<void> {
    if (!this.hooks.alive()) return this.hooks.dead();
    const node = this.disk.lookup(path);
    if (node === undefined || node.kind !== "file") throw enoent(path);
    node.record({ kind: "truncate", size: length });
  }
}
