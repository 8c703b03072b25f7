import { Config, Network, Node, Secret, Service, Task, TaskState } from "@shoal/proto";

// Small object builders for the store's tests and benchmarks.

export function service(
  id: string,
  name: string,
  extra: {
    secrets?: string[];
    configs?: string[];
    networks?: string[];
    labels?: Record<string, string>;
  } = {},
): Service {
  return Service.fromPartial({
    id,
    spec: {
      name,
      labels: extra.labels ?? {},
      taskTemplate: {
        container: {
          image: "nginx:1.27",
          secrets: (extra.secrets ?? []).map((s) => ({
            secretId: s,
            secretName: s,
            file: { name: s, uid: "0", gid: "0", mode: 0o444 },
          })),
          configs: (extra.configs ?? []).map((c) => ({ configId: c, configName: c })),
        },
        networks: (extra.networks ?? []).map((n) => ({ target: n })),
      },
    },
  });
}

export function task(
  id: string,
  serviceId: string,
  slot: number,
  extra: { nodeId?: string; state?: TaskState; secrets?: string[] } = {},
): Task {
  return Task.fromPartial({
    id,
    serviceId,
    slot,
    nodeId: extra.nodeId ?? "",
    desiredState: TaskState.RUNNING,
    status: { state: extra.state ?? TaskState.NEW },
    spec: {
      container: {
        image: "nginx:1.27",
        secrets: (extra.secrets ?? []).map((s) => ({ secretId: s, secretName: s })),
      },
    },
  });
}

export function node(id: string, labels: Record<string, string> = {}): Node {
  return Node.fromPartial({ id, spec: { name: id, labels } });
}

export function secret(id: string, name: string): Secret {
  return Secret.fromPartial({ id, spec: { name, data: new Uint8Array([1, 2, 3]) } });
}

export function config(id: string, name: string): Config {
  return Config.fromPartial({ id, spec: { name, data: new Uint8Array([4]) } });
}

export function network(id: string, name: string): Network {
  return Network.fromPartial({ id, spec: { name } });
}
