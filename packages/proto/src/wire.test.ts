import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { credentials, Server, ServerCredentials } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  ControlClient,
  type ControlServer,
  ControlService,
  GetNodeResponse,
  Meta,
  NodeAvailability,
  Service,
  ServiceSpec,
  TaskState,
  WatchMessage,
} from "./index.js";

describe("generated code", () => {
  it("round-trips a service with a oneof mode and 64-bit fields", () => {
    const spec = ServiceSpec.fromPartial({
      name: "web",
      mode: { $case: "replicated", value: { replicas: 3 } },
      taskTemplate: { container: { image: "nginx:1.27", stopGracePeriodMs: 10_000 } },
    });
    const service = Service.fromPartial({
      id: "abc",
      meta: { version: 42, createdAtMs: 1_700_000_000_000, updatedAtMs: 1_700_000_000_001 },
      spec,
      specVersion: 42,
    });
    const back = Service.decode(Service.encode(service).finish());
    expect(back).toEqual(service);
    expect(back.spec?.mode).toEqual({ $case: "replicated", value: { replicas: 3 } });
  });

  it("keeps unset optional fields apart from explicit zeros", () => {
    const zero = ServiceSpec.decode(
      ServiceSpec.encode(
        ServiceSpec.fromPartial({ mode: { $case: "replicated", value: { replicas: 0 } } }),
      ).finish(),
    );
    const unset = ServiceSpec.decode(
      ServiceSpec.encode(ServiceSpec.fromPartial({ mode: { $case: "replicated", value: {} } })).finish(),
    );
    expect(zero.mode).toEqual({ $case: "replicated", value: { replicas: 0 } });
    expect(unset.mode).toEqual({ $case: "replicated", value: {} });
  });

  it("orders task states numerically like swarmkit", () => {
    const order = [
      TaskState.NEW,
      TaskState.PENDING,
      TaskState.ASSIGNED,
      TaskState.ACCEPTED,
      TaskState.PREPARING,
      TaskState.READY,
      TaskState.STARTING,
      TaskState.RUNNING,
      TaskState.COMPLETE,
      TaskState.SHUTDOWN,
      TaskState.FAILED,
      TaskState.REJECTED,
      TaskState.REMOVE,
      TaskState.ORPHANED,
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(TaskState.RUNNING).toBe(512);
  });

  it("refuses to encode a 64-bit value beyond 2^53 instead of rounding it", () => {
    expect(() => Meta.encode({ version: 2 ** 60, createdAtMs: 0, updatedAtMs: 0 })).toThrow(
      "64-bit field value 1152921504606847000 is not a safe integer (max 2^53 - 1)",
    );
    expect(() => Meta.encode({ version: 1.5, createdAtMs: 0, updatedAtMs: 0 })).toThrow(/not a safe integer/);
  });

  it("refuses to decode a 64-bit value beyond 2^53", () => {
    const bytes = new BinaryWriter()
      .uint32(8)
      .uint64(2n ** 60n)
      .finish();
    expect(() => Meta.decode(bytes)).toThrow(/MAX_SAFE_INTEGER/);
  });

  it("encodes watch messages as event or commit", () => {
    const msg = WatchMessage.fromPartial({ message: { $case: "commit", value: { version: 7 } } });
    expect(WatchMessage.decode(WatchMessage.encode(msg).finish())).toEqual(msg);
  });

  it("serves and calls a Control RPC over grpc-js on loopback", async () => {
    const server = new Server();
    const handlers: Partial<ControlServer> = {
      getNode: (call, callback) => {
        callback(
          null,
          GetNodeResponse.fromPartial({
            node: { id: call.request.nodeId, spec: { name: "n1", availability: NodeAvailability.DRAIN } },
          }),
        );
      },
    };
    server.addService(ControlService, handlers as ControlServer);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const client = new ControlClient(`127.0.0.1:${port}`, credentials.createInsecure());
    try {
      const response = await new Promise<GetNodeResponse>((resolve, reject) =>
        client.getNode({ nodeId: "node-1" }, (err, res) => (err ? reject(err) : resolve(res))),
      );
      expect(response.node?.id).toBe("node-1");
      expect(response.node?.spec?.availability).toBe(NodeAvailability.DRAIN);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
