import { describe, expect, it } from "vitest";
import { commandOf } from "./registry.js";

describe("commandOf", () => {
  it.each([
    [["service", "ls"], "service"],
    [["--format", "json", "service", "ps", "web"], "service"],
    [["--format=json", "node", "ls"], "node"],
    [["-H", "10.0.0.1", "--tlscacert", "ca.pem", "node", "ls"], "node"],
    [["--debug", "daemon", "--data-dir", "/x"], "daemon"],
    [["help", "stack"], "stack"],
    [["secret", "ls"], "secret"],
    [["config", "ls"], "config"],
  ])("%j runs %s", (argv, name) => {
    expect(commandOf(argv)).toBe(name);
  });

  it.each([[[]], [["--help"]], [["help"]], [["clustr"]], [["--", "service"]], [["--host", "service"]]])(
    "%j names no command it knows",
    (argv) => {
      expect(commandOf(argv)).toBeUndefined();
    },
  );
});
