import { type Config, type Network, NetworkSpec, type Secret, type Service, ServiceSpec } from "@shoal/proto";
import { STACK_NAMESPACE_LABEL, type StackPlan } from "@shoal/stack";
import { describe, expect, it } from "vitest";
import {
  type ClusterObjects,
  describeStep,
  planStackDeploy,
  planStackRemove,
  withReferenceIds,
} from "./plan.js";

const label = (ns: string) => ({ [STACK_NAMESPACE_LABEL]: ns });
const svcSpec = (name: string, image: string, ns = "shop") =>
  ServiceSpec.fromPartial({
    name,
    labels: label(ns),
    taskTemplate: { container: { image } },
    mode: { $case: "replicated", value: { replicas: 1 } },
  });
const service = (id: string, spec: ServiceSpec): Service => ({
  id,
  meta: { version: 7, createdAtMs: 0, updatedAtMs: 0 },
  spec,
  specVersion: 1,
  pendingDelete: false,
});
const network = (id: string, name: string, ns?: string): Network => ({
  id,
  spec: NetworkSpec.fromPartial({ name, labels: ns === undefined ? {} : label(ns) }),
  pendingDelete: false,
});
const secret = (id: string, name: string, ns?: string): Secret => ({
  id,
  spec: { name, labels: ns === undefined ? {} : label(ns), data: new Uint8Array() },
});
const config = (id: string, name: string, ns?: string): Config => ({
  id,
  spec: { name, labels: ns === undefined ? {} : label(ns), data: new Uint8Array() },
});

function plan(services: ServiceSpec[], extra: Partial<StackPlan> = {}): StackPlan {
  return {
    namespace: "shop",
    services,
    networks: [
      {
        key: "default",
        external: false,
        spec: NetworkSpec.fromPartial({ name: "shop_default", labels: label("shop") }),
      },
    ],
    secrets: [
      {
        key: "key",
        external: false,
        spec: { name: "shop_key", labels: label("shop"), data: new TextEncoder().encode("s3cret") },
      },
    ],
    configs: [],
    warnings: [],
    ...extra,
  };
}

const empty: ClusterObjects = { services: [], networks: [], secrets: [], configs: [] };
const steps = (list: ReturnType<typeof planStackDeploy>) => list.map(describeStep);

describe("planStackDeploy", () => {
  it("creates networks, secrets and configs first, then services", () => {
    const p = plan([svcSpec("shop_web", "nginx:1"), svcSpec("shop_db", "postgres:16")], {
      configs: [
        {
          key: "conf",
          external: false,
          spec: { name: "shop_conf", labels: label("shop"), data: new Uint8Array([1]) },
        },
      ],
    });
    expect(steps(planStackDeploy(p, empty, { prune: false }))).toEqual([
      "Creating network shop_default",
      "Creating secret shop_key",
      "Creating config shop_conf",
      "Creating service shop_db",
      "Creating service shop_web",
    ]);
  });

  const deployed: ClusterObjects = {
    services: [
      service("s1", svcSpec("shop_web", "nginx:1")),
      service("s2", svcSpec("shop_db", "postgres:16")),
      service("s3", svcSpec("shop_old", "busybox")),
    ],
    networks: [network("n1", "shop_default", "shop")],
    secrets: [secret("x1", "shop_key", "shop")],
    configs: [],
  };

  const cases: [string, StackPlan, boolean, string[]][] = [
    [
      "a second deploy of the same file changes nothing",
      plan([
        svcSpec("shop_web", "nginx:1"),
        svcSpec("shop_db", "postgres:16"),
        svcSpec("shop_old", "busybox"),
      ]),
      false,
      [],
    ],
    [
      "only the changed service is updated",
      plan([svcSpec("shop_web", "nginx:2"), svcSpec("shop_db", "postgres:16")]),
      false,
      ["Updating service shop_web (id: s1)"],
    ],
    [
      "--prune removes services no longer in the file",
      plan([svcSpec("shop_web", "nginx:1"), svcSpec("shop_db", "postgres:16")]),
      true,
      ["Removing service shop_old"],
    ],
    [
      "a new service is created beside the others",
      plan([
        svcSpec("shop_web", "nginx:1"),
        svcSpec("shop_db", "postgres:16"),
        svcSpec("shop_old", "busybox"),
        svcSpec("shop_cache", "redis"),
      ]),
      false,
      ["Creating service shop_cache"],
    ],
  ];
  for (const [name, p, prune, expected] of cases) {
    it(name, () => {
      expect(steps(planStackDeploy(p, deployed, { prune }))).toEqual(expected);
    });
  }

  it("updates with the version it read", () => {
    const [step] = planStackDeploy(plan([svcSpec("shop_web", "nginx:2")]), deployed, { prune: false });
    expect(step).toMatchObject({ kind: "update-service", id: "s1", version: 7 });
  });

  it("ignores secret ids the manager filled into the stored spec", () => {
    const withRef = (id: string) => {
      const s = svcSpec("shop_web", "nginx:1");
      s.taskTemplate?.container?.secrets.push({
        secretId: id,
        secretName: "shop_key",
        file: { name: "key", uid: "0", gid: "0", mode: 0o444 },
      });
      return s;
    };
    const cluster = { ...deployed, services: [service("s1", withRef("x1"))] };
    expect(planStackDeploy(plan([withRef("")]), cluster, { prune: false })).toEqual([]);
  });

  it("refuses when an external object is missing, before any step", () => {
    const p = plan([svcSpec("shop_web", "nginx:1")], {
      networks: [{ key: "proxy", external: true, spec: NetworkSpec.fromPartial({ name: "proxy" }) }],
      secrets: [{ key: "tls", external: true, spec: { name: "tls", labels: {}, data: new Uint8Array() } }],
    });
    expect(() => planStackDeploy(p, empty, { prune: false })).toThrow(
      'stack "shop" cannot be deployed: network "proxy" is external but does not exist; secret "tls" is external but does not exist',
    );
    const cluster = { ...empty, networks: [network("n9", "proxy")], secrets: [secret("t9", "tls")] };
    expect(steps(planStackDeploy(p, cluster, { prune: false }))).toEqual(["Creating service shop_web"]);
  });

  it("refuses to take over a service of another stack or of no stack", () => {
    const cluster = { ...empty, services: [service("s9", svcSpec("shop_web", "nginx:1", "other"))] };
    expect(() => planStackDeploy(plan([svcSpec("shop_web", "nginx:1")]), cluster, { prune: true })).toThrow(
      'service "shop_web" exists but does not belong to stack "shop"',
    );
  });
});

describe("planStackRemove", () => {
  it("removes everything labelled with the stack and nothing else", () => {
    const cluster: ClusterObjects = {
      services: [
        service("s1", svcSpec("shop_web", "nginx")),
        service("s2", svcSpec("blog_web", "nginx", "blog")),
        service("s3", ServiceSpec.fromPartial({ name: "shop_manual" })),
      ],
      networks: [network("n1", "shop_default", "shop"), network("n2", "proxy")],
      secrets: [secret("x1", "shop_key", "shop"), secret("x2", "tls")],
      configs: [config("c1", "shop_conf", "shop"), config("c2", "blog_conf", "blog")],
    };
    expect(planStackRemove("shop", cluster).map(describeStep)).toEqual([
      "Removing service shop_web",
      "Removing secret shop_key",
      "Removing config shop_conf",
      "Removing network shop_default",
    ]);
    expect(planStackRemove("nothing", cluster)).toEqual([]);
  });
});

describe("withReferenceIds", () => {
  it("fills each secret and config reference's id from its name (the manager looks them up by id)", () => {
    const spec = ServiceSpec.fromPartial({
      name: "shop_web",
      taskTemplate: {
        container: {
          image: "web",
          secrets: [
            { secretId: "", secretName: "shop_key" },
            { secretId: "kept", secretName: "other" },
            { secretId: "", secretName: "unknown" },
          ],
          configs: [{ configId: "", configName: "shop_conf" }],
        },
      },
    });
    const out = withReferenceIds(spec, [secret("s1", "shop_key")], [config("c1", "shop_conf")]);
    const c = out.taskTemplate?.container;
    expect(c?.secrets.map((s) => s.secretId)).toEqual(["s1", "kept", ""]);
    expect(c?.configs.map((x) => x.configId)).toEqual(["c1"]);
    // The input is left as it was.
    expect(spec.taskTemplate?.container?.secrets[0]?.secretId).toBe("");
  });
});
