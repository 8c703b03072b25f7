/** Error codes of the transports. Each line says when the error happens. */
export const TransportErrorCode = {
  /** A message from the wire lacks a field its type requires, or has an unknown type. */
  BadMessage: "RAFT_TRANSPORT_BAD_MESSAGE",
  /** A message would exceed MAX_MESSAGE_BYTES on the wire; it is dropped, never sent. */
  MessageTooLarge: "RAFT_TRANSPORT_MESSAGE_TOO_LARGE",
  /** A second handler was attached while one is attached (one driver per transport). */
  AlreadyAttached: "RAFT_TRANSPORT_ALREADY_ATTACHED",
  /** The transport was used after close(). */
  Closed: "RAFT_TRANSPORT_CLOSED",
} as const;
export type TransportErrorCode = (typeof TransportErrorCode)[keyof typeof TransportErrorCode];
