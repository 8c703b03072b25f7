// @shoal/proto: the wire API (generated from proto/shoal/v1 by `npm run proto`) plus the
// hand-written spec defaults and validation. Generated names are exported flat: message types and
// their codecs (`ServiceSpec`, `ServiceSpec.encode`), enums as const objects (`TaskState.RUNNING`)
// with `xxxToJSON`/`xxxFromJSON`, and for each gRPC service `XxxService` (the grpc-js definition),
// `XxxServer` (the handler interface) and `XxxClient` (the client class).
export * from "./gen/shoal/v1/ca.js";
export * from "./gen/shoal/v1/control.js";
export * from "./gen/shoal/v1/dispatcher.js";
export * from "./gen/shoal/v1/logs.js";
export * from "./gen/shoal/v1/objects.js";
export * from "./gen/shoal/v1/raft.js";
export * from "./gen/shoal/v1/specs.js";
export * from "./gen/shoal/v1/types.js";
