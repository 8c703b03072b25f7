import { ShoalError } from "@shoal/base";
import type { Config, Secret, Task } from "@shoal/proto";
import { AgentErrorCode } from "../errors.js";
import type { TaskFile } from "../executor/engine.js";
import { type FileLookup, taskFiles } from "./task-files.js";

/**
 * The secrets and configs the dispatcher gave this node, in memory only (swarmkit's
 * `agent/secrets`): a COMPLETE assignment replaces them, increments add and remove, so the node
 * holds exactly those its tasks need. Never written to disk: after an agent restart they come back
 * with the first complete assignment, and a task created before that waits for it.
 */
export class AssignedFiles implements FileLookup {
  private readonly secrets = new Map<string, Secret>();
  private readonly configs = new Map<string, Config>();
  /** A complete set arrived in this process: a reference still missing then is an error. */
  private complete = false;
  private waiters = new Set<() => void>();

  replace(secrets: readonly Secret[], configs: readonly Config[]): void {
    this.secrets.clear();
    this.configs.clear();
    for (const s of secrets) this.secrets.set(s.id, s);
    for (const c of configs) this.configs.set(c.id, c);
    this.complete = true;
    this.changed();
  }

  putSecret(s: Secret): void {
    this.secrets.set(s.id, s);
    this.changed();
  }

  putConfig(c: Config): void {
    this.configs.set(c.id, c);
    this.changed();
  }

  removeSecret(id: string): void {
    this.secrets.delete(id);
  }

  removeConfig(id: string): void {
    this.configs.delete(id);
  }

  /** Ids held now (for tests and inspection; the data stays here). */
  heldIds(): { secrets: string[]; configs: string[] } {
    return { secrets: [...this.secrets.keys()], configs: [...this.configs.keys()] };
  }

  secret(id: string, name: string): Secret | undefined {
    return this.secrets.get(id) ?? (id === "" ? byName(this.secrets, name) : undefined);
  }

  config(id: string, name: string): Config | undefined {
    return this.configs.get(id) ?? (id === "" ? byName(this.configs, name) : undefined);
  }

  /**
   * The task's files. Before the first complete assignment of this process a missing reference is
   * waited for (the session is still connecting); after it, `AGENT_FILES_MISSING` (transient: an
   * increment may bring it).
   */
  async forTask(task: Task, signal: AbortSignal): Promise<TaskFile[]> {
    for (;;) {
      const { files, missing } = taskFiles(task, this);
      if (missing.length === 0) return files;
      if (this.complete) {
        throw new ShoalError(AgentErrorCode.FilesMissing, `${missing.join(", ")} not given to this node`, {
          hint: "the manager sends a task's secrets and configs with it; check that they still exist",
        });
      }
      signal.throwIfAborted();
      await new Promise<void>((resolve) => {
        const done = () => {
          this.waiters.delete(done);
          signal.removeEventListener("abort", done);
          resolve();
        };
        this.waiters.add(done);
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  private changed(): void {
    for (const w of [...this.waiters]) w();
  }
}

function byName<T extends { spec?: { name: string } | undefined }>(
  m: Map<string, T>,
  name: string,
): T | undefined {
  for (const v of m.values()) if (v.spec?.name === name) return v;
  return undefined;
}
