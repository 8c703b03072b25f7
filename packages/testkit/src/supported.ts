import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { ShoalError } from "@shoal/base";
import { TestkitErrorCode } from "./errors.js";

const REQUIRED_COMMANDS = [
  ["ip", "iproute2"],
  ["nsenter", "util-linux"],
  ["flock", "util-linux"],
  ["nft", "nftables"],
] as const;

/** Throws TESTKIT_UNSUPPORTED saying why when this machine cannot run test hosts. */
export function assertHostsSupported(): void {
  const uid = process.getuid?.();
  if (uid !== 0) {
    throw new ShoalError(
      TestkitErrorCode.Unsupported,
      `testkit hosts need root: running as uid ${uid ?? "unknown"}`,
      {
        hint: "run the tests as root; they create network namespaces",
      },
    );
  }
  const dirs = (process.env.PATH ?? "").split(delimiter).concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
  for (const [cmd, pkg] of REQUIRED_COMMANDS) {
    const found = dirs.some((dir) => {
      try {
        accessSync(join(dir, cmd), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
    if (!found) {
      throw new ShoalError(TestkitErrorCode.Unsupported, `testkit hosts need "${cmd}" on PATH`, {
        hint: `apt-get install ${pkg}`,
      });
    }
  }
}
