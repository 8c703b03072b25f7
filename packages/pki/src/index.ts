// @shoal/pki: the cluster's certificates and who may call what. The manager uses the issuing side
// (RootCa, sealing, join tokens, authorizeService); the agent the node side (createNodeKeyAndCsr,
// verifyRootAgainstToken, CertificateRenewer); both the mTLS credentials.
export {
  type AuthorizationDecision,
  type AuthorizeServiceOptions,
  authorize,
  authorizeService,
  verifiedCaller,
} from "./authorization.js";
export {
  type CallerIdentity,
  type CallerIdentityResult,
  type CallWithAuthContext,
  callerIdentity,
} from "./caller-identity.js";
export { type NodeCertificateInfo, parseCertificatePem, readNodeCertificate } from "./certificate.js";
export {
  CertificateRenewer,
  type CertificateRenewerOptions,
  DEFAULT_RENEW_RETRY_MAX_MS,
  DEFAULT_RENEW_RETRY_MIN_MS,
} from "./certificate-renewer.js";
export { CSR_PLACEHOLDER_SUBJECT, createNodeKeyAndCsr, type NodeKeyAndCsr, verifyCsr } from "./csr.js";
export { PkiErrorCode } from "./errors.js";
export {
  formatJoinToken,
  generateJoinToken,
  generateJoinTokens,
  JOIN_SECRET_LENGTH,
  JOIN_TOKEN_PREFIX,
  JOIN_TOKEN_VERSION,
  type JoinToken,
  type JoinTokenMatch,
  type JoinTokens,
  matchJoinToken,
  parseJoinToken,
  type RandomBytes,
  ROOT_DIGEST_LENGTH,
  rootDigestOf,
  rotateJoinToken,
  secretsEqual,
} from "./join-token.js";
export { KEK_BYTES, KEK_RELATIVE_PATH, KeyEncryptionKey, kekPath } from "./key-encryption.js";
export { exportPrivateKeyPem, generateP256KeyPair } from "./keys.js";
export { isNodeRole, NodeRole, roleDnsName } from "./node-role.js";
export {
  type CertificateValidity,
  nextRenewalAtMs,
  RENEWAL_WINDOW_END,
  RENEWAL_WINDOW_START,
} from "./renewal-schedule.js";
export {
  type CreateRootCaOptions,
  DEFAULT_NODE_CERT_LIFETIME_MS,
  type IssuedNodeCertificate,
  type IssueNodeCertificateRequest,
  MAX_CERT_BACKDATE_MS,
  MIN_NODE_CERT_LIFETIME_MS,
  ROOT_CA_COMMON_NAME,
  ROOT_CA_LIFETIME_MS,
  RootCa,
} from "./root-ca.js";
export { assertRootMatchesToken, type RootPinResult, verifyRootAgainstToken } from "./root-pinning.js";
export { accessFor, type RpcAccess, type RpcRoleTable, SHOAL_RPC_ROLES } from "./rpc-roles.js";
export { ROOT_CA_KEY_PURPOSE, type SealedRootCa, sealRootCa, unsealRootCa } from "./sealed-root-ca.js";
export {
  type ClientCertificatePolicy,
  type ClientCredentialsOptions,
  createBootstrapCredentials,
  createClientCredentials,
  createJoinCredentials,
  createServerCredentials,
  DEFAULT_CLIENT_CERTIFICATE_POLICY,
  NodeCertificateProvider,
  type NodeTlsMaterial,
  type ServerCredentialsOptions,
  tlsChannelOptions,
} from "./tls-credentials.js";
