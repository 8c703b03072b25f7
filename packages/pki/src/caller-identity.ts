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

/** What a connection's verified client certificate says, read once per connection. */
interface PeerSubject {
  nodeId: string | undefined;
  role: string | undefined;
  clusterId: string | undefined;
}

/**
 * Subjects by HTTP/2 session (one per TLS connection). grpc-js answers `getAuthContext()` with
 * Node's `getPeerCertificate()`, which builds a fresh object (fingerprints, key, names) on every
 * call: 30–90 µs, 5–7 % of the leader's CPU at thousands of agents, for a certificate that cannot
 * change while the connection lasts — Node's HTTP/2 disables TLS renegotiation on its sockets,
 * and `authorized` is settled at the handshake. A renewed certificate comes on a new connection,
 * so it is read again; an entry goes with its session (weak keys).
 */
const subjects = new WeakMap<object, PeerSubject | null>();

/**
 * The HTTP/2 session under a grpc-js server call, when this grpc-js version shows it: handler
 * calls hold `call`, interceptors `nextCall`, the base call `stream` (pinned 1.14; the test in
 * caller-identity.test.ts fails if a new version hides it, and then every call reads the
 * certificate again — slower, never wrong).
 */
function sessionOf(call: object): object | undefined {
  let at = call as { call?: unknown; nextCall?: unknown; stream?: { session?: unknown } } | undefined;
  for (let depth = 0; at !== undefined && depth < 8; depth++) {
    const session = at.stream?.session;
    if (typeof session === "object" && session !== null) return session;
    at = (at.nextCall ?? at.call) as typeof at;
    if (typeof at !== "object" || at === null) return undefined;
  }
  return undefined;
}

function readSubject(call: CallWithAuthContext): PeerSubject | null {
  const auth = call.getAuthContext();
  const peer = auth?.transportSecurityType === "ssl" ? auth.sslPeerCertificate : undefined;
  if (peer === undefined) return null;
  const subject = (peer.subject ?? {}) as Record<string, string | string[] | undefined>;
  return { nodeId: firstValue(subject.CN), role: firstValue(subject.OU), clusterId: firstValue(subject.O) };
}

/** Whether a call's connection has its certificate's subject read already (tests). */
export function hasCachedSubject(call: object): boolean {
  const session = sessionOf(call);
  return session !== undefined && subjects.has(session);
}

/**
 * The caller's identity from a grpc-js call. grpc-js puts the peer certificate in the auth context
 * only when the TLS socket is `authorized` (chain verified, in date), so an unverified certificate
 * looks the same as none; the subject is then checked for this cluster's node-certificate shape.
 * The subject is read once per connection (see `subjects`).
 */
export function callerIdentity(call: CallWithAuthContext, clusterId: string): CallerIdentityResult {
  const session = sessionOf(call);
  let peer = session === undefined ? undefined : subjects.get(session);
  if (peer === undefined) {
    peer = readSubject(call);
    if (session !== undefined) subjects.set(session, peer);
  }
  if (peer === null) {
    // grpc-js does not say which it was: no certificate, one not signed by the root, an expired
    // one, or no TLS at all all look the same here.
    return {
      kind: "anonymous",
      reason:
        "the caller presented no valid client certificate (none, not signed by the cluster root, or expired)",
    };
  }
  const { nodeId, role, clusterId: certClusterId } = peer;
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
