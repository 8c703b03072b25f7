// A small dispatcher for the session tests: the real Dispatcher service from @shoal/proto on a
// real grpc-js server with mTLS (node certificates from @shoal/pki), wrapped by authorizeService
// as the manager will be. It records what agents send and lets a test push assignments.
import * as grpc from "@grpc/grpc-js";
import {
  authorizeService,
  createClientCredentials,
  createServerCredentials,
  type NodeRole,
  type NodeTlsMaterial,
  RootCa,
  tlsChannelOptions,
  verifiedCaller,
} from "@shoal/pki";
import {
  type Assignment,
  AssignmentAction,
  type AssignmentChange,
  type AssignmentsMessage,
  AssignmentsType,
  DispatcherService,
  type Node,
  type SessionClientMessage,
  type SessionRequest,
  type SessionServerMessage,
  type Task,
  type TaskStatusUpdate,
} from "@shoal/proto";

export const LOOPBACK = "127.0.0.1";
export const CLUSTER_ID = "clustertest0000000000000a";

export async function nodeMaterial(root: RootCa, nodeId: string, role: NodeRole): Promise<NodeTlsMaterial> {
  return root.issueNodeMaterial({ nodeId, role, hosts: [LOOPBACK], nowMs: Date.now() });
}

/** Everything a test needs to dial the test dispatchers as node `nodeId`. */
export async function testPki(nodeId: string) {
  const root = await RootCa.create({ clusterId: CLUSTER_ID, nowMs: Date.now() });
  const agent = await nodeMaterial(root, nodeId, "worker");
  return {
    root,
    credentials: createClientCredentials(agent, { clusterId: CLUSTER_ID }),
    channelOptions: tlsChannelOptions("manager"),
  };
}

/** A secret or a config as an assignment carries it. */
export type FileItem = Extract<NonNullable<Assignment["item"]>, { $case: "secret" | "config" }>;

export interface TestDispatcherOptions {
  root: RootCa;
  nodeId: string;
  heartbeatPeriodMs: number;
  /** host:port list advertised in session messages (filled in with this server's own address). */
  advertise?: () => string[];
  /** The COMPLETE set sent at the start of every assignments stream. */
  tasks?: () => Task[];
  /** Secrets and configs sent before the tasks in every COMPLETE set. */
  files?: () => FileItem[];
  /** The node object of session messages (its container subnet). */
  node?: () => Node | undefined;
  port?: number;
  /** Refuse every session as a follower does (MANAGER_NOT_LEADER), naming this leader address. */
  followerOf?: () => string;
}

export class TestDispatcher {
  readonly sessions: { sessionId: string; caller: string; request: SessionRequest }[] = [];
  readonly heartbeatsAtMs: number[] = [];
  readonly updates: TaskStatusUpdate[] = [];
  /** Sessions refused as a follower. */
  refused = 0;
  private readonly streams = new Set<grpc.ServerWritableStream<unknown, AssignmentsMessage>>();
  private readonly sessionCalls = new Set<
    grpc.ServerDuplexStream<SessionClientMessage, SessionServerMessage>
  >();
  private setId = 0;

  private constructor(
    private readonly server: grpc.Server,
    readonly addr: string,
  ) {}

  static async start(o: TestDispatcherOptions): Promise<TestDispatcher> {
    const material = await nodeMaterial(o.root, o.nodeId, "manager");
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${LOOPBACK}:${o.port ?? 0}`, createServerCredentials(material), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const d = new TestDispatcher(server, `${LOOPBACK}:${port}`);
    server.addService(
      DispatcherService,
      authorizeService(DispatcherService, d.handlers(o), { clusterId: CLUSTER_ID }),
    );
    return d;
  }

  /** Sends an increment on every open assignments stream; `appliesTo` overrides the set id (to test a mismatch). */
  push(changes: AssignmentChange[], appliesTo?: string): void {
    const from = String(this.setId);
    const to = String(++this.setId);
    for (const s of this.streams) {
      s.write({ type: AssignmentsType.INCREMENTAL, appliesTo: appliesTo ?? from, resultsIn: to, changes });
    }
  }

  openStreams(): number {
    return this.streams.size;
  }

  /** Stops at once, cutting every connection (a manager that died). */
  kill(): void {
    this.server.forceShutdown();
  }

  private handlers(o: TestDispatcherOptions): grpc.UntypedServiceImplementation {
    return {
      session: (call: grpc.ServerDuplexStream<SessionClientMessage, SessionServerMessage>) => {
        if (o.followerOf !== undefined) {
          this.refused++;
          // What the manager's status mapping sends: the leader in the details trailer.
          const metadata = new grpc.Metadata();
          metadata.set("shoal-code", "MANAGER_NOT_LEADER");
          metadata.set("shoal-details-bin", Buffer.from(JSON.stringify({ leaderAddr: o.followerOf() })));
          call.emit("error", {
            code: grpc.status.UNAVAILABLE,
            details: "this manager is not the leader",
            metadata,
          });
          return;
        }
        this.sessionCalls.add(call);
        call.on("cancelled", () => this.sessionCalls.delete(call));
        // The first message opens the session; every later one is a heartbeat, answered at once.
        call.on("data", (m: SessionClientMessage) => {
          if (m.kind?.$case === "heartbeat") {
            this.heartbeatsAtMs.push(Date.now());
            call.write({ kind: { $case: "heartbeat", value: { periodMs: o.heartbeatPeriodMs } } });
            return;
          }
          if (m.kind?.$case !== "open") return;
          const sessionId = `s${this.sessions.length + 1}-${this.addr}`;
          this.sessions.push({
            sessionId,
            caller: verifiedCaller(call)?.nodeId ?? "",
            request: m.kind.value,
          });
          const managers = (o.advertise?.() ?? [this.addr]).map((addr, i) => ({
            peer: { nodeId: `m${i}`, addr },
            weight: 10,
          }));
          call.write({
            kind: {
              $case: "session",
              value: {
                sessionId,
                node: o.node?.(),
                managers,
                networkBootstrapKeys: [],
                rootCa: Buffer.alloc(0),
              },
            },
          });
        });
      },
      assignments: (call: grpc.ServerWritableStream<unknown, AssignmentsMessage>) => {
        this.streams.add(call);
        call.on("cancelled", () => this.streams.delete(call));
        const files = (o.files?.() ?? []).map((item) => ({
          action: AssignmentAction.UPDATE,
          assignment: { item },
        }));
        const changes = [
          ...files,
          ...(o.tasks?.() ?? []).map((task) => ({
            action: AssignmentAction.UPDATE,
            assignment: { item: { $case: "task" as const, value: task } },
          })),
        ];
        call.write({ type: AssignmentsType.COMPLETE, appliesTo: "", resultsIn: String(this.setId), changes });
      },
      updateTaskStatus: (
        call: grpc.ServerUnaryCall<{ updates: TaskStatusUpdate[] }, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        this.updates.push(...call.request.updates);
        callback(null, {});
      },
    };
  }
}
