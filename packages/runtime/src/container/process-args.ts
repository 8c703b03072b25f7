import { ShoalError } from "@shoal/base";
import type { ImageConfig } from "../image/types.js";
import { ContainerErrorCode } from "./errors.js";
import type { ContainerSpec } from "./types.js";

/** Docker's PATH for images that set none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The argv Docker would run. `command` replaces the image's Entrypoint and, as in Docker, drops
 * the image's Cmd with it (the old Cmd was written for the old entrypoint); `args` replaces Cmd.
 */
export function resolveArgv(
  spec: Pick<ContainerSpec, "command" | "args">,
  image: Pick<ImageConfig, "entrypoint" | "cmd">,
): string[] {
  const entrypoint =
    spec.command !== undefined && spec.command.length > 0 ? spec.command : (image.entrypoint ?? []);
  let cmd: string[];
  if (spec.args !== undefined && spec.args.length > 0) cmd = spec.args;
  else if (spec.command !== undefined && spec.command.length > 0) cmd = [];
  else cmd = image.cmd ?? [];
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) {
    throw new ShoalError(
      ContainerErrorCode.NoCommand,
      "container has no command: the image sets no entrypoint or cmd and the spec sets none",
      {
        hint: "set command or args in the service spec",
      },
    );
  }
  return argv;
}

/**
 * Image Env, then the spec's, a later KEY replacing an earlier one in place. PATH is added when
 * neither sets it and HOSTNAME/HOME are filled in the way Docker does.
 */
export function mergeEnv(
  imageEnv: readonly string[],
  specEnv: readonly string[],
  extra: { hostname: string; home: string },
): string[] {
  const order: string[] = [];
  const values = new Map<string, string>();
  const put = (entry: string) => {
    const eq = entry.indexOf("=");
    const key = eq === -1 ? entry : entry.slice(0, eq);
    if (key === "") return;
    if (!values.has(key)) order.push(key);
    values.set(key, entry);
  };
  if (!imageEnv.some((e) => e.startsWith("PATH="))) put(`PATH=${DEFAULT_PATH}`);
  put(`HOSTNAME=${extra.hostname}`);
  for (const e of imageEnv) put(e);
  for (const e of specEnv) put(e);
  if (!values.has("HOME")) put(`HOME=${extra.home}`);
  return order.map((k) => values.get(k) as string);
}
