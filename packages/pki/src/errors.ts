/** Codes thrown by @shoal/pki. Each names one thing that went wrong; messages say which value. */
export const PkiErrorCode = {
  /** A PEM text is missing, empty or does not hold the expected block (certificate, CSR, key). */
  InvalidPem: "PKI_INVALID_PEM",
  /** A certificate could not be parsed or is not what the caller needs (not a CA, not P-256). */
  InvalidCertificate: "PKI_INVALID_CERTIFICATE",
  /** A certificate signing request could not be parsed, its signature is wrong or its key is not P-256. */
  InvalidCsr: "PKI_INVALID_CSR",
  /** A role is not "manager" or "worker", or a node id or cluster id is empty or malformed. */
  InvalidSubject: "PKI_INVALID_SUBJECT",
  /** A certificate lifetime is not a finite number of milliseconds within the allowed range. */
  InvalidLifetime: "PKI_INVALID_LIFETIME",
  /** A join token does not have the form SHTKN-1-<digest>-<secret>; the message names the part. */
  InvalidToken: "PKI_INVALID_TOKEN",
  /** The root certificate a manager presented does not match the digest in the join token. */
  RootMismatch: "PKI_ROOT_MISMATCH",
  /** The key-encryption key file is missing (when it must exist), unreadable, of the wrong size or mode. */
  KekUnavailable: "PKI_KEK_UNAVAILABLE",
  /** An encrypted key could not be decrypted: wrong key-encryption key, or the data is damaged. */
  KeyDecryptFailed: "PKI_KEY_DECRYPT_FAILED",
  /** The root CA's key does not belong to its certificate. */
  KeyMismatch: "PKI_KEY_MISMATCH",
  /** A private key PEM could not be imported as an ECDSA P-256 key. */
  InvalidKey: "PKI_INVALID_KEY",
  /** An RPC authorization table is missing an entry for a method of a service being registered. */
  UnlistedMethod: "PKI_UNLISTED_METHOD",
} as const;
export type PkiErrorCode = (typeof PkiErrorCode)[keyof typeof PkiErrorCode];
