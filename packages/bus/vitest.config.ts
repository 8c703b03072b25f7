import { packageProject } from "../../vitest.shared.js";

// Tests start real nats-server clusters: generous timeouts on a loaded machine, one file at a time.
export default packageProject("bus", { testTimeoutMs: 120_000, serial: true });
