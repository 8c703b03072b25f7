import type { TableSpec } from "../table.js";
import { labelKeys, labelValueKeys } from "./labels.js";

export const secretsTable = {
  kind: "secret",
  uniqueName: (o) => o.spec?.name ?? "",
  indexes: {
    label: (o) => labelKeys(o.spec?.labels),
    labelValue: (o) => labelValueKeys(o.spec?.labels),
  },
} satisfies TableSpec<"secret", string>;
export type SecretIndex = keyof typeof secretsTable.indexes;
