import { isNodeRole, type NodeRole } from "./node-role.js";
import { firstValue } from "./tls-credentials.js";

/** Who called, as proven by a client certificate that the TLS layer verified against the root. */
export interface CallerIdentity {
  nodeId: string;
  role: NodeRole;
  clusterId: string;
}

export type CallerIdentityResult =
  | { kind: "verified"; identity: CallerIdentity }
  /** No verified certificate: none was sent, or it did not chain to the root, or it expired. */
  | { kind: "anonymous"; reason: string }
  /** Verified by the root, but not a node certificate of this cluster. */
  | { kind: "foreign"; reason: string };

/** The part of a grpc-js server call this needs (every call type has it since grpc-js 1.10). */
export interface CallWithAuthContext {
  getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: { subject?: unknown } } | null;
}

/**
 * The caller's identity from a grpc-js call. grpc-js puts the peer certificate in the auth context
 * only when the TLS socket is `authorized` (chain verified, in date), so an unverified certificate
 * looks the same as none; the subject is then checked for this cluster's node-certificate shape.
 */
export function callerIdentity(call: CallWithAuthContext, clusterId: string): CallerIdentityResult {
  const auth = call.getAuthContext();
  const peer = auth?.transportSecurityType === "ssl" ? auth.sslPeerCertificate : undefined;
  if (peer === undefined) {
    // grpc-js does not say which it was: no certificate, one not signed by the root, an expired
    // one, or no TLS at all all look the same here.
    return {
      kind: "anonymous",
      reason:
        "the caller presented no valid client certificate (none, not signed by the cluster root, or expired)",
    };
  }
  const subject = (peer.subject ?? {}) as Record<string, string | string[] | undefined>;
  const nodeId = firstValue(subject.CN);
  const role = firstValue(subject.OU);
  const certClusterId = firstValue(subject.O);
  if (certClusterId !== clusterId) {
    return {
      kind: "foreign",
      reason: `client certificate belongs to cluster "${certClusterId ?? ""}", not "${clusterId}"`,
    };
  }
  if (nodeId === undefined || nodeId === "" || !isNodeRole(role)) {
    return {
      kind: "foreign",
      reason: `client certificate is not a node certificate (CN "${nodeId ?? ""}", OU "${role ?? ""}")`,
    };
  }
  return { kind: "verified", identity: { nodeId, role, clusterId } };
}
