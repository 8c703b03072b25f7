import { describe, expect, it } from "vitest";
import { ClusterDefaults, ServiceDefaults, withClusterDefaults, withServiceDefaults } from "./defaults.js";
import {
  ClusterSpec,
  EndpointMode,
  PortProtocol,
  PublishMode,
  RestartCondition,
  SchedulingStrategy,
  ServiceSpec,
  UpdateFailureAction,
  UpdateOrder,
} from "./gen/shoal/v1/specs.js";
import { validateServiceSpec } from "./validate/service-spec.js";

const minimal = () =>
  ServiceSpec.fromPartial({ name: "web", taskTemplate: { container: { image: "nginx" } } });

describe("withServiceDefaults", () => {
  it("fills Swarm's defaults into an empty spec", () => {
    const out = withServiceDefaults(minimal());
    expect(out.mode).toEqual({ $case: "replicated", value: { replicas: 1 } });
    expect(out.taskTemplate?.container?.stopGracePeriodMs).toBe(10_000);
    expect(out.taskTemplate?.restartPolicy).toEqual({
      condition: RestartCondition.ANY,
      delayMs: 5_000,
      maxAttempts: 0,
      windowMs: 0,
    });
    const update = {
      parallelism: 1,
      delayMs: 0,
      failureAction: UpdateFailureAction.PAUSE,
      monitorMs: 5_000,
      maxFailureRatio: 0,
      order: UpdateOrder.STOP_FIRST,
    };
    expect(out.updateConfig).toEqual(update);
    expect(out.rollbackConfig).toEqual(update);
    expect(out.endpointSpec).toEqual({ mode: EndpointMode.VIP, ports: [] });
    expect(validateServiceSpec(out)).toEqual([]);
  });

  it("never changes fields the user set, including explicit zeros", () => {
    const spec = ServiceSpec.fromPartial({
      name: "web",
      mode: { $case: "replicated", value: { replicas: 0 } },
      taskTemplate: {
        container: { image: "nginx", stopGracePeriodMs: 0 },
        restartPolicy: { condition: RestartCondition.NONE, delayMs: 0, maxAttempts: 2 },
      },
      updateConfig: {
        parallelism: 0,
        monitorMs: 0,
        failureAction: UpdateFailureAction.CONTINUE,
        order: UpdateOrder.START_FIRST,
        maxFailureRatio: 0.5,
        delayMs: 3_000,
      },
      endpointSpec: {
        mode: EndpointMode.DNSRR,
        ports: [
          { targetPort: 80, protocol: PortProtocol.UDP, publishMode: PublishMode.HOST },
          { targetPort: 81 },
        ],
      },
    });
    const before = structuredClone(spec);
    const out = withServiceDefaults(spec);
    expect(spec).toEqual(before);
    expect(out.mode).toEqual({ $case: "replicated", value: { replicas: 0 } });
    expect(out.taskTemplate?.container?.stopGracePeriodMs).toBe(0);
    expect(out.taskTemplate?.restartPolicy).toEqual({
      condition: RestartCondition.NONE,
      delayMs: 0,
      maxAttempts: 2,
      windowMs: 0,
    });
    expect(out.updateConfig).toEqual(spec.updateConfig);
    expect(out.endpointSpec?.mode).toBe(EndpointMode.DNSRR);
    expect(out.endpointSpec?.ports[0]).toMatchObject({
      protocol: PortProtocol.UDP,
      publishMode: PublishMode.HOST,
    });
    expect(out.endpointSpec?.ports[1]).toMatchObject({
      protocol: PortProtocol.TCP,
      publishMode: PublishMode.INGRESS,
    });
  });

  it("is idempotent", () => {
    const once = withServiceDefaults(minimal());
    expect(withServiceDefaults(once)).toEqual(once);
  });

  it("gives jobs on-failure restarts, completions = concurrency, and no update configs", () => {
    const job = withServiceDefaults({
      ...minimal(),
      mode: { $case: "replicatedJob", value: { maxConcurrent: 4 } },
    });
    expect(job.mode).toEqual({ $case: "replicatedJob", value: { maxConcurrent: 4, totalCompletions: 4 } });
    expect(job.taskTemplate?.restartPolicy?.condition).toBe(RestartCondition.ON_FAILURE);
    expect(job.updateConfig).toBeUndefined();
    const empty = withServiceDefaults({ ...minimal(), mode: { $case: "replicatedJob", value: {} } });
    expect(empty.mode).toEqual({ $case: "replicatedJob", value: { maxConcurrent: 1, totalCompletions: 1 } });
    const global = withServiceDefaults({ ...minimal(), mode: { $case: "globalJob", value: {} } });
    expect(global.taskTemplate?.restartPolicy?.condition).toBe(RestartCondition.ON_FAILURE);
  });

  it("leaves global services without replicas", () => {
    const out = withServiceDefaults({ ...minimal(), mode: { $case: "global", value: {} } });
    expect(out.mode).toEqual({ $case: "global", value: {} });
    expect(ServiceDefaults.replicas).toBe(1);
  });
});

describe("withClusterDefaults", () => {
  it("fills every unset cluster option and keeps set ones", () => {
    const out = withClusterDefaults(ClusterSpec.fromPartial({ name: "default", raft: { electionTick: 20 } }));
    expect(out.orchestration?.taskHistoryRetentionLimit).toBe(ClusterDefaults.taskHistoryRetentionLimit);
    expect(out.raft).toMatchObject({
      electionTick: 20,
      heartbeatTick: 1,
      snapshotInterval: 10_000,
      logEntriesForSlowFollowers: 500,
    });
    expect(out.dispatcher?.heartbeatPeriodMs).toBe(1_000);
    expect(out.caConfig?.nodeCertExpiryMs).toBe(90 * 24 * 3600 * 1000);
    expect(out.scheduler?.strategy).toBe(SchedulingStrategy.SPREAD);
    expect(out.allocator).toEqual({
      defaultAddressPool: ["10.0.0.0/8"],
      subnetSize: 24,
      nodeSubnetPool: "10.42.0.0/16",
    });
    const zero = withClusterDefaults(
      ClusterSpec.fromPartial({ orchestration: { taskHistoryRetentionLimit: 0 } }),
    );
    expect(zero.orchestration?.taskHistoryRetentionLimit).toBe(0);
  });
});
