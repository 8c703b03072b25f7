/** @shoal/testkit — private test kit: network-namespace hosts, clocks, randomness, temp dirs, waiting. */
export { type Clock, ManualClock, type Random, seededRandom } from "@shoal/base";
export type { ExecOptions, ExecResult } from "./command.js";
export { TestkitErrorCode } from "./errors.js";
export type { TestHost } from "./host.js";
export { type CreateHostsOptions, createHosts, type TestHosts } from "./hosts.js";
export { cleanupStaleHosts, STATE_DIR, type StaleCleanup } from "./registry.js";
export { assertHostsSupported } from "./supported.js";
export { type TempDir, tempDir } from "./temp-dir.js";
export { type WaitForOptions, waitFor } from "./wait-for.js";
