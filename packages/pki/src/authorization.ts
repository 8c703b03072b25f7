import * as grpc from "@grpc/grpc-js";
import { type Logger, ShoalError, silentLogger } from "@shoal/base";
import {
  type CallerIdentity,
  type CallerIdentityResult,
  type CallWithAuthContext,
  callerIdentity,
} from "./caller-identity.js";
import { PkiErrorCode } from "./errors.js";
import { accessFor, type RpcAccess, type RpcRoleTable, SHOAL_RPC_ROLES } from "./rpc-roles.js";

export type AuthorizationDecision =
  | { allowed: true; caller: CallerIdentity | undefined }
  | { allowed: false; code: grpc.status; message: string };

/**
 * The decision, pure: a method not in the table is refused (default deny); a certificate of another
 * cluster is refused everywhere; a method open to anyone admits callers without an identity;
 * otherwise the caller needs a verified certificate whose role the method allows.
 */
export function authorize(
  methodPath: string,
  access: RpcAccess | undefined,
  identity: CallerIdentityResult,
): AuthorizationDecision {
  if (access === undefined) {
    return {
      allowed: false,
      code: grpc.status.PERMISSION_DENIED,
      message: `method "${methodPath}" is not in the RPC roles table`,
    };
  }
  if (identity.kind === "foreign") {
    return {
      allowed: false,
      code: grpc.status.UNAUTHENTICATED,
      message: `${methodPath}: ${identity.reason}`,
    };
  }
  if (access === "anyone") {
    return { allowed: true, caller: identity.kind === "verified" ? identity.identity : undefined };
  }
  if (identity.kind === "anonymous") {
    return {
      allowed: false,
      code: grpc.status.UNAUTHENTICATED,
      message: `method "${methodPath}" needs a node certificate: ${identity.reason}`,
    };
  }
  const { nodeId, role } = identity.identity;
  if (!access.includes(role)) {
    return {
      allowed: false,
      code: grpc.status.PERMISSION_DENIED,
      message: `node "${nodeId}" has role "${role}", but method "${methodPath}" is for ${access.map((r) => `"${r}"`).join(" and ")} nodes only`,
    };
  }
  return { allowed: true, caller: identity.identity };
}

export interface AuthorizeServiceOptions {
  /** The cluster whose certificates are accepted; a function when it is only known later. */
  clusterId: string | (() => string);
  table?: RpcRoleTable;
  logger?: Logger;
}

const callers = new WeakMap<object, CallerIdentity>();

/** Inside a handler wrapped by `authorizeService`: the verified caller, or undefined for anonymous ones. */
export function verifiedCaller(call: object): CallerIdentity | undefined {
  return callers.get(call);
}

type AnyHandler = (...args: never[]) => unknown;

/**
 * Wraps a service implementation so that every method checks the caller before its handler runs.
 * Registration fails (PKI_UNLISTED_METHOD) when the table has no entry for one of the service's
 * methods, so a new RPC cannot be added without deciding who may call it.
 */
export function authorizeService(
  definition: grpc.ServiceDefinition,
  implementation: grpc.UntypedServiceImplementation,
  options: AuthorizeServiceOptions,
): grpc.UntypedServiceImplementation {
  const table = options.table ?? SHOAL_RPC_ROLES;
  const logger = options.logger ?? silentLogger();
  const clusterIdOf =
    typeof options.clusterId === "function" ? options.clusterId : () => options.clusterId as string;
  const wrapped: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const access = accessFor(table, method.path);
    if (access === undefined) {
      throw new ShoalError(
        PkiErrorCode.UnlistedMethod,
        `method "${method.path}" has no entry in the RPC roles table`,
        { hint: `add "${method.path}" (or its service's "/*") to the table with the roles that may call it` },
      );
    }
    const handler = implementation[name] as AnyHandler | undefined;
    if (handler === undefined) continue;
    const check = (call: CallWithAuthContext & object): AuthorizationDecision => {
      const decision = authorize(method.path, access, callerIdentity(call, clusterIdOf()));
      if (decision.allowed) {
        if (decision.caller !== undefined) callers.set(call, decision.caller);
      } else {
        logger.info(
          { method: method.path, code: grpc.status[decision.code], reason: decision.message },
          "rpc refused",
        );
      }
      return decision;
    };
    const refusal = (decision: { code: grpc.status; message: string }): Partial<grpc.StatusObject> => ({
      code: decision.code,
      details: decision.message,
    });
    if (!method.requestStream && !method.responseStream) {
      wrapped[name] = ((
        call: grpc.ServerUnaryCall<unknown, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        const decision = check(call);
        if (!decision.allowed) return callback(refusal(decision), null);
        return (handler as grpc.handleUnaryCall<unknown, unknown>)(call, callback);
      }) as grpc.UntypedHandleCall;
    } else if (method.requestStream && !method.responseStream) {
      wrapped[name] = ((
        call: grpc.ServerReadableStream<unknown, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        const decision = check(call);
        if (!decision.allowed) return callback(refusal(decision), null);
        return (handler as grpc.handleClientStreamingCall<unknown, unknown>)(call, callback);
      }) as grpc.UntypedHandleCall;
    } else if (!method.requestStream && method.responseStream) {
      wrapped[name] = ((call: grpc.ServerWritableStream<unknown, unknown>) => {
        const decision = check(call);
        if (!decision.allowed) {
          call.emit("error", refusal(decision));
          return;
        }
        return (handler as grpc.handleServerStreamingCall<unknown, unknown>)(call);
      }) as grpc.UntypedHandleCall;
    } else {
      wrapped[name] = ((call: grpc.ServerDuplexStream<unknown, unknown>) => {
        const decision = check(call);
        if (!decision.allowed) {
          call.emit("error", refusal(decision));
          return;
        }
        return (handler as grpc.handleBidiStreamingCall<unknown, unknown>)(call);
      }) as grpc.UntypedHandleCall;
    }
  }
  return wrapped;
}
