import { packageProject } from "../vitest.shared.js";

export default packageProject("e2e", { testTimeoutMs: 120_000, serial: true, include: ["**/*.test.ts"] });
