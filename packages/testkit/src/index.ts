/** @shoal/testkit — private test kit: network-namespace hosts, clocks, randomness, temp dirs, waiting. */
export { type Clock, ManualClock, type Random, seededRandom } from "@shoal/base";
export { DEFAULT_EXEC_TIMEOUT_MS, type ExecOptions, type ExecResult } from "./command.js";
export { TestkitErrorCode } from "./errors.js";
export type { TestHost } from "./host.js";
export { type CreateHostsOptions, createHosts, DEFAULT_STOP_GRACE_MS, type TestHosts } from "./hosts.js";
export { cleanupStaleHosts, STATE_DIR, type StaleCleanup } from "./registry.js";
export { assertHostsSupported } from "./supported.js";
export { DEFAULT_TEMP_DIR_PREFIX, type TempDir, tempDir } from "./temp-dir.js";
export {
  DEFAULT_WAIT_INTERVAL_MS,
  DEFAULT_WAIT_TIMEOUT_MS,
  type WaitForOptions,
  waitFor,
} from "./wait-for.js";
