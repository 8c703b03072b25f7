// @shoal/daemon: `shoal daemon` — the agent on every node, the manager parts on managers, the
// local admin socket serving NodeAdmin and Control (DESIGN.md §2).

export { Daemon, type DaemonOptions } from "./daemon.js";
export { DaemonErrorCode } from "./errors.js";
export {
  type DaemonLayout,
  DEFAULT_DATA_DIR,
  DEFAULT_LISTEN_ADDRESS,
  DEFAULT_SOCKET_PATH,
  daemonLayout,
} from "./layout.js";
