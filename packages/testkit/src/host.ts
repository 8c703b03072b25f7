import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { ShoalError } from "@shoal/base";
import { type ExecOptions, type ExecResult, execCommand } from "./command.js";
import { TestkitErrorCode } from "./errors.js";
import { HOST_INTERFACE } from "./names.js";

/** One test host: a network namespace with one interface (`eth0`) on the harness's switch. */
export interface TestHost {
  /** 1-based, stable for the harness's life (not reused after `remove()`). */
  readonly index: number;
  /** "h1", "h2", …: short, for logs and node names. */
  readonly name: string;
  /** The namespace name, "shoal-t<slot>-h<index>". */
  readonly netns: string;
  /** "/run/netns/<netns>": for `nsenter --net=` or setns by path. */
  readonly netnsPath: string;
  /** The host's address on the test subnet, e.g. "10.231.17.11". */
  readonly address: string;
  /** Its one interface, "eth0". */
  readonly interfaceName: string;
  readonly removed: boolean;
  /** Runs a command inside the host's network namespace and waits for it. Never throws on a non-zero exit. */
  exec(cmd: string, args?: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Starts a long-running process inside the host; it is stopped (SIGTERM, then SIGKILL) at teardown. */
  spawn(cmd: string, args?: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Stops its processes and deletes the namespace; its links and cuts go with it. Idempotent. */
  remove(): Promise<void>;
}

/**
 * Commands enter the host with `nsenter --net=`: only the network namespace changes. Unlike
 * `ip netns exec`, no private mount namespace is made, so namespaces and mounts the code under test
 * creates (runc, `ip netns add`) stay visible to everyone. The price: /sys still shows the root
 * namespace's devices — use netlink (`ip`) rather than /sys/class/net inside a host.
 */
export class Host implements TestHost {
  readonly name: string;
  readonly netnsPath: string;
  readonly interfaceName = HOST_INTERFACE;
  private readonly children = new Set<ChildProcess>();
  private isRemoved = false;

  constructor(
    readonly index: number,
    readonly netns: string,
    readonly address: string,
    private readonly onRemove: (host: Host) => Promise<void>,
  ) {
    this.name = `h${index}`;
    this.netnsPath = `/run/netns/${netns}`;
  }

  get removed(): boolean {
    return this.isRemoved;
  }

  async exec(cmd: string, args: readonly string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    this.assertLive();
    return execCommand("nsenter", [`--net=${this.netnsPath}`, "--", cmd, ...args], options);
  }

  spawn(cmd: string, args: readonly string[] = [], options: SpawnOptions = {}): ChildProcess {
    this.assertLive();
    // nsenter without --fork execs the command: the child's pid is the daemon's pid.
    const child = spawn("nsenter", [`--net=${this.netnsPath}`, "--", cmd, ...args], options);
    this.children.add(child);
    child.once("exit", () => this.children.delete(child));
    child.once("error", () => this.children.delete(child));
    return child;
  }

  remove(): Promise<void> {
    return this.onRemove(this);
  }

  /** Marks the host gone; later exec/spawn calls fail instead of running in the root namespace. */
  markRemoved(): void {
    this.isRemoved = true;
  }

  /** SIGTERM to every process this host spawned, SIGKILL to those still running after `graceMs`. */
  async stopProcesses(graceMs: number): Promise<void> {
    await Promise.all(
      [...this.children].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
            child.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill("SIGTERM");
          }),
      ),
    );
  }

  killProcessesSync(): void {
    for (const child of this.children) child.kill("SIGKILL");
  }

  private assertLive(): void {
    if (this.isRemoved) {
      throw new ShoalError(TestkitErrorCode.Destroyed, `test host "${this.netns}" was removed`);
    }
  }
}
