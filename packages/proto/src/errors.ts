/** Error codes declared by @shoal/proto. */
export const ProtoErrorCode = {
  /**
   * A spec failed validation (assertValidServiceSpec and friends). `details.issues` holds every
   * ValidationIssue, so callers can show all problems at once instead of one per attempt.
   */
  InvalidSpec: "PROTO_INVALID_SPEC",
} as const;
export type ProtoErrorCode = (typeof ProtoErrorCode)[keyof typeof ProtoErrorCode];
