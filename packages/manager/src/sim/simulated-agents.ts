// Simulated agents for tests and benchmarks (issue 14 §7): one process holding N dispatcher
// sessions over real gRPC with mutual TLS, each with its node's own certificate, speaking the
// real protocol — the Session stream with heartbeats on it at the period the manager returns,
// Assignments, and UpdateTaskStatus. The heartbeats of every agent in the process are driven by
// one timer wheel (`timer-wheel.ts`), not a timer per agent. The executor is a no-op that walks
// each assigned task ACCEPTED → RUNNING, or to FAILED when the test asks for it, and a task
// told to stop that has not ended to SHUTDOWN. Nothing here runs containers.
import * as grpc from "@grpc/grpc-js";
import { type Logger, ShoalError, silentLogger } from "@shoal/base";
import { createClientCredentials, type NodeTlsMaterial, tlsChannelOptions } from "@shoal/pki";
import {
  AssignmentAction,
  type AssignmentsMessage,
  AssignmentsType,
  type Config,
  DispatcherClient,
  isTaskTerminal,
  type NodeDescription,
  type Secret,
  type SessionClientMessage,
  type SessionMessage,
  type SessionServerMessage,
  type Task,
  TaskState,
  type TaskStatusUpdate,
} from "@shoal/proto";
import { ManagerErrorCode } from "../errors.js";
import { fromStatus } from "../grpc-status.js";
import { heartbeatWheel, type WheelEntry } from "./timer-wheel.js";

export interface SimulatedNode {
  nodeId: string;
  tls: NodeTlsMaterial;
  description?: NodeDescription;
}

export interface SimulatedAgentsOptions {
  /** A manager's cluster address (`host:port`). */
  address: string;
  clusterId: string;
  nodes: readonly SimulatedNode[];
  /** Tasks for which this returns true are reported FAILED instead of RUNNING. */
  failTask?: (task: Task) => boolean;
  /**
   * Move to the leader a refusing follower names (default true, as packages/agent does); false
   * keeps the refusal (a test of what a follower answers).
   */
  followLeader?: boolean;
  /** Do not open Assignments streams (heartbeat-only benchmark). */
  heartbeatsOnly?: boolean;
  /** How often `open` tries one node's session before it gives up (default 4). */
  openAttempts?: number;
  logger?: Logger;
}

/** What one simulated node holds, as the manager told it. */
export interface AgentView {
  sessionId: string;
  tasks: Map<string, Task>;
  secrets: Map<string, Secret>;
  configs: Map<string, Config>;
  /** Every Assignments message received, in order. */
  messages: AssignmentsMessage[];
  /** Every heartbeat period the manager returned. */
  periods: number[];
  /** Heartbeats sent and never answered: the session ended while one was out. */
  heartbeatErrors: number;
  /** Sessions opened (1 + reconnects). */
  sessions: number;
}

/** Sessions being opened at once by `open` (a window: the next starts as soon as one is open). */
const CONNECT_WINDOW = 50;
/** How long `start` waits for a session's first message before it tries again. */
const SESSION_OPEN_TIMEOUT_MS = 15_000;
/** How often `open` tries one node's session before it gives up (`openAttempts`). */
const OPEN_ATTEMPTS = 4;
/** A status report that failed is sent again after this long (or with the next assignments). */
const REPORT_RETRY_MS = 500;
/** A lost session is opened again after this long. */
const RECONNECT_DELAY_MS = 50;

class Agent {
  readonly view: AgentView = {
    sessionId: "",
    tasks: new Map(),
    secrets: new Map(),
    configs: new Map(),
    messages: [],
    periods: [],
    heartbeatErrors: 0,
    sessions: 0,
  };
  private client: DispatcherClient;
  /** The manager this agent talks to: the one it was given, then the leader a follower names. */
  private address: string;
  private readonly controller = new AbortController();
  private paused = false;
  private reconnecting = false;
  private next: WheelEntry | undefined;
  /** The open session stream, where heartbeats go. */
  private session: grpc.ClientDuplexStream<SessionClientMessage, SessionServerMessage> | undefined;
  /** A heartbeat was sent and its answer has not come yet. */
  private awaitingAnswer = false;
  private readonly calls: { cancel(): void }[] = [];
  private readonly reported = new Map<string, TaskState>();

  constructor(
    readonly node: SimulatedNode,
    private readonly options: SimulatedAgentsOptions,
  ) {
    this.address = options.address;
    this.client = this.dial(options.address);
  }

  private dial(address: string): DispatcherClient {
    return new DispatcherClient(
      address,
      createClientCredentials(this.node.tls, { clusterId: this.options.clusterId }),
      {
        ...tlsChannelOptions(),
        "grpc.use_local_subchannel_pool": 1,
        // Thousands of channels in one process: channelz bookkeeping and the retry wrapper are
        // per-call costs of the simulator (not of the manager it measures); an agent's calls are
        // not retried by grpc-js either way (no retry policy is configured).
        "grpc.enable_channelz": 0,
        "grpc.enable_retries": 0,
      },
    );
  }

  /**
   * A follower refuses with MANAGER_NOT_LEADER and names the leader in its status details
   * (`leaderAddr`), as packages/agent reads it: the agent moves its calls there.
   */
  private follow(err: unknown): void {
    const leader = leaderNamedBy(err);
    if (this.options.followLeader === false || this.controller.signal.aborted) return;
    if (leader === undefined || leader === this.address) return;
    this.options.logger?.debug({ nodeId: this.node.nodeId, leader }, "following the leader");
    for (const call of this.calls.splice(0)) call.cancel();
    this.client.close();
    this.address = leader;
    this.client = this.dial(leader);
  }

  /** Opens a session (and the assignments stream); resolves with the first session message. */
  async start(): Promise<void> {
    const call = this.client.session();
    const first = await new Promise<SessionMessage>((resolve, reject) => {
      this.calls.push(call);
      let opened = false;
      // A session whose first message does not come (a handshake lost on a loaded machine) is
      // cancelled and opened again, as a real agent would.
      const timer = setTimeout(() => {
        if (opened) return;
        call.cancel();
        reject(
          new ShoalError(
            ManagerErrorCode.Unavailable,
            `node "${this.node.nodeId}": no session message within ${SESSION_OPEN_TIMEOUT_MS} ms`,
          ),
        );
      }, SESSION_OPEN_TIMEOUT_MS);
      call.on("data", (m: SessionServerMessage) => {
        const kind = m.kind;
        if (kind?.$case === "heartbeat") this.answered(call, kind.value.periodMs);
        else if (kind?.$case === "session" && !opened) {
          opened = true;
          clearTimeout(timer);
          resolve(kind.value);
        }
      });
      const lost = () => {
        if (this.session === call) {
          this.session = undefined;
          if (this.awaitingAnswer) this.view.heartbeatErrors++;
          this.awaitingAnswer = false;
        }
        // As a real agent: a session that ends (node marked down, leader gone) is opened again.
        if (opened && !this.controller.signal.aborted) this.reconnect();
      };
      call.on("end", lost);
      call.on("error", (err: grpc.ServiceError) => {
        clearTimeout(timer);
        this.follow(err);
        if (!opened) reject(err);
        // Cancelled after it opened: by `follow` (moving to the leader) unless closing.
        else if (err.code !== grpc.status.CANCELLED || !this.controller.signal.aborted) lost();
      });
      call.write({
        kind: {
          $case: "open",
          value: { description: this.node.description, previousSessionId: this.view.sessionId },
        },
      });
    });
    this.view.sessionId = first.sessionId;
    this.view.sessions++;
    this.session = call;
    this.awaitingAnswer = false;
    this.scheduleHeartbeat(0);
    if (!this.options.heartbeatsOnly) this.openAssignments();
  }

  private reconnect(): void {
    if (this.reconnecting || this.paused || this.controller.signal.aborted) return;
    this.reconnecting = true;
    setTimeout(() => {
      this.start().then(
        () => {
          this.reconnecting = false;
        },
        () => {
          this.reconnecting = false;
          this.reconnect();
        },
      );
    }, RECONNECT_DELAY_MS);
  }

  /** Stops (or resumes) heartbeats, as an agent that hangs would. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused && !this.awaitingAnswer) this.scheduleHeartbeat(0);
  }

  report(updates: TaskStatusUpdate[]): Promise<void> {
    return new Promise((resolve, reject) =>
      this.client.updateTaskStatus({ sessionId: this.view.sessionId, updates }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }

  close(): void {
    this.controller.abort();
    if (this.next !== undefined) heartbeatWheel.cancel(this.next);
    this.next = undefined;
    for (const call of this.calls) call.cancel();
    this.client.close();
  }

  /** The answer to the heartbeat out on `call`: the next one after the period it names. */
  private answered(
    call: grpc.ClientDuplexStream<SessionClientMessage, SessionServerMessage>,
    periodMs: number,
  ) {
    if (call !== this.session) return;
    this.awaitingAnswer = false;
    this.view.periods.push(periodMs);
    this.scheduleHeartbeat(periodMs);
  }

  private scheduleHeartbeat(delayMs: number): void {
    if (this.next !== undefined) heartbeatWheel.cancel(this.next);
    this.next = heartbeatWheel.schedule(delayMs, () => {
      this.next = undefined;
      const session = this.session;
      if (this.paused || this.controller.signal.aborted || session === undefined) return;
      // A lost session is noticed by its stream's end (reconnect), not here.
      this.awaitingAnswer = true;
      session.write({ kind: { $case: "heartbeat", value: {} } });
    });
  }

  private openAssignments(): void {
    const call = this.client.assignments({ sessionId: this.view.sessionId });
    this.calls.push(call);
    call.on("data", (m: AssignmentsMessage) => this.onAssignments(m));
    call.on("error", (err: grpc.ServiceError) => {
      this.follow(err);
      if (err.code !== grpc.status.CANCELLED)
        this.options.logger?.debug({ err, nodeId: this.node.nodeId }, "assignments ended");
    });
  }

  private onAssignments(message: AssignmentsMessage): void {
    this.view.messages.push(message);
    if (message.type === AssignmentsType.COMPLETE) {
      this.view.tasks.clear();
      this.view.secrets.clear();
      this.view.configs.clear();
    }
    for (const change of message.changes) {
      const item = change.assignment?.item;
      // The simulated agents run no containers: no overlay to program.
      if (item === undefined || item.$case === "overlay") continue;
      const remove = change.action === AssignmentAction.REMOVE;
      const map =
        item.$case === "task"
          ? this.view.tasks
          : item.$case === "secret"
            ? this.view.secrets
            : this.view.configs;
      if (remove) map.delete(item.value.id);
      else (map as Map<string, unknown>).set(item.value.id, item.value);
    }
    void this.execute();
  }

  /** The no-op executor: ACCEPTED, then RUNNING (or FAILED), never past the desired state. */
  private async execute(): Promise<void> {
    const updates: TaskStatusUpdate[] = [];
    /** What `reported` said before this batch, to put back if the batch is not acknowledged. */
    const before = new Map<string, TaskState | undefined>();
    const now = Date.now();
    for (const task of this.view.tasks.values()) {
      const state = task.status?.state ?? TaskState.NEW;
      const done = this.reported.get(task.id);
      // Told to stop (scale-down, drain, update, removal, a node thought down): a task not
      // ended is shut down, as an agent stops its container or, for one it never started,
      // reports it shut down (the agent's nextAction); one that ended already stays as it is.
      if (task.desiredState >= TaskState.SHUTDOWN) {
        const ended = done === undefined ? isTaskTerminal(state) : isTaskTerminal(done);
        if (!ended) {
          before.set(task.id, done);
          this.reported.set(task.id, TaskState.SHUTDOWN);
          updates.push({
            taskId: task.id,
            status: { timestampMs: now, state: TaskState.SHUTDOWN, message: "shutdown", err: "" },
          });
        }
        continue;
      }
      // ACCEPTED too: an earlier batch whose final report was not acknowledged.
      if ((state !== TaskState.ASSIGNED && state !== TaskState.ACCEPTED) || done !== undefined) continue;
      if (task.desiredState < TaskState.RUNNING) continue;
      const final = this.options.failTask?.(task) === true ? TaskState.FAILED : TaskState.RUNNING;
      before.set(task.id, done);
      this.reported.set(task.id, final);
      updates.push({
        taskId: task.id,
        status: { timestampMs: now, state: TaskState.ACCEPTED, message: "accepted", err: "" },
      });
      updates.push({
        taskId: task.id,
        status: {
          timestampMs: now,
          state: final,
          message: final === TaskState.FAILED ? "failed on request" : "started",
          err: final === TaskState.FAILED ? "simulated failure" : "",
        },
      });
    }
    if (updates.length === 0) return;
    // Accepted first, then the final state: two reports, as a real agent sends them.
    try {
      const accepted = updates.filter((u) => u.status?.state === TaskState.ACCEPTED);
      if (accepted.length > 0) await this.report(accepted);
      await this.report(updates.filter((u) => u.status?.state !== TaskState.ACCEPTED));
    } catch (err) {
      // Not reported: put back what this batch claimed, so the next assignments message (a new
      // session's COMPLETE after a reconnect) or the retry below reports it again, as an agent
      // resends what the manager did not acknowledge.
      this.options.logger?.debug({ err, nodeId: this.node.nodeId }, "status report failed");
      for (const [taskId, was] of before) {
        if (was === undefined) this.reported.delete(taskId);
        else this.reported.set(taskId, was);
      }
      if (!this.controller.signal.aborted)
        setTimeout(() => {
          if (!this.controller.signal.aborted) void this.execute();
        }, REPORT_RETRY_MS);
    }
  }
}

/** The leader address a refusing follower names in its status details (fromStatus reads them). */
function leaderNamedBy(err: unknown): string | undefined {
  if ((err as Partial<grpc.ServiceError> | undefined)?.metadata === undefined) return undefined;
  try {
    const leaderAddr = fromStatus(err as grpc.ServiceError).details.leaderAddr;
    return typeof leaderAddr === "string" && leaderAddr !== "" ? leaderAddr : undefined;
  } catch {
    return undefined; // details that are not JSON: no leader named
  }
}

async function startWithRetries(agent: Agent, attempts: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await agent.start();
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, RECONNECT_DELAY_MS));
    }
  }
}

export class SimulatedAgents {
  private readonly agents = new Map<string, Agent>();

  private constructor(private readonly options: SimulatedAgentsOptions) {}

  /** Opens every node's session (and assignments stream) before it resolves; closes every agent on a failure. */
  static async open(options: SimulatedAgentsOptions): Promise<SimulatedAgents> {
    const sim = new SimulatedAgents({ ...options, logger: options.logger ?? silentLogger() });
    for (const node of options.nodes) sim.agents.set(node.nodeId, new Agent(node, sim.options));
    await sim.openAll();
    return sim;
  }

  private async openAll(): Promise<void> {
    const options = this.options;
    try {
      // A window of sessions in set-up at once, as a fleet reconnects: thousands of TLS
      // handshakes at once only get resets. A window, not waves: one session that needs its
      // retries does not hold up the next fifty.
      const agents = [...this.agents.values()];
      const attempts = options.openAttempts ?? OPEN_ATTEMPTS;
      let next = 0;
      let failed: unknown;
      const worker = async () => {
        while (next < agents.length && failed === undefined) {
          const agent = agents[next++] as Agent;
          await startWithRetries(agent, attempts).catch((err: unknown) => {
            failed ??= err;
          });
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONNECT_WINDOW, agents.length) }, worker));
      if (failed !== undefined) throw failed;
    } catch (err) {
      this.close();
      throw err;
    }
  }

  view(nodeId: string): AgentView {
    return this.agent(nodeId).view;
  }

  /** Stops or resumes one node's heartbeats. */
  pauseHeartbeats(nodeId: string, paused = true): void {
    this.agent(nodeId).setPaused(paused);
  }

  /** Sends a raw status report from `nodeId`'s session (to test what the manager refuses). */
  report(nodeId: string, updates: TaskStatusUpdate[]): Promise<void> {
    return this.agent(nodeId).report(updates);
  }

  /** Heartbeats answered so far by all nodes. */
  heartbeatCount(): number {
    let n = 0;
    for (const a of this.agents.values()) n += a.view.periods.length;
    return n;
  }

  close(): void {
    for (const a of this.agents.values()) a.close();
  }

  private agent(nodeId: string): Agent {
    const a = this.agents.get(nodeId);
    if (a === undefined)
      throw new ShoalError(ManagerErrorCode.InvalidArgument, `no simulated node "${nodeId}"`);
    return a;
  }
}
