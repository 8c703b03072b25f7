import { ShoalError } from "@shoal/base";
import { describe, expect, it } from "vitest";
import { NetworkErrorCode } from "./errors.js";
import { createRunner } from "./runner.js";

describe("createRunner", () => {
  // More than a pipe buffer holds, so the writer is still writing when the command exits.
  const bigInput = "x".repeat(1 << 20);

  it("survives a command that exits without reading its input", async () => {
    const runner = createRunner();
    await expect(runner.run("true", [], { input: bigInput })).resolves.toMatchObject({ stdout: "" });
    const failed = await runner.run("false", [], { input: bigInput, allowFailure: true });
    expect(failed.stdout).toBe("");
  });

  it("throws NETWORK_COMMAND_FAILED naming the command when it fails", async () => {
    const err = await createRunner()
      .run("sh", ["-c", "echo nope >&2; exit 3"], { input: bigInput })
      .catch((e: unknown) => e);
    expect(ShoalError.is(err, NetworkErrorCode.CommandFailed)).toBe(true);
    expect((err as Error).message).toBe('command "sh -c echo nope >&2; exit 3" failed: nope');
  });
});
