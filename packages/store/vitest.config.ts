import { packageProject } from "../../vitest.shared.js";

export default packageProject("store", { testTimeoutMs: 120_000 });
