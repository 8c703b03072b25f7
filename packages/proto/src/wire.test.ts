import { describe, expect, it } from "vitest";
import { ControlClient, ControlService, Service, ServiceSpec, TaskState } from "./index.js";

describe("generated code", () => {
  it("round-trips a service with a oneof mode and 64-bit fields", () => {
    const spec: ServiceSpec = ServiceSpec.fromPartial({
      name: "web",
      mode: { $case: "replicated", value: { replicas: 3 } },
      taskTemplate: { container: { image: "nginx:1.27", stopGracePeriodMs: 10_000 } },
    });
    const service: Service = {
      id: "abc",
      meta: { version: 42, createdAtMs: 1_700_000_000_000, updatedAtMs: 0 },
      spec,
      specVersion: 42,
      pendingDelete: false,
    };
    const back = Service.decode(Service.encode(service).finish());
    expect(back.spec?.mode).toEqual({ $case: "replicated", value: { replicas: 3 } });
    expect(back.meta?.createdAtMs).toBe(1_700_000_000_000);
    expect(TaskState.RUNNING > TaskState.ASSIGNED).toBe(true);
    expect(typeof ControlClient).toBe("function");
    expect(ControlService.createService.path).toBe("/shoal.v1.Control/CreateService");
  });
  it("refuses to encode a 64-bit value beyond 2^53", () => {
    expect(() => Service.encode({ id: "x", specVersion: 2 ** 60, pendingDelete: false }).finish()).toThrow(
      /not a safe integer/,
    );
  });
});
