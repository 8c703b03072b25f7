// A small manager entry for end-to-end tests until `shoal daemon` exists: one manager process.
//   manager-main --data-dir D --listen H:P --advertise H:P [--init | --join TOKEN --remote H:P]
// Prints one JSON line `{"ready":true,nodeId,raftId,clusterId,port}` on stdout once serving;
// SIGTERM/SIGINT stop it gracefully (a leader hands leadership over first).
import { parseArgs } from "node:util";
import { createLogger, loggerOptionsFromEnv, ShoalError } from "@shoal/base";
import { Manager, type ManagerOptions } from "./manager.js";

const { values } = parseArgs({
  options: {
    "data-dir": { type: "string" },
    listen: { type: "string" },
    advertise: { type: "string" },
    init: { type: "boolean", default: false },
    join: { type: "string" },
    remote: { type: "string" },
    "tick-ms": { type: "string" },
  },
});
const logger = createLogger({
  ...loggerOptionsFromEnv(process.env, process.stderr.isTTY === true),
  name: "manager",
});
const dataDir = values["data-dir"];
const listen = values.listen;
if (dataDir === undefined || listen === undefined) {
  process.stderr.write("error: --data-dir and --listen are required\n");
  process.exit(2);
}
const options: ManagerOptions = {
  dataDir,
  listenAddress: listen,
  advertiseAddress: values.advertise ?? listen,
  logger,
  ...(values["tick-ms"] === undefined ? {} : { raft: { tickMs: Number(values["tick-ms"]) } }),
};
let manager: Manager;
try {
  manager = values.init
    ? await Manager.init(options)
    : values.join !== undefined
      ? await Manager.join(options, { token: values.join, remoteAddress: values.remote ?? "" })
      : await Manager.open(options);
} catch (err) {
  // What the user reads: the code, the message and the hint, not a stack (it goes to the log).
  logger.debug({ err }, "manager did not start");
  const e = err instanceof ShoalError ? err : undefined;
  process.stderr.write(
    `error: ${e === undefined ? String(err) : `${e.code}: ${e.message}`}\n${e?.hint ? `hint: ${e.hint}\n` : ""}`,
  );
  process.exit(1);
}
const stop = new AbortController();
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => stop.abort());
const running = manager.run(stop.signal);
process.stdout.write(`${JSON.stringify({ ready: true, ...manager.identity, port: manager.port })}\n`);
await running;
await manager.close();
