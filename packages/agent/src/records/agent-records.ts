import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { type FileHandle, open, rename } from "node:fs/promises";
import { join } from "node:path";
import { ShoalError } from "@shoal/base";
import { Task, TaskStatus } from "@shoal/proto";
import { AgentErrorCode } from "../errors.js";

/**
 * The agent's own durable records (DESIGN.md §2 `agent.db`): per task, the last assignment and
 * the status the agent gave it. A restarted agent re-adopts its containers from these before any
 * manager answers, and the reporter re-sends every status from them.
 *
 * Why a JSON-lines file and not SQLite: a node holds tens to hundreds of records, each write is
 * one whole record, and nothing is ever queried but "all of them at start-up". An append of lines
 * followed by fdatasync is the whole transaction; a crash can tear at most the last line, which
 * open() drops (it was never acknowledged: `durable()` resolves only after the sync). No native
 * module to build on every node, and the file reads with `jq`. The log is rewritten (temp file,
 * fsync, rename, dir fsync) when it holds more superseded lines than live ones.
 *
 * Group commit: `put` and `delete` change the records in memory at once and queue their line; the
 * lines queued while no write is in flight go to the file at the next turn of the event loop in
 * one write and one fdatasync, off the event loop (a container start puts about ten records, and
 * a synchronous fdatasync each once held the daemon's event loop for seconds on a busy disk);
 * lines queued while a write is in flight go together right after it. Whoever must not act
 * before a record is on disk awaits `durable()`: the reporter before it sends a status, a task
 * controller before each effect on the node.
 */
export const RECORDS_FILE = "agent-records.jsonl";
const COMPACT_MIN_LINES = 64;

export interface TaskRecord {
  /** The last assignment the agent got for the task (desired state, spec). */
  task: Task;
  /** The agent's own view of the task's status: the truth from ACCEPTED on. */
  status: TaskStatus;
  /** Bumped at every status change; the reporter sends a record whose seq it has not sent. */
  seq: number;
  /** A network attachment may exist (recorded before attaching, cleared after detaching). */
  networkAttached: boolean;
}

type Line =
  | { id: string; deleted: true }
  | { id: string; task: unknown; status: unknown; seq: number; net: boolean };

/** One group write: the lines queued for it, and who waits for it to be on disk. */
interface Group {
  lines: string[];
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function newGroup(): Group {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Handled here: a failed write is the error of whoever awaits `durable()`, not an unhandled
  // rejection that would take the daemon down while nobody waits for that group.
  done.catch(() => undefined);
  return { lines: [], done, resolve, reject };
}

export class AgentRecords {
  private readonly records = new Map<string, TaskRecord>();
  private file: FileHandle;
  /** Lines in the file (complete ones: what a reopen replays). */
  private lines = 0;
  /** Lines not written yet; their write starts at the next tick, or after the one in flight. */
  private queued: Group | undefined;
  /** The write in flight. */
  private writing: Group | undefined;
  /** A write failed (it may have left part of a line): the next one rewrites the whole file. */
  private rewrite = false;
  private closed = false;

  private constructor(
    private readonly dir: string,
    file: FileHandle,
  ) {
    this.file = file;
  }

  static async open(options: { dir: string }): Promise<AgentRecords> {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    const path = join(options.dir, RECORDS_FILE);
    const text = existsSync(path) ? readFileSync(path, "utf8") : "";
    const file = await open(path, "a+", 0o600);
    try {
      const records = new AgentRecords(options.dir, file);
      const valid = records.replay(text, path);
      // A torn last line (crash mid-append) is cut off so the next append starts on a fresh line.
      if (valid < Buffer.byteLength(text)) await file.truncate(valid);
      return records;
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  get(id: string): TaskRecord | undefined {
    return this.records.get(id);
  }

  all(): TaskRecord[] {
    return [...this.records.values()];
  }

  /** At once in memory; on disk when a later `durable()` resolves. */
  put(record: TaskRecord): void {
    this.assertOpen();
    this.records.set(record.task.id, record);
    this.queue(lineOf(record));
  }

  delete(id: string): void {
    this.assertOpen();
    if (!this.records.delete(id)) return;
    this.queue({ id, deleted: true });
  }

  /**
   * Resolves once every put and delete made before the call is on disk; rejects when the write
   * that carries one of them failed (the next write then rewrites the whole file from memory).
   */
  durable(): Promise<void> {
    return (this.queued ?? this.writing)?.done ?? Promise.resolve();
  }

  /** Writes what is queued and closes the file; later puts throw AGENT_RECORDS_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (let group = this.queued ?? this.writing; group !== undefined; group = this.queued ?? this.writing) {
      if (group === this.queued && this.writing === undefined) this.flush();
      await group.done.catch(() => undefined);
    }
    await this.file.close();
  }

  private assertOpen(): void {
    if (this.closed)
      throw new ShoalError(AgentErrorCode.RecordsClosed, `agent records "${this.dir}" are closed`, {
        hint: "open the records again (a stopping agent changes no record)",
      });
  }

  private queue(line: Line): void {
    if (this.queued === undefined) {
      this.queued = newGroup();
      // At the next tick, so the puts of this one share the write; after the write in flight, so
      // lines reach the file in order.
      if (this.writing === undefined) setImmediate(() => this.flush());
    }
    this.queued.lines.push(`${JSON.stringify(line)}\n`);
  }

  private flush(): void {
    const group = this.queued;
    if (group === undefined || this.writing !== undefined) return;
    this.queued = undefined;
    this.writing = group;
    const settled = () => {
      this.writing = undefined;
      if (this.queued !== undefined) this.flush();
    };
    this.write(group.lines).then(
      () => {
        group.resolve();
        settled();
      },
      (err: unknown) => {
        this.rewrite = true;
        group.reject(err);
        settled();
      },
    );
  }

  private async write(lines: readonly string[]): Promise<void> {
    const total = this.lines + lines.length;
    // The snapshot of a rewrite holds these lines' changes already (memory is ahead of the file).
    if (this.rewrite || (total > COMPACT_MIN_LINES && total > 2 * this.records.size)) {
      await this.compact();
      this.rewrite = false;
      return;
    }
    await this.file.appendFile(lines.join(""));
    await this.file.datasync();
    this.lines = total;
  }

  /** Rewrites the file from memory (temp file, fsync, rename, dir fsync). */
  private async compact(): Promise<void> {
    // Taken before the first await: puts made meanwhile are in the next group, appended after.
    const text = [...this.records.values()].map((r) => `${JSON.stringify(lineOf(r))}\n`).join("");
    const count = this.records.size;
    const path = join(this.dir, RECORDS_FILE);
    const tmp = `${path}.tmp`;
    const out = await open(tmp, "w", 0o600);
    try {
      await out.writeFile(text);
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, path);
    const dir = await open(this.dir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    const previous = this.file;
    this.file = await open(path, "a", 0o600);
    await previous.close();
    this.lines = count;
  }

  /** Applies every complete line; returns the byte length of the valid prefix. */
  private replay(text: string, path: string): number {
    let offset = 0;
    let lineNo = 0;
    while (offset < text.length) {
      const end = text.indexOf("\n", offset);
      const raw = end < 0 ? text.slice(offset) : text.slice(offset, end);
      lineNo++;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch (err) {
        if (end < 0) break; // torn last line: never acknowledged
        throw new ShoalError(
          AgentErrorCode.RecordsCorrupt,
          `agent records "${path}" line ${lineNo} is not JSON`,
          {
            cause: err,
            hint: "move the file aside to start the agent without records (running containers are then left alone)",
          },
        );
      }
      if (end < 0) break; // a complete JSON value without its newline was still never synced as a line
      if ("deleted" in line) this.records.delete(line.id);
      else {
        this.records.set(line.id, {
          task: Task.fromJSON(line.task),
          status: TaskStatus.fromJSON(line.status),
          seq: line.seq,
          networkAttached: line.net,
        });
      }
      this.lines++;
      offset = end + 1;
    }
    return Buffer.byteLength(text.slice(0, offset));
  }
}

function lineOf(r: TaskRecord): Line {
  return {
    id: r.task.id,
    task: Task.toJSON(r.task),
    status: TaskStatus.toJSON(r.status),
    seq: r.seq,
    net: r.networkAttached,
  };
}
