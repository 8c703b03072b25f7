/** Error codes of @shoal/testkit. Each line says when the error happens. */
export const TestkitErrorCode = {
  /** The machine cannot run test hosts: not root, or `ip`/`nsenter`/`nft`/`flock` missing. */
  Unsupported: "TESTKIT_UNSUPPORTED",
  /** A system command the harness runs for itself (ip, nft, …) exited non-zero. */
  CommandFailed: "TESTKIT_COMMAND_FAILED",
  /** `host.exec` ran past its `timeoutMs`; the command was killed. */
  ExecTimeout: "TESTKIT_EXEC_TIMEOUT",
  /** Every harness slot (0..255) is held by a live harness or clashes with a route. */
  NoFreeSlot: "TESTKIT_NO_FREE_SLOT",
  /** Options are out of range (host count, subnet too small, bad CIDR). */
  InvalidOptions: "TESTKIT_INVALID_OPTIONS",
  /** A host or harness was used after `remove()`/`destroy()`. */
  Destroyed: "TESTKIT_DESTROYED",
  /** `waitFor` gave up: the condition did not hold within `timeoutMs`. */
  WaitTimeout: "TESTKIT_WAIT_TIMEOUT",
  /** A transcript file cannot be parsed, names an unknown command, or gives a command bad arguments. */
  TranscriptSyntax: "TESTKIT_TRANSCRIPT_SYNTAX",
  /** A transcript command's output differs from the expected output written in the file. */
  TranscriptMismatch: "TESTKIT_TRANSCRIPT_MISMATCH",
} as const;
export type TestkitErrorCode = (typeof TestkitErrorCode)[keyof typeof TestkitErrorCode];
