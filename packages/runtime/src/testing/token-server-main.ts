// Runs startTokenServer as its own process, so a test can start it inside a test host's network
// namespace (`nsenter --net=… node --import tsx token-server-main.ts '<options json>'`). Prints one
// JSON line {realm, certPath} when listening; stops on SIGTERM.
import { startTokenServer, type TokenServerOptions } from "./token-server.js";

const options = JSON.parse(process.argv[2] ?? "{}") as TokenServerOptions;
const server = await startTokenServer(options);
process.stdout.write(`${JSON.stringify({ realm: server.realm, certPath: server.certPath })}\n`);
process.once("SIGTERM", () => {
  void server.stop().then(() => process.exit(0));
});
