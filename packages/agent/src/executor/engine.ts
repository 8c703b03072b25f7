import type { NodeOverlay, RegistryAuth, Task } from "@shoal/proto";
import type { ObservedContainer } from "../controller/next-action.js";
import type { TemplateNode } from "../template/task-template.js";

/**
 * The narrow boundary between the task controllers and the node's runtime (swarmkit's
 * `exec.Controller` surface). One implementation talks to @shoal/runtime (`runtime-engine.ts`);
 * unit tests of the controller use a scripted one. Container ids are the task ids, so a create
 * repeated after a crash finds the container instead of starting a second one.
 */
export interface Engine {
  /** Whether the image is in the node's store already (no pull needed). */
  hasImage(ref: string): Promise<boolean>;
  pull(ref: string, auth: RegistryAuth | undefined, signal: AbortSignal): Promise<void>;
  /** "not-needed" when the task's containers get no attachment from the node network (host, none). */
  networkMode(task: Task): "needed" | "not-needed";
  /** Idempotent: an attachment that exists already is kept. Returns the host ports published. */
  attachNetwork(task: Task): Promise<PublishedPort[]>;
  /** Idempotent: detaching what is not attached is a no-op. */
  detachNetwork(taskId: string): Promise<void>;
  /**
   * Creates the container (id = task id) from the task with templates expanded, with its secret
   * and config files (kept off persistent disk); exists → no-op.
   */
  create(task: Task, node: TemplateNode, files: readonly TaskFile[]): Promise<void>;
  start(taskId: string): Promise<void>;
  /** Undefined when no container of that id exists. */
  inspect(taskId: string): Promise<EngineContainer | undefined>;
  /** Resolves when the container's state or health may have changed (exit, health report). */
  waitForChange(taskId: string, signal: AbortSignal): Promise<void>;
  /** Stop signal and grace period from the task's spec, then SIGKILL. */
  stop(task: Task): Promise<void>;
  /** Idempotent. */
  remove(taskId: string): Promise<void>;
  /** The node's container subnet as the manager allocated it (Node.container_subnet); never rejects. */
  setContainerSubnet?(cidr: string): Promise<void>;
  /** The node's overlay state from the dispatcher (undefined: none needed); never rejects. */
  setOverlay?(overlay: NodeOverlay | undefined): Promise<void>;
}

/** A secret or config as the container sees it: read-only at `target`, owned and moded so. */
export interface TaskFile {
  target: string;
  data: Uint8Array;
  uid: number;
  gid: number;
  mode: number;
}

/** A host-mode port as the node published it (the node picks `publishedPort` when the task left it 0). */
export interface PublishedPort {
  protocol: "tcp" | "udp";
  targetPort: number;
  publishedPort: number;
}

export interface EngineContainer extends ObservedContainer {
  hasHealthcheck: boolean;
  pid?: number | undefined;
}
