import { packageProject } from "../../vitest.shared.js";

// Serial: the integration test runs real runc containers and shares the kernel with others.
export default packageProject("agent", { serial: true, testTimeoutMs: 60_000 });
