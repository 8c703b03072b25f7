import { Cluster, Config, Network, Node, Secret, Service, type StoreObject, Task } from "@shoal/proto";

/** The object kinds the store holds, in the order tables, snapshots and hashes list them. */
export const KINDS = ["node", "service", "task", "network", "secret", "config", "cluster"] as const;
export type Kind = (typeof KINDS)[number];

/** The proto type of each kind. */
export interface ObjectByKind {
  node: Node;
  service: Service;
  task: Task;
  network: Network;
  secret: Secret;
  config: Config;
  cluster: Cluster;
}
export type StoredObject = ObjectByKind[Kind];

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
  fromPartial(object: Partial<T>): T;
}

/** The proto codec of each kind (the snapshot, the hash and the entry codec use them). */
export const CODECS: { [K in Kind]: Codec<ObjectByKind[K]> } = {
  node: Node,
  service: Service,
  task: Task,
  network: Network,
  secret: Secret,
  config: Config,
  cluster: Cluster,
};

/** Wraps an object in the proto's oneof. */
export function toStoreObject<K extends Kind>(kind: K, value: ObjectByKind[K]): StoreObject {
  return { object: { $case: kind, value } as StoreObject["object"] };
}
