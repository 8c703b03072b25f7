import type { TableSpec } from "../table.js";
import { labelKeys, labelValueKeys } from "./labels.js";
import { configIdsOf, networkTargetsOf, secretIdsOf } from "./references.js";

export const servicesTable = {
  kind: "service",
  uniqueName: (s) => s.spec?.name ?? "",
  indexes: {
    label: (s) => labelKeys(s.spec?.labels),
    labelValue: (s) => labelValueKeys(s.spec?.labels),
    secretId: (s) => secretIdsOf(s.spec?.taskTemplate),
    configId: (s) => configIdsOf(s.spec?.taskTemplate),
    networkId: (s) => networkTargetsOf(s.spec?.taskTemplate),
  },
} satisfies TableSpec<"service", string>;
export type ServiceIndex = keyof typeof servicesTable.indexes;
