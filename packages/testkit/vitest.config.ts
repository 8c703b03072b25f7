import { packageProject } from "../../vitest.shared.js";

// Host tests create namespaces and a kernel-wide slot record: one file at a time.
export default packageProject("testkit", { serial: true, testTimeoutMs: 30_000 });
