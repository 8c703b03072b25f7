import type { TableSpec } from "../table.js";
import { labelKeys, labelValueKeys } from "./labels.js";

export const configsTable = {
  kind: "config",
  uniqueName: (o) => o.spec?.name ?? "",
  indexes: {
    label: (o) => labelKeys(o.spec?.labels),
    labelValue: (o) => labelValueKeys(o.spec?.labels),
  },
} satisfies TableSpec<"config", string>;
export type ConfigIndex = keyof typeof configsTable.indexes;
