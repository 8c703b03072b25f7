import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
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
 * one whole record, and nothing is ever queried but "all of them at start-up". An append of one
 * line followed by fdatasync is the whole transaction; a crash can tear at most the last line,
 * which open() drops (it was never acknowledged: `put` returns only after the sync). No native
 * module to build on every node, and the file reads with `jq`. The log is rewritten (temp file,
 * fsync, rename, dir fsync) when it holds more superseded lines than live ones.
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

export class AgentRecords {
  private readonly records = new Map<string, TaskRecord>();
  private fd: number;
  private lines = 0;

  private constructor(
    private readonly dir: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  static async open(options: { dir: string }): Promise<AgentRecords> {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    const path = join(options.dir, RECORDS_FILE);
    const text = existsSync(path) ? readFileSync(path, "utf8") : "";
    const fd = openSync(path, "a+", 0o600);
    const records = new AgentRecords(options.dir, fd);
    const valid = records.replay(text, path);
    // A torn last line (crash mid-append) is cut off so the next append starts on a fresh line.
    if (valid < Buffer.byteLength(text)) ftruncateSync(fd, valid);
    return records;
  }

  get(id: string): TaskRecord | undefined {
    return this.records.get(id);
  }

  all(): TaskRecord[] {
    return [...this.records.values()];
  }

  /** Durable when it returns. */
  put(record: TaskRecord): void {
    this.records.set(record.task.id, record);
    this.append({
      id: record.task.id,
      task: Task.toJSON(record.task),
      status: TaskStatus.toJSON(record.status),
      seq: record.seq,
      net: record.networkAttached,
    });
  }

  delete(id: string): void {
    if (!this.records.delete(id)) return;
    this.append({ id, deleted: true });
  }

  close(): void {
    closeSync(this.fd);
  }

  private append(line: Line): void {
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
    fdatasyncSync(this.fd);
    this.lines++;
    if (this.lines > COMPACT_MIN_LINES && this.lines > 2 * this.records.size) this.compact();
  }

  private compact(): void {
    const path = join(this.dir, RECORDS_FILE);
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    for (const r of this.records.values()) {
      const line: Line = {
        id: r.task.id,
        task: Task.toJSON(r.task),
        status: TaskStatus.toJSON(r.status),
        seq: r.seq,
        net: r.networkAttached,
      };
      writeSync(fd, `${JSON.stringify(line)}\n`);
    }
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
    const dirFd = openSync(this.dir, "r");
    fsyncSync(dirFd);
    closeSync(dirFd);
    closeSync(this.fd);
    this.fd = openSync(path, "a+", 0o600);
    this.lines = this.records.size;
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
