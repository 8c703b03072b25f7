import type { Kind } from "./kinds.js";
import { SpecInterner } from "./spec-interner.js";
import { Table } from "./table.js";
import { type ClusterIndex, clustersTable } from "./tables/clusters.js";
import { type ConfigIndex, configsTable } from "./tables/configs.js";
import { type NetworkIndex, networksTable } from "./tables/networks.js";
import { type NodeIndex, nodesTable } from "./tables/nodes.js";
import { type SecretIndex, secretsTable } from "./tables/secrets.js";
import { type ServiceIndex, servicesTable } from "./tables/services.js";
import { type TaskIndex, tasksTable } from "./tables/tasks.js";

/** The secondary indexes of each kind. */
export interface IndexByKind {
  node: NodeIndex;
  service: ServiceIndex;
  task: TaskIndex;
  network: NetworkIndex;
  secret: SecretIndex;
  config: ConfigIndex;
  cluster: ClusterIndex;
}

/** Every table of the store: the whole replicated state. */
export class Tables {
  readonly byKind: { [K in Kind]: Table<K, IndexByKind[K]> } = {
    node: new Table(nodesTable),
    service: new Table(servicesTable),
    task: new Table(tasksTable),
    network: new Table(networksTable),
    secret: new Table(secretsTable),
    config: new Table(configsTable),
    cluster: new Table(clustersTable),
  };

  /** One shared copy of each distinct task spec (see spec-interner.ts). */
  readonly specs = new SpecInterner();

  table<K extends Kind>(kind: K): Table<K, IndexByKind[K]> {
    return this.byKind[kind];
  }

  clear(): void {
    for (const t of Object.values(this.byKind)) t.clear();
  }
}
