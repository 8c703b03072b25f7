import { packageProject } from "../../vitest.shared.js";

export default packageProject("daemon", { testTimeoutMs: 60_000 });
